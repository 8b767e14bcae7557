#include "server/held_requests.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace berth::server {
namespace {

using namespace std::chrono_literals;

// A request that answers once ready is set (or its time is up), reporting how.
struct Request {
  std::atomic<bool> ready{false};
  std::promise<bool> answered;  // the time_is_up it was answered with
  HeldRequests::TryAnswer TryAnswer() {
    return [this](bool time_is_up) {
      if (!ready.load() && !time_is_up) return false;
      answered.set_value(time_is_up);
      return true;
    };
  }
};

TEST(HeldRequestsTest, AnswersAtOnceWhenItCan) {
  HeldRequests held;
  Request r;
  r.ready = true;
  held.Hold("a", 10s, r.TryAnswer());
  auto answered = r.answered.get_future();
  ASSERT_EQ(answered.wait_for(0s), std::future_status::ready);
  EXPECT_FALSE(answered.get());
  EXPECT_EQ(held.Open(), 0);
}

TEST(HeldRequestsTest, AWakeOfItsKeyAnswersItAndOtherKeysWait) {
  HeldRequests held;
  Request a, b;
  held.Hold("a", 60s, a.TryAnswer());
  held.Hold("b", 60s, b.TryAnswer());
  EXPECT_EQ(held.Open(), 2);
  auto a_answered = a.answered.get_future();
  auto b_answered = b.answered.get_future();

  held.Wake("a");  // not ready yet: it goes on waiting
  EXPECT_EQ(a_answered.wait_for(100ms), std::future_status::timeout);
  a.ready = true;
  b.ready = true;
  held.Wake("a");
  ASSERT_EQ(a_answered.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(a_answered.get());
  EXPECT_EQ(b_answered.wait_for(100ms), std::future_status::timeout) << "b was not woken";
  held.Wake("nobody");  // no one waits under it: nothing happens
  EXPECT_EQ(b_answered.wait_for(100ms), std::future_status::timeout);
  held.Stop();
  ASSERT_EQ(b_answered.wait_for(0s), std::future_status::ready);
}

TEST(HeldRequestsTest, TimeUpAnswersAsTimedOut) {
  HeldRequests held;
  Request r;
  held.Hold("a", 50ms, r.TryAnswer());
  auto answered = r.answered.get_future();
  ASSERT_EQ(answered.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(answered.get());
}

TEST(HeldRequestsTest, StopAnswersEveryHeldRequestAndLaterOnesAtOnce) {
  HeldRequests held;
  Request waiting, late;
  held.Hold("a", 60s, waiting.TryAnswer());
  held.Stop();
  auto answered = waiting.answered.get_future();
  ASSERT_EQ(answered.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(answered.get());
  held.Hold("a", 60s, late.TryAnswer());
  auto late_answered = late.answered.get_future();
  ASSERT_EQ(late_answered.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(late_answered.get());
}

}  // namespace
}  // namespace berth::server
