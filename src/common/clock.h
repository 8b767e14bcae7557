// Time is passed in, so that code depending on it is tested without sleeping.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>

namespace berth {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
  int64_t NowSeconds() const { return NowMillis() / 1000; }

  // Waits on cv until wake() holds or this clock reaches deadline_millis;
  // returns wake(). lock (on cv's mutex) is held on entry and on return, and
  // wake() is called with it held. Whoever changes what wake() reads
  // notifies cv, as with condition_variable::wait. Code that waits for time
  // uses this instead of sleeping, so that a FakeClock moves it on.
  virtual bool WaitUntil(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                         int64_t deadline_millis, const std::function<bool()>& wake) const;
};

// RFC 3339 in UTC, as Go's time.RFC3339Nano writes it (the ECS agent's
// timestamps): "2024-05-01T12:00:07.25Z", the fraction only when there is
// one, "2024-05-01T12:00:07Z".
std::string FormatRfc3339(int64_t millis_since_epoch);

// The wall clock; waits measure their length on the steady clock, so that a
// change of the wall clock does not stretch them. Thread-safe.
Clock& SystemClock();

// A clock that moves only when told. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t start_millis) : now_(start_millis) {}
  int64_t NowMillis() const override { return now_.load(); }
  bool WaitUntil(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                 int64_t deadline_millis, const std::function<bool()>& wake) const override;

  // Moving time wakes the waiters whose deadline has come.
  void Advance(int64_t millis);
  void Set(int64_t millis);

  // For tests that drive a thread waiting on this clock. Blocks until some
  // thread waits for a deadline that has not come yet, or until done()
  // holds (re-checked whenever a wait starts and on Notify), or until
  // timeout_millis of real time have passed. Returns whether one waits.
  bool AwaitWaiter(const std::function<bool()>& done, int64_t timeout_millis = 10000) const;
  // Wakes AwaitWaiter to check its done() again.
  void Notify() const;
  // Moves time to the earliest deadline a thread waits for; false (time
  // unchanged) if none waits for a deadline still to come.
  bool AdvanceToNextDeadline();

 private:
  struct Waiter {
    int64_t deadline;
    std::condition_variable_any* cv;
    bool operator<(const Waiter& other) const {
      return deadline != other.deadline ? deadline < other.deadline : cv < other.cv;
    }
  };
  // The earliest deadline still to come; INT64_MAX if none. mu_ held.
  int64_t NextDeadlineLocked() const;
  void MoveTo(int64_t millis);

  std::atomic<int64_t> now_;
  mutable std::mutex mu_;
  mutable std::condition_variable_any waiters_changed_;  // for AwaitWaiter
  mutable std::multiset<Waiter> waiters_;                // guarded by mu_
};

}  // namespace berth
