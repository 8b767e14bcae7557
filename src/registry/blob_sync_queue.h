// Group commit for the blob store: the fsyncs, renames and directory syncs
// that make uploads durable, done on one thread of their own for every
// change queued at the same time, so that neither an HTTP I/O thread waits
// for the disk nor does each upload pay for its own directory syncs.
//
// A group runs every queued change's apply step (its file's fsync and its
// rename) at once, each on a thread of its own, then fsyncs each directory
// that any of them listed once (those at once too), then calls every
// change's done, in queue order, with its outcome: the apply's error, else
// the error of a directory sync it listed, else Ok. Concurrent fsyncs let
// the disk (and a journalling file system's commit) serve them together,
// and a directory that sixteen uploads share is synced once.
//
// Thread-safe. done runs on the queue's thread; it must not wait for
// another change of the same queue. Destruction finishes what is queued.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace berth::registry {

struct DurableChange {
  // What must reach the disk before the directories are synced (an fsync,
  // a rename); Ok when there is nothing. Its error fails the change alone.
  std::function<Status()> apply;
  // Directories whose entries the change created, removed or renamed.
  std::vector<std::string> dirs;
  // The outcome, once the change is durable or has failed.
  std::function<void(Status)> done;
};

class BlobSyncQueue {
 public:
  explicit BlobSyncQueue(Env* env);  // env not owned
  ~BlobSyncQueue();
  BlobSyncQueue(const BlobSyncQueue&) = delete;
  BlobSyncQueue& operator=(const BlobSyncQueue&) = delete;

  // Queues change for the next group.
  void Push(DurableChange change);

  // Makes one group of changes durable on the calling thread: what the
  // queue's thread does with what it took (synchronous callers use it with
  // a group of one).
  static void CommitGroup(Env& env, std::vector<DurableChange>& group);

 private:
  void Run();

  Env* const env_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<DurableChange> queue_;  // guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  std::thread thread_;
};

}  // namespace berth::registry
