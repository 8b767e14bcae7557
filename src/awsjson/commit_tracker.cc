#include "awsjson/commit_tracker.h"

#include <cstdlib>
#include <string>

#include "common/log.h"

namespace berth::awsjson {

void CommitTracker::MarkDurable(uint64_t seq) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    if (!abandoned_.ok()) return;
    if (seq > durable_.load()) durable_ = seq;
    auto end = waiting_.upper_bound(seq);
    for (auto it = waiting_.begin(); it != end; ++it)
      ready.push_back(std::move(it->second.durable));
    waiting_.erase(waiting_.begin(), end);
  }
  for (auto& fn : ready) fn();
}

void CommitTracker::WhenDurable(uint64_t seq, std::function<void()> fn,
                                std::function<void(const Status&)> failed) {
  if (seq <= durable_.load()) return fn();
  Status why;
  {
    std::lock_guard lock(mu_);
    // Checked again under the lock: MarkDurable may have run in between.
    why = abandoned_;
    if (why.ok() && seq > durable_.load()) {
      waiting_.emplace(seq, Waiting{std::move(fn), std::move(failed)});
      return;
    }
  }
  if (why.ok()) return fn();
  if (failed) failed(why);  // else fn is destroyed unrun
}

void CommitTracker::Abandon(const Status& why) {
  std::multimap<uint64_t, Waiting> dropped;
  const Status reason = why.ok() ? Internal("abandoned") : why;
  {
    std::lock_guard lock(mu_);
    if (!abandoned_.ok()) return;
    abandoned_ = reason;
    dropped.swap(waiting_);
  }
  for (auto& [seq, waiting] : dropped) {
    if (waiting.failed) waiting.failed(reason);
  }
}

void CommitTracker::CommitFailed(std::string_view what, const Status& status) {
  std::function<void(const Status&)> handler;
  {
    std::lock_guard lock(mu_);
    if (!abandoned_.ok()) return;  // told once already
    handler = on_failure_;
  }
  if (!handler) {
    // Memory already holds this change; carrying on would serve state that
    // the disk does not have. Stop, and let the restart reload the truth.
    LogError("durable commit failed; stopping",
             {{"of", std::string(what)}, {"error", status.ToString()}});
    std::abort();
  }
  Abandon(status.WithContext("commit of the " + std::string(what)));
  handler(status);
}

}  // namespace berth::awsjson
