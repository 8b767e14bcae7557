// Helpers shared by the store tests.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <system_error>

#include "store/store.h"

namespace berth::store::testing {

// A fresh directory, removed with everything in it when the test ends, also
// when it fails.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base ? base : "/tmp") + "/berth-store-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Everything under prefix, as a map; a failed scan fails the test through
// the returned status.
inline Status ScanAll(Store& store, std::string_view prefix,
                      std::map<std::string, std::string>* out) {
  out->clear();
  return store.Scan(
      prefix, [out](std::string_view key, std::string_view value) { out->emplace(key, value); });
}

}  // namespace berth::store::testing
