#include "server/held_requests.h"

#include <algorithm>

namespace berth::server {

HeldRequests::HeldRequests() : thread_([this] { Run(); }) {}

HeldRequests::~HeldRequests() { Stop(); }

void HeldRequests::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void HeldRequests::Hold(std::string key, std::chrono::steady_clock::duration wait,
                        TryAnswer try_answer) {
  if (try_answer(wait <= std::chrono::steady_clock::duration::zero())) return;
  {
    std::lock_guard lock(mu_);
    if (!stop_) {
      ++waiting_[key];
      // A wake between the try above and now would be missed: look again.
      woken_.insert(key);
      const uint64_t id = next_id_++;
      auto deadline = std::chrono::steady_clock::now() + wait;
      auto in_deadlines = deadlines_.emplace(deadline, id);
      by_key_.emplace(key, id);
      held_.emplace(id, Held{std::move(key), deadline, std::move(try_answer), in_deadlines});
      cv_.notify_one();
      return;
    }
  }
  try_answer(true);  // stopping: answer now
}

void HeldRequests::Wake(const std::string& key) {
  {
    std::lock_guard lock(mu_);
    if (!waiting_.contains(key)) return;
    woken_.insert(key);
  }
  cv_.notify_one();
}

int64_t HeldRequests::Open() {
  std::lock_guard lock(mu_);
  int64_t open = 0;
  for (const auto& [key, n] : waiting_) open += n;
  return open;
}

HeldRequests::Held HeldRequests::Take(uint64_t id) {
  auto it = held_.find(id);
  Held held = std::move(it->second);
  held_.erase(it);
  deadlines_.erase(held.in_deadlines);
  auto [first, last] = by_key_.equal_range(held.key);
  for (auto k = first; k != last; ++k) {
    if (k->second == id) {
      by_key_.erase(k);
      break;
    }
  }
  return held;
}

void HeldRequests::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    auto ready = [&] { return stop_ || !woken_.empty(); };
    if (deadlines_.empty()) {
      cv_.wait(lock, ready);
    } else {
      cv_.wait_until(lock, deadlines_.begin()->first, ready);
    }
    const bool stopping = stop_;
    const auto now = std::chrono::steady_clock::now();
    // The requests to try: those under a woken key, those whose time is up
    // (all of them when stopping).
    std::vector<uint64_t> due;
    for (const std::string& key : woken_) {
      auto [first, last] = by_key_.equal_range(key);
      for (auto k = first; k != last; ++k) due.push_back(k->second);
    }
    woken_.clear();
    for (auto d = deadlines_.begin(); d != deadlines_.end() && (stopping || d->first <= now); ++d) {
      due.push_back(d->second);
    }
    std::sort(due.begin(), due.end());
    due.erase(std::unique(due.begin(), due.end()), due.end());
    std::vector<Held> look;
    look.reserve(due.size());
    for (uint64_t id : due) look.push_back(Take(id));
    // Answering reads state whose writers call Wake under their own locks:
    // never under mu_.
    lock.unlock();
    std::vector<Held> still;
    std::vector<std::string> answered;
    for (Held& held : look) {
      if (held.try_answer(stopping || held.deadline <= now)) {
        answered.push_back(std::move(held.key));
      } else {
        still.push_back(std::move(held));
      }
    }
    lock.lock();
    for (Held& held : still) {
      const uint64_t id = next_id_++;
      held.in_deadlines = deadlines_.emplace(held.deadline, id);
      by_key_.emplace(held.key, id);
      held_.emplace(id, std::move(held));
    }
    for (const std::string& key : answered) {
      if (auto it = waiting_.find(key); it != waiting_.end() && --it->second == 0) {
        waiting_.erase(it);
      }
    }
    if (stopping && held_.empty()) return;
  }
}

}  // namespace berth::server
