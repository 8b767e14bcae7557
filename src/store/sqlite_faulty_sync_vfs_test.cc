// The fault-injecting VFS: a failed fsync fails the commit that needed it
// (never acknowledged), and what was acknowledged before is there after a
// restart.
#include "store/sqlite_faulty_sync_vfs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "store/store.h"
#include "store/store_test_util.h"

namespace berth::store {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using testing::ScanAll;
using testing::TempDir;
using ::testing::UnorderedElementsAre;

std::unique_ptr<Store> OpenThroughTheVfs(const std::string& path) {
  SqliteStoreOptions options;
  options.vfs = kFaultySyncVfs;
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

TEST(SqliteFaultySyncVfsTest, AFailedFsyncFailsTheCommitAndKeepsWhatWasAcknowledged) {
  std::atomic<bool> fail{false};
  ASSERT_TRUE(RegisterFaultySyncVfs([&fail] { return fail.load(); }).ok());
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  {
    std::unique_ptr<Store> store = OpenThroughTheVfs(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CommitAndWait({Mutation::Put("a/1", "one")}).ok());

    fail = true;
    Status failed = store->CommitAndWait({Mutation::Put("a/2", "two")});
    EXPECT_FALSE(failed.ok());
    EXPECT_THAT(failed.ToString(), HasSubstr("I/O error"));
  }
  ASSERT_TRUE(RegisterFaultySyncVfs(nullptr).ok());
  // A restart on the default VFS: the acknowledged write is there. The one
  // whose fsync failed may be too (its bytes may have reached the disk, as
  // after a real failed fsync); it was never acknowledged.
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::map<std::string, std::string> rows;
  ASSERT_TRUE(ScanAll(**store, "", &rows).ok());
  EXPECT_EQ(rows.at("a/1"), "one");
}

TEST(SqliteFaultySyncVfsTest, WithoutFaultsItIsTheDefaultFileSystem) {
  ASSERT_TRUE(RegisterFaultySyncVfs([] { return false; }).ok());
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  {
    std::unique_ptr<Store> store = OpenThroughTheVfs(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CommitAndWait({Mutation::Put("a/1", "one")}).ok());
    ASSERT_TRUE(store->CommitAndWait({Mutation::Put("a/2", "two")}).ok());
  }
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::map<std::string, std::string> rows;
  ASSERT_TRUE(ScanAll(**store, "", &rows).ok());
  EXPECT_THAT(rows, UnorderedElementsAre(Pair("a/1", "one"), Pair("a/2", "two")));
}

}  // namespace
}  // namespace berth::store
