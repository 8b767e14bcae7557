// The queue in front of a durable backend's writer thread, shared by the
// SQLite and etcd stores: Commit only queues; one thread takes everything
// queued and commits it as a group (group commit), in queue order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace berth::store {

struct PendingCommit {
  Batch batch;
  std::function<void(Status)> done;
  std::chrono::steady_clock::time_point queued;  // for the commit latency
};

// Thread-safe.
class CommitQueue {
 public:
  // Commits group (in order) and calls every done; runs on the writer thread.
  using CommitGroup = std::function<void(std::vector<PendingCommit>& group)>;

  CommitQueue() = default;
  ~CommitQueue() { Stop(); }
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Starts the writer thread.
  void Start(CommitGroup commit_group);

  // Queues batch; false once Stop was called (done is then left to the
  // caller, not moved from).
  bool Push(Batch& batch, std::function<void(Status)>& done);

  // Lets the writer commit what is queued, then ends it. Idempotent; must not
  // be called from the writer thread.
  void Stop();

  // Runs each done with its result plus context, in order, and records the
  // commit latency. For CommitGroup implementations.
  static void Finish(std::vector<PendingCommit>& group, const std::vector<Status>& results,
                     std::string_view context);

 private:
  void WriterLoop(const CommitGroup& commit_group);

  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<PendingCommit> queue_;  // guarded by mu_
  bool stopping_ = false;             // guarded by mu_

  std::mutex stop_mu_;  // serializes Stop
  std::thread writer_;
};

}  // namespace berth::store
