// The SQLite backend: one write connection owned by a writer thread that
// commits whatever is queued as one transaction (group commit), and one read
// connection for scans, which WAL lets run while the writer commits.
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"
#include "store/commit_queue.h"
#include "store/key_range.h"
#include "store/sqlite_db.h"
#include "store/sqlite_schema.h"
#include "store/store.h"

namespace berth::store {
namespace {

using sqlite::Db;
using sqlite::Stmt;

// How long a connection waits for a lock held by another process (a second
// berth or the sqlite3 shell) before failing with Unavailable.
constexpr int kBusyTimeoutMillis = 5000;
// Pages cached per connection: 64 MiB (negative: KiB), grown only as used.
constexpr const char* kCacheSizePragma = "PRAGMA cache_size=-65536";

// SQLite makes the database file durable but not its directory entry, so a
// new database could vanish in a power loss after its first acknowledged
// commit. Syncing the directory once at open closes that window.
Status SyncParentDirectory(Env& env, const std::string& path) {
  std::filesystem::path dir = std::filesystem::absolute(path).parent_path();
  Status synced = env.SyncDir(dir.string());
  // Unavailable, like SQLite's own I/O errors: the database's state.
  if (!synced.ok()) return Unavailable(synced.message());
  return Status::Ok();
}

// journal_mode=WAL answers with the mode it got, which is not WAL on file
// systems without shared memory; the concurrency and durability here depend
// on WAL, so anything else is an error rather than a silent downgrade.
Status EnableWal(sqlite3* db) {
  StatusOr<Stmt> stmt = sqlite::Prepare(db, "PRAGMA journal_mode=WAL");
  if (!stmt.ok()) return stmt.status();
  int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW) return sqlite::Error(db, rc, "enable WAL");
  std::string mode(reinterpret_cast<const char*>(sqlite3_column_text(stmt->get(), 0)));
  if (mode != "wal") return FailedPrecondition("enable WAL: journal mode is " + mode);
  return Status::Ok();
}

class SqliteStore final : public Store {
 public:
  static StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                               const SqliteStoreOptions& options) {
    // private constructor: no make_unique
    std::unique_ptr<SqliteStore> store(new SqliteStore(path));
    Status s = store->Init(options);
    if (!s.ok()) return s.WithContext("store " + path);
    store->queue_.Start(
        [raw = store.get()](std::vector<PendingCommit>& group) { raw->CommitGroup(group); });
    return std::unique_ptr<Store>(std::move(store));
  }

  ~SqliteStore() override { Close(); }

  Status Scan(std::string_view prefix,
              const std::function<void(std::string_view, std::string_view)>& fn) override {
    std::lock_guard lock(read_mu_);
    if (!read_db_) return Unavailable("store " + path_ + ": closed");
    std::optional<std::string> end = PrefixEnd(prefix);
    sqlite3_stmt* stmt = end ? scan_range_.get() : scan_from_.get();
    // A statement left unreset keeps its read snapshot open, which stops
    // checkpoints from recycling the WAL; reset on every way out.
    struct Reset {
      sqlite3_stmt* stmt;
      ~Reset() { sqlite3_reset(stmt); }
    } reset{stmt};
    sqlite::BindText(stmt, 1, prefix);
    if (end) sqlite::BindText(stmt, 2, *end);
    // One SELECT is one read transaction: a consistent view without BEGIN.
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return Status::Ok();
      if (rc != SQLITE_ROW) {
        return sqlite::Error(read_db_.get(), rc, "scan " + std::string(prefix))
            .WithContext("store " + path_);
      }
      std::string_view key(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                           sqlite3_column_bytes(stmt, 0));
      // A zero-length blob comes back as a null pointer.
      const void* blob = sqlite3_column_blob(stmt, 1);
      std::string_view value = blob == nullptr ? std::string_view()
                                               : std::string_view(static_cast<const char*>(blob),
                                                                  sqlite3_column_bytes(stmt, 1));
      fn(key, value);
    }
  }

  void Commit(Batch batch, std::function<void(Status)> done) override {
    if (queue_.Push(batch, done)) return;
    if (done) done(Unavailable("store " + path_ + ": closed"));
  }

  void Close() override {
    std::lock_guard close_lock(close_mu_);
    queue_.Stop();
    // Statements before their connections: a connection with live statements
    // is only closed when they are finalized.
    put_.reset();
    delete_.reset();
    write_db_.reset();
    std::lock_guard read_lock(read_mu_);
    scan_range_.reset();
    scan_from_.reset();
    read_db_.reset();
  }

 private:
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}

  Status Init(const SqliteStoreOptions& options) {
    StatusOr<Db> write_db =
        sqlite::Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options.vfs);
    if (!write_db.ok()) return write_db.status();
    write_db_ = std::move(*write_db);
    sqlite3* db = write_db_.get();
    sqlite3_busy_timeout(db, kBusyTimeoutMillis);
    BERTH_RETURN_IF_ERROR(EnableWal(db));
    // FULL: a WAL commit is fsynced before it returns, so done(Ok) means durable.
    BERTH_RETURN_IF_ERROR(sqlite::Exec(db, "PRAGMA synchronous=FULL"));
    // SQLite's default page cache (2 MB) holds a small cluster's records
    // only; past it every commit reads b-tree pages back from the file.
    BERTH_RETURN_IF_ERROR(sqlite::Exec(db, kCacheSizePragma));
    BERTH_RETURN_IF_ERROR(sqlite::Migrate(db));
    // After migrating: the limit covers every row, schema rows included.
    if (options.max_entry_bytes > 0) {
      sqlite3_limit(db, SQLITE_LIMIT_LENGTH, options.max_entry_bytes);
    }
    BERTH_RETURN_IF_ERROR(SyncParentDirectory(*options.env, path_));

    StatusOr<Stmt> put = sqlite::Prepare(db, "INSERT OR REPLACE INTO kv(key, value) VALUES(?, ?)");
    if (!put.ok()) return put.status();
    put_ = std::move(*put);
    StatusOr<Stmt> del = sqlite::Prepare(db, "DELETE FROM kv WHERE key = ?");
    if (!del.ok()) return del.status();
    delete_ = std::move(*del);

    // Opened after the writer has created the file and switched it to WAL.
    StatusOr<Db> read_db = sqlite::Open(path_, SQLITE_OPEN_READONLY, options.vfs);
    if (!read_db.ok()) return read_db.status().WithContext("read connection");
    read_db_ = std::move(*read_db);
    sqlite3_busy_timeout(read_db_.get(), kBusyTimeoutMillis);
    BERTH_RETURN_IF_ERROR(sqlite::Exec(read_db_.get(), kCacheSizePragma));
    StatusOr<Stmt> range = sqlite::Prepare(
        read_db_.get(), "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key");
    if (!range.ok()) return range.status();
    scan_range_ = std::move(*range);
    StatusOr<Stmt> from =
        sqlite::Prepare(read_db_.get(), "SELECT key, value FROM kv WHERE key >= ? ORDER BY key");
    if (!from.ok()) return from.status();
    scan_from_ = std::move(*from);
    return Status::Ok();
  }

  // Commits group in queue order and runs each done with its batch's result.
  void CommitGroup(std::vector<PendingCommit>& group) {
    std::vector<Status> results(group.size());
    std::vector<size_t> valid;
    valid.reserve(group.size());
    for (size_t i = 0; i < group.size(); ++i) {
      results[i] = CheckBatch(group[i].batch);
      if (results[i].ok()) valid.push_back(i);
    }
    if (!valid.empty()) {
      Status s = InTransaction([&] {
        for (size_t i : valid) BERTH_RETURN_IF_ERROR(Apply(group[i].batch));
        return Status::Ok();
      });
      // Unavailable (busy, locked, I/O error) is the database's state, not a
      // batch's fault: retrying batch by batch would only wait for the busy
      // timeout once per batch.
      if (!s.ok() && valid.size() > 1 && s.code() != StatusCode::kUnavailable) {
        // Something in the group failed and it was rolled back; commit each
        // batch alone so that one bad batch fails only itself. Slower, but
        // only after a failure.
        LogWarn(
            "store group commit failed, retrying batches one by one",
            {{"path", path_}, {"batches", std::to_string(valid.size())}, {"error", s.message()}});
        for (size_t i : valid) {
          results[i] = InTransaction([&] { return Apply(group[i].batch); });
        }
      } else {
        for (size_t i : valid) results[i] = s;
      }
    }
    CommitQueue::Finish(group, results, "store " + path_ + ": commit");
  }

  template <typename Fn>
  Status InTransaction(const Fn& fn) {
    sqlite3* db = write_db_.get();
    // IMMEDIATE takes the write lock up front (waiting up to the busy
    // timeout) instead of failing at the first write if another process
    // holds it.
    Status s = sqlite::Exec(db, "BEGIN IMMEDIATE");
    if (s.ok()) s = fn();
    if (s.ok()) s = sqlite::Exec(db, "COMMIT");
    // Some errors roll back by themselves; ROLLBACK outside a transaction
    // would be an error of its own.
    if (!s.ok() && !sqlite3_get_autocommit(db)) (void)sqlite::Exec(db, "ROLLBACK");
    return s;
  }

  Status Apply(const Batch& batch) {
    sqlite3* db = write_db_.get();
    for (const Mutation& m : batch) {
      const bool put = m.kind == Mutation::Kind::kPut;
      sqlite3_stmt* stmt = put ? put_.get() : delete_.get();
      int rc = sqlite::BindText(stmt, 1, m.key);
      if (rc == SQLITE_OK && put) rc = sqlite::BindBlob(stmt, 2, m.value);
      if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
      sqlite3_reset(stmt);
      if (rc != SQLITE_DONE) {
        return sqlite::Error(db, rc, (put ? "put " : "delete ") + m.key);
      }
    }
    return Status::Ok();
  }

  const std::string path_;

  // Used only by the writer thread once it runs (and by Init and Close when
  // it does not).
  Db write_db_;
  Stmt put_;
  Stmt delete_;

  std::mutex read_mu_;
  Db read_db_;       // guarded by read_mu_
  Stmt scan_range_;  // guarded by read_mu_
  Stmt scan_from_;   // guarded by read_mu_; for prefixes without an end

  std::mutex close_mu_;  // serializes Close
  CommitQueue queue_;    // last: its writer thread uses the members above
};

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                 const SqliteStoreOptions& options) {
  return SqliteStore::Open(path, options);
}

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  return OpenSqliteStore(path, SqliteStoreOptions());
}

}  // namespace berth::store
