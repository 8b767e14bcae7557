// The shared Store suite (store_conformance_testing.h) over the memory and
// SQLite backends.
#include "store/store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "store/store_conformance_testing.h"
#include "store/store_test_util.h"

namespace berth::store {
namespace {

using testing::TempDir;

struct MemoryBackend {
  static std::unique_ptr<Store> Open(const TempDir&) { return NewMemoryStore(); }
};

struct SqliteBackend {
  static std::unique_ptr<Store> Open(const TempDir& dir) {
    StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(dir.path() + "/store.db");
    if (!store.ok()) {
      ADD_FAILURE() << store.status().ToString();
      return nullptr;
    }
    return std::move(*store);
  }
};

class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemoryBackend> ? "Memory" : "Sqlite";
  }
};
using Backends = ::testing::Types<MemoryBackend, SqliteBackend>;
INSTANTIATE_TYPED_TEST_SUITE_P(Store, StoreTest, Backends, BackendNames);

}  // namespace
}  // namespace berth::store
