#include "awsjson/commit_tracker.h"

namespace berth::awsjson {

void CommitTracker::MarkDurable(uint64_t seq) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
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
    if (seq > durable_.load()) {
      waiting_.emplace(seq, std::move(fn));
      return;
    }
  }
  fn();
}

}  // namespace berth::awsjson
