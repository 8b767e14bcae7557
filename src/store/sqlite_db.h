// Thin RAII and error helpers over the SQLite C API, for the SQLite backend.
// Not thread-safe: a connection (and its statements) is used by one thread at
// a time, which the caller ensures (connections are opened without SQLite's
// own mutex).
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::store::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// A Status for SQLite result code rc, with db's message when it has one:
// "<what>: <message>". The code says whether retrying can help (busy, disk
// full) or not (too big, corrupt).
Status Error(sqlite3* db, int rc, std::string_view what);

// Opens path with flags (SQLITE_OPEN_NOMUTEX is added), through the VFS
// named vfs (empty: the default).
StatusOr<Db> Open(const std::string& path, int flags, const std::string& vfs = "");

// Runs sql (one or more statements without parameters), discarding rows.
Status Exec(sqlite3* db, const char* sql);

StatusOr<Stmt> Prepare(sqlite3* db, std::string_view sql);

// Binds text without copying: the bytes must outlive the statement's next
// sqlite3_reset. Text (not blob) because the key column has TEXT affinity and
// SQLite orders every TEXT before every BLOB, so a blob-bound key would miss.
int BindText(sqlite3_stmt* stmt, int index, std::string_view text);

// Binds a blob without copying. An empty value is bound as a zero-length blob,
// not NULL (which sqlite3_bind_blob would make of a null pointer).
int BindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes);

}  // namespace berth::store::sqlite
