#include "store/sqlite_schema.h"

#include "store/sqlite_db.h"

namespace berth::store::sqlite {
namespace {

// Created outside the migration list because it says which migrations ran.
constexpr char kCreateMeta[] =
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID";

StatusOr<int> ReadVersion(sqlite3* db) {
  StatusOr<Stmt> stmt = Prepare(db, "SELECT value FROM meta WHERE name = 'schema_version'");
  if (!stmt.ok()) return stmt.status();
  int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_DONE) return 0;  // a new, empty database
  if (rc != SQLITE_ROW) return Error(db, rc, "read schema version");
  if (sqlite3_column_type(stmt->get(), 0) != SQLITE_INTEGER) {
    return FailedPrecondition("schema version is not an integer");
  }
  return static_cast<int>(sqlite3_column_int64(stmt->get(), 0));
}

Status WriteVersion(sqlite3* db, int version) {
  StatusOr<Stmt> stmt =
      Prepare(db, "INSERT OR REPLACE INTO meta(name, value) VALUES('schema_version', ?)");
  if (!stmt.ok()) return stmt.status();
  sqlite3_bind_int(stmt->get(), 1, version);
  int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_DONE) return Error(db, rc, "write schema version");
  return Status::Ok();
}

Status MigrateInTransaction(sqlite3* db) {
  BERTH_RETURN_IF_ERROR(Exec(db, kCreateMeta));
  StatusOr<int> version = ReadVersion(db);
  if (!version.ok()) return version.status();
  const int current = CurrentSchemaVersion();
  if (*version > current) {
    return FailedPrecondition("schema version " + std::to_string(*version) +
                              " is newer than this berth (" + std::to_string(current) + ")");
  }
  if (*version < 0) return FailedPrecondition("bad schema version " + std::to_string(*version));
  for (int v = *version; v < current; ++v) {
    for (const std::string& step : Migrations()[v]) {
      Status s = Exec(db, step.c_str());
      if (!s.ok()) return s.WithContext("migrate to schema version " + std::to_string(v + 1));
    }
  }
  if (*version != current) return WriteVersion(db, current);
  return Status::Ok();
}

}  // namespace

const std::vector<std::vector<std::string>>& Migrations() {
  static const auto* migrations = new std::vector<std::vector<std::string>>{
      // 1: the key space. WITHOUT ROWID keeps rows in key order in the primary
      // key's b-tree, so a prefix scan is one range read.
      {"CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"},
      // 2: a rowid table with an index on key. In a WITHOUT ROWID table a row
      // over ~1 KB spills into overflow pages (an index b-tree keeps little of
      // a row in its page), and records (tasks, instances) are 1-4 KB: each
      // put wrote two or three pages. Here the value lives in the table's
      // leaf (up to ~4 KB in the page) and the index holds only keys.
      {"CREATE TABLE kv2(key TEXT NOT NULL UNIQUE, value BLOB NOT NULL)",
       "INSERT INTO kv2(key, value) SELECT key, value FROM kv ORDER BY key", "DROP TABLE kv",
       "ALTER TABLE kv2 RENAME TO kv"},
  };
  return *migrations;
}

int CurrentSchemaVersion() { return static_cast<int>(Migrations().size()); }

Status Migrate(sqlite3* db) {
  // IMMEDIATE takes the write lock before reading the version, so two
  // processes opening a new database cannot both run the same migration.
  BERTH_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
  Status s = MigrateInTransaction(db);
  if (s.ok()) s = Exec(db, "COMMIT");
  if (!s.ok() && !sqlite3_get_autocommit(db)) (void)Exec(db, "ROLLBACK");
  return s;
}

}  // namespace berth::store::sqlite
