#include "common/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace berth {
namespace {

// A waiter on the fake clock, on its own thread, as a worker would be.
struct Waiter {
  std::mutex mu;
  std::condition_variable_any cv;
  bool stop = false;      // guarded by mu
  bool woken = false;     // what WaitUntil returned; guarded by mu
  bool returned = false;  // guarded by mu
};

TEST(FakeClockTest, AWaitEndsWhenTimeReachesItsDeadline) {
  FakeClock clock(1000);
  Waiter w;
  std::thread thread([&] {
    std::unique_lock lock(w.mu);
    w.woken = clock.WaitUntil(w.cv, lock, 1500, [&] { return w.stop; });
    w.returned = true;
  });
  ASSERT_TRUE(clock.AwaitWaiter([] { return false; }));
  clock.Advance(499);
  ASSERT_TRUE(clock.AwaitWaiter([] { return false; })) << "still waiting one millisecond short";
  EXPECT_TRUE(clock.AdvanceToNextDeadline());
  thread.join();
  EXPECT_EQ(clock.NowMillis(), 1500);
  EXPECT_TRUE(w.returned);
  EXPECT_FALSE(w.woken);
  EXPECT_FALSE(clock.AdvanceToNextDeadline()) << "nobody waits any more";
}

TEST(FakeClockTest, AWaitEndsEarlyWhenWoken) {
  FakeClock clock(0);
  Waiter w;
  std::thread thread([&] {
    std::unique_lock lock(w.mu);
    w.woken = clock.WaitUntil(w.cv, lock, 60'000, [&] { return w.stop; });
  });
  ASSERT_TRUE(clock.AwaitWaiter([] { return false; }));
  {
    std::lock_guard lock(w.mu);
    w.stop = true;
  }
  w.cv.notify_all();
  thread.join();
  EXPECT_TRUE(w.woken);
  EXPECT_EQ(clock.NowMillis(), 0);
}

TEST(FakeClockTest, AwaitWaiterReturnsWhenDoneHolds) {
  FakeClock clock(0);
  EXPECT_FALSE(clock.AwaitWaiter([] { return true; }));
}

TEST(SystemClockTest, WaitsForTheDeadline) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  int64_t start = SystemClock().NowMillis();
  EXPECT_FALSE(SystemClock().WaitUntil(cv, lock, start + 20, [] { return false; }));
  EXPECT_GE(SystemClock().NowMillis() - start, 19);
}

}  // namespace
}  // namespace berth
