#include "store/sqlite_db.h"

#include <string>

namespace berth::store::sqlite {

Status Error(sqlite3* db, int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  // sqlite3_errmsg describes the latest failure on db, which is rc's when the
  // caller asks right away; sqlite3_errstr is the generic text for rc.
  const char* detail =
      db != nullptr && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += detail;
  switch (rc & 0xff) {  // the primary code, without the extended bits
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PROTOCOL:
      return Unavailable(std::move(message));
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return {StatusCode::kResourceExhausted, std::move(message)};
    case SQLITE_TOOBIG:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return InvalidArgument(std::move(message));
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY:
      return {StatusCode::kPermissionDenied, std::move(message)};
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return FailedPrecondition(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

StatusOr<Db> Open(const std::string& path, int flags, const std::string& vfs) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX,
                           vfs.empty() ? nullptr : vfs.c_str());
  Db db(raw);  // sqlite3_open_v2 may return a handle even when it fails
  if (rc != SQLITE_OK) return Error(db.get(), rc, "open");
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

Status Exec(sqlite3* db, const char* sql) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(db, rc, sql);
  return Status::Ok();
}

StatusOr<Stmt> Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return Error(db, rc, "prepare " + std::string(sql));
  return stmt;
}

int BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  // A default string_view has a null data pointer, which would bind NULL.
  if (text.empty()) text = "";
  return sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

int BindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  if (bytes.empty()) return sqlite3_bind_zeroblob(stmt, index, 0);
  return sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(), SQLITE_STATIC);
}

}  // namespace berth::store::sqlite
