#include "awsjson/commit_tracker.h"

#include <cstdlib>
#include <string>

#include "common/log.h"

namespace berth::awsjson {

void CommitTracker::MarkDurable(uint64_t seq) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    if (abandoned_) return;
    if (seq > durable_.load()) durable_ = seq;
    auto end = waiting_.upper_bound(seq);
    for (auto it = waiting_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
    waiting_.erase(waiting_.begin(), end);
  }
  for (auto& fn : ready) fn();
}

void CommitTracker::WhenDurable(uint64_t seq, std::function<void()> fn) {
  if (seq <= durable_.load()) return fn();
  {
    std::lock_guard lock(mu_);
    // Checked again under the lock: MarkDurable may have run in between.
    if (abandoned_) return;  // fn is destroyed unrun
    if (seq > durable_.load()) {
      waiting_.emplace(seq, std::move(fn));
      return;
    }
  }
  fn();
}

void CommitTracker::Abandon() {
  std::multimap<uint64_t, std::function<void()>> dropped;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  abandoned_ = true;
  dropped.swap(waiting_);
}

void CommitTracker::CommitFailed(std::string_view what, const Status& status) {
  std::function<void(const Status&)> handler;
  {
    std::lock_guard lock(mu_);
    if (abandoned_) return;  // told once already
    handler = on_failure_;
  }
  if (!handler) {
    // Memory already holds this change; carrying on would serve state that
    // the disk does not have. Stop, and let the restart reload the truth.
    LogError("durable commit failed; stopping",
             {{"of", std::string(what)}, {"error", status.ToString()}});
    std::abort();
  }
  Abandon();
  handler(status);
}

}  // namespace berth::awsjson
