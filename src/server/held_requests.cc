#include "server/held_requests.h"

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
      held_.push_back(
          {std::move(key), std::chrono::steady_clock::now() + wait, std::move(try_answer)});
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

void HeldRequests::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    auto next = std::chrono::steady_clock::time_point::max();
    for (const Held& held : held_) next = std::min(next, held.deadline);
    auto ready = [&] { return stop_ || !woken_.empty(); };
    if (next == std::chrono::steady_clock::time_point::max()) {
      cv_.wait(lock, ready);
    } else {
      cv_.wait_until(lock, next, ready);
    }
    const bool stopping = stop_;
    const auto now = std::chrono::steady_clock::now();
    std::vector<Held> look, keep;
    for (Held& held : held_) {
      bool due = stopping || held.deadline <= now || woken_.contains(held.key);
      (due ? look : keep).push_back(std::move(held));
    }
    held_ = std::move(keep);
    woken_.clear();
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
    for (Held& held : still) held_.push_back(std::move(held));
    for (const std::string& key : answered) {
      if (auto it = waiting_.find(key); it != waiting_.end() && --it->second == 0) {
        waiting_.erase(it);
      }
    }
    if (stopping && held_.empty()) return;
  }
}

}  // namespace berth::server
