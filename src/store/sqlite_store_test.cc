// What only the SQLite backend has: a file that outlives the process, a
// schema version, group commit and its throughput.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_schema.h"
#include "store/store.h"
#include "store/store_test_util.h"

namespace berth::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using testing::ScanAll;
using testing::TempDir;

std::unique_ptr<Store> MustOpen(const std::string& path, const SqliteStoreOptions& options = {}) {
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

// Runs sql on path with the sqlite3 library directly, as an operator or an
// older/newer berth would, and returns the first column of the first row.
std::string Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string result;
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  int rc = sqlite3_step(stmt);
  EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sqlite3_errmsg(db);
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

TEST(SqliteStoreTest, ReopenKeepsData) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  {
    std::unique_ptr<Store> store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(
        store->CommitAndWait({Mutation::Put("a/1", "one"), Mutation::Put("a/2", "two")}).ok());
    ASSERT_TRUE(store->CommitAndWait({Mutation::Delete("a/1")}).ok());
  }  // the destructor closes
  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  std::map<std::string, std::string> rows;
  ASSERT_TRUE(ScanAll(*store, "", &rows).ok());
  EXPECT_THAT(rows, ElementsAre(Pair("a/2", "two")));
}

TEST(SqliteStoreTest, NewDatabaseIsWalAtCurrentSchemaVersion) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  MustOpen(path).reset();
  EXPECT_EQ(Sql(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(Sql(path, "SELECT value FROM meta WHERE name = 'schema_version'"),
            std::to_string(sqlite::CurrentSchemaVersion()));
  EXPECT_EQ(sqlite::CurrentSchemaVersion(), 2);
}

TEST(SqliteStoreTest, MigratesVersionOneDatabaseKeepingEveryRecord) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  // A database as berth with schema version 1 left it.
  Sql(path, "PRAGMA journal_mode=WAL");
  Sql(path, "CREATE TABLE meta(name TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID");
  Sql(path, "INSERT INTO meta VALUES('schema_version', 1)");
  Sql(path, "CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID");
  Sql(path, "INSERT INTO kv VALUES('tasks/c/2', 'two'), ('tasks/c/1', 'one'), ('clusters/c', 'c')");

  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  std::map<std::string, std::string> rows;
  ASSERT_TRUE(ScanAll(*store, "tasks/", &rows).ok());
  EXPECT_THAT(rows, ElementsAre(Pair("tasks/c/1", "one"), Pair("tasks/c/2", "two")));
  ASSERT_TRUE(store->CommitAndWait({Mutation::Put("tasks/c/1", "uno")}).ok());  // replaces
  rows.clear();
  ASSERT_TRUE(ScanAll(*store, "", &rows).ok());
  EXPECT_THAT(rows, ElementsAre(Pair("clusters/c", "c"), Pair("tasks/c/1", "uno"),
                                Pair("tasks/c/2", "two")));
  store.reset();
  EXPECT_EQ(Sql(path, "SELECT value FROM meta WHERE name = 'schema_version'"), "2");
  EXPECT_EQ(Sql(path, "SELECT instr(sql, 'WITHOUT ROWID') FROM sqlite_master WHERE name = 'kv'"),
            "0");
}

TEST(SqliteStoreTest, RefusesSchemaFromNewerBerth) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  MustOpen(path).reset();
  Sql(path, "UPDATE meta SET value = 7 WHERE name = 'schema_version'");

  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            "store " + path + ": schema version 7 is newer than this berth (2)");
  EXPECT_EQ(Sql(path, "SELECT value FROM meta WHERE name = 'schema_version'"), "7");
}

TEST(SqliteStoreTest, RefusesFileThatIsNotADatabase) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  std::ofstream(path) << "this is not an SQLite database, it is a long enough text file";
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("store " + path + ": "));
  EXPECT_THAT(store.status().message(), HasSubstr("not a database"));
}

TEST(SqliteStoreTest, ReportsUnopenablePath) {
  TempDir dir;
  const std::string path = dir.path() + "/missing/dir/store.db";
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("store " + path + ": open: "));
}

TEST(SqliteStoreTest, FailingBatchFailsAloneInItsGroup) {
  TempDir dir;
  std::unique_ptr<Store> store = MustOpen(dir.path() + "/store.db", {.max_entry_bytes = 100});
  ASSERT_NE(store, nullptr);

  // Hold the writer inside the first batch's callback, so that everything
  // queued meanwhile is committed as one group.
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  store->Commit({Mutation::Put("first", "v")}, [&entered, released](Status) {
    entered.set_value();
    released.wait();
  });
  entered.get_future().wait();

  std::vector<std::future<Status>> results;
  auto commit = [&](Batch batch) {
    auto promise = std::make_shared<std::promise<Status>>();
    results.push_back(promise->get_future());
    store->Commit(std::move(batch), [promise](Status s) { promise->set_value(s); });
  };
  commit({Mutation::Put("good/1", "v")});
  // Its second put is too big, so its first must not be applied either.
  commit({Mutation::Put("bad/a", "small"), Mutation::Put("bad/b", std::string(200, 'x'))});
  commit({Mutation::Put("good/2", "v"), Mutation::Delete("first")});
  release.set_value();

  Status good1 = results[0].get();
  Status bad = results[1].get();
  Status good2 = results[2].get();
  EXPECT_TRUE(good1.ok()) << good1.ToString();
  EXPECT_TRUE(good2.ok()) << good2.ToString();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument) << bad.ToString();
  EXPECT_THAT(bad.message(), HasSubstr("put bad/b"));

  std::map<std::string, std::string> rows;
  ASSERT_TRUE(ScanAll(*store, "", &rows).ok());
  EXPECT_THAT(rows, ElementsAre(Pair("good/1", "v"), Pair("good/2", "v")));
}

}  // namespace
}  // namespace berth::store
