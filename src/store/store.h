// The durable store: an ordered key-value map with atomic, durable batches.
//
// It is shaped like etcd's key space (keys are paths such as
// "clusters/trn1"), so that a distributed backend can stand behind the same
// interface. The server keeps its working state in memory and uses the store
// only to make each change durable and to rebuild that state on start.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace berth::store {

struct Mutation {
  enum class Kind { kPut, kDelete };
  Kind kind;
  std::string key;
  std::string value;  // empty for kDelete

  static Mutation Put(std::string key, std::string value) {
    return {Kind::kPut, std::move(key), std::move(value)};
  }
  static Mutation Delete(std::string key) { return {Kind::kDelete, std::move(key), {}}; }
};

// Applied all or nothing.
using Batch = std::vector<Mutation>;

// InvalidArgument when batch cannot be applied by any backend (an empty key);
// such a batch fails as a whole and changes nothing. Backends call it; callers
// may call it to fail early.
Status CheckBatch(const Batch& batch);

// Thread-safe.
class Store {
 public:
  virtual ~Store() = default;

  // Calls fn for every key starting with prefix, in key order, over a
  // consistent view. Used on start-up; not a hot path. Keys compare as
  // unsigned bytes. fn may Commit but must not Scan the same store (a backend
  // may hold its read lock while calling fn).
  virtual Status Scan(
      std::string_view prefix,
      const std::function<void(std::string_view key, std::string_view value)>& fn) = 0;

  // Queues batch and returns at once. Batches are applied in the order they
  // were queued. done runs on a store thread once the batch is durable
  // (fsynced) or has failed; it must not block. Concurrent batches are
  // committed together in one transaction and one fsync (group commit).
  virtual void Commit(Batch batch, std::function<void(Status)> done) = 0;

  // Commit and wait.
  Status CommitAndWait(Batch batch);

  // Commits what is queued, then closes. Later calls fail: Scan returns
  // Unavailable and Commit calls done with Unavailable on the calling thread.
  // Idempotent; must not be called from a done callback (it waits for the
  // thread that runs them).
  virtual void Close() = 0;
};

// SQLite in WAL mode with synchronous=FULL at path (created if absent, schema
// migrated to the current version).
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

struct SqliteStoreOptions {
  // The largest key plus value one Put may store, in bytes; a batch with a
  // larger one fails with InvalidArgument and changes nothing, without
  // failing the batches committed together with it. 0 keeps SQLite's own
  // limit (about 1 GB).
  int max_entry_bytes = 0;
  // Not owned. SQLite does its own file I/O; the directory sync that makes
  // a new database file durable goes through env.
  Env* env = Env::Default();
  // The SQLite VFS the database is opened through; empty: SQLite's default.
  // kFaultySyncVfs (sqlite_faulty_sync_vfs.h) fails fsyncs on demand.
  std::string vfs = {};
};
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                 const SqliteStoreOptions& options);

// In memory, for unit tests; Commit calls done before returning.
std::unique_ptr<Store> NewMemoryStore();

}  // namespace berth::store
