#include "common/clock.h"

#include <chrono>
#include <climits>
#include <cstdio>
#include <ctime>

namespace berth {

std::string FormatRfc3339(int64_t millis) {
  int64_t seconds = millis / 1000, fraction = millis % 1000;
  if (fraction < 0) {
    fraction += 1000;
    --seconds;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[40];
  size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(text, n);
  if (fraction != 0) {
    char digits[8];
    std::snprintf(digits, sizeof digits, ".%03d", static_cast<int>(fraction));
    std::string f = digits;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

bool Clock::WaitUntil(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                      int64_t deadline_millis, const std::function<bool()>& wake) const {
  int64_t remaining = deadline_millis - NowMillis();
  if (remaining <= 0) return wake();
  return cv.wait_for(lock, std::chrono::milliseconds(remaining), wake);
}

namespace {
class WallClock : public Clock {
 public:
  int64_t NowMillis() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

// Locks the waiter's mutex and the clock's together, so that checking the
// time and starting to wait are one step for Advance: it cannot move time
// and notify in between, and no wake-up is lost.
class BothLocks {
 public:
  BothLocks(std::mutex& caller, std::mutex& clock) : caller_(caller), clock_(clock) {}
  void lock() { std::lock(caller_, clock_); }
  void unlock() {
    clock_.unlock();
    caller_.unlock();
  }

 private:
  std::mutex& caller_;
  std::mutex& clock_;
};
}  // namespace

Clock& SystemClock() {
  static WallClock clock;
  return clock;
}

bool FakeClock::WaitUntil(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                          int64_t deadline_millis, const std::function<bool()>& wake) const {
  // lock is held: take the clock's too, and wait holding both.
  mu_.lock();
  BothLocks both(*lock.mutex(), mu_);
  auto entry = waiters_.insert(Waiter{deadline_millis, &cv});
  waiters_changed_.notify_all();
  while (!wake() && now_.load() < deadline_millis) cv.wait(both);
  waiters_.erase(entry);
  waiters_changed_.notify_all();
  bool woken = wake();
  mu_.unlock();
  return woken;
}

void FakeClock::MoveTo(int64_t millis) {
  std::lock_guard lock(mu_);
  now_ = millis;
  // Notified under mu_: a waiter is either before its check (and sees the
  // new time) or waiting, and its cv cannot go away while it is listed.
  for (const Waiter& w : waiters_) {
    if (w.deadline <= millis) w.cv->notify_all();
  }
  waiters_changed_.notify_all();
}

void FakeClock::Advance(int64_t millis) { MoveTo(now_.load() + millis); }

void FakeClock::Set(int64_t millis) { MoveTo(millis); }

int64_t FakeClock::NextDeadlineLocked() const {
  int64_t now = now_.load();
  for (const Waiter& w : waiters_) {
    if (w.deadline > now) return w.deadline;  // ordered by deadline
  }
  return INT64_MAX;
}

bool FakeClock::AwaitWaiter(const std::function<bool()>& done, int64_t timeout_millis) const {
  std::unique_lock lock(mu_);
  waiters_changed_.wait_for(lock, std::chrono::milliseconds(timeout_millis),
                            [&] { return NextDeadlineLocked() != INT64_MAX || done(); });
  return NextDeadlineLocked() != INT64_MAX;
}

void FakeClock::Notify() const {
  std::lock_guard lock(mu_);
  waiters_changed_.notify_all();
}

bool FakeClock::AdvanceToNextDeadline() {
  int64_t next;
  {
    std::lock_guard lock(mu_);
    next = NextDeadlineLocked();
  }
  if (next == INT64_MAX) return false;
  MoveTo(next);
  return true;
}

}  // namespace berth
