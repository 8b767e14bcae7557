// Orders replies after durability.
//
// Every change to the in-memory state gets a sequence number when it is
// queued to the store; the store reports durability in the same order. A
// reply, for a write or for a read that observed writes, is sent only once
// everything it depends on is durable: no client ever sees state that a crash
// could take back.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::awsjson {

// Thread-safe.
class CommitTracker {
 public:
  // Assigns the next sequence number. Call it under the lock that orders
  // changes, in the same order as the store commits are queued.
  uint64_t Next() { return ++assigned_; }

  // The newest sequence number assigned: what a reader has observed.
  uint64_t LastAssigned() const { return assigned_.load(); }

  // Everything up to seq is durable. Runs the callbacks waiting for it.
  void MarkDurable(uint64_t seq);

  // Runs fn now if seq is durable, else on the thread that marks it durable.
  // If the tracker is abandoned first, runs failed(why) instead where given
  // (else drops fn unrun: a Responder destroyed unanswered replies 500).
  void WhenDurable(uint64_t seq, std::function<void()> fn,
                   std::function<void(const Status&)> failed = nullptr);

  // A commit failed and the state in memory is no longer the store's (a
  // leader whose fenced write was refused): nothing waiting is released any
  // more, and MarkDurable does nothing from now on. The waiting, and later
  // WhenDurable calls, are told why.
  void Abandon(const Status& why);

  // A commit of the state this tracker orders failed (`what` names whose).
  // Without a failure handler the process stops: memory holds a change the
  // store does not, and a restart reloads the truth. With one (a leader on
  // etcd), the tracker is abandoned and the handler told, once; it must not
  // block (it runs on the store's writer thread).
  void CommitFailed(std::string_view what, const Status& status);
  void SetFailureHandler(std::function<void(const Status&)> handler) {
    std::lock_guard lock(mu_);
    on_failure_ = std::move(handler);
  }

 private:
  std::atomic<uint64_t> assigned_{0};
  std::atomic<uint64_t> durable_{0};
  std::mutex mu_;
  struct Waiting {
    std::function<void()> durable;
    std::function<void(const Status&)> failed;
  };
  Status abandoned_;                               // guarded by mu_; not ok once abandoned
  std::function<void(const Status&)> on_failure_;  // guarded by mu_
  std::multimap<uint64_t, Waiting> waiting_;       // guarded by mu_
};

}  // namespace berth::awsjson
