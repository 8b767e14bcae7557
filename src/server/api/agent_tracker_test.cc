#include "server/api/agent_tracker.h"

#include <gtest/gtest.h>

#include <vector>

namespace berth::server::api {
namespace {

constexpr int64_t kStart = 1'000'000;

TEST(AgentTracker, VersionsCarryTheBootIdAndMoveOnEveryBump) {
  AgentTracker tracker("boot1", kStart);
  std::vector<std::string> woken;
  tracker.set_on_bump([&](const std::string& id) { woken.push_back(id); });
  EXPECT_EQ(tracker.Version("a"), "boot1-0");
  tracker.Bump("a");
  tracker.Bump("a");
  tracker.Bump("b");
  EXPECT_EQ(tracker.Version("a"), "boot1-2");
  EXPECT_EQ(tracker.Version("b"), "boot1-1");
  EXPECT_EQ(woken, (std::vector<std::string>{"a", "a", "b"}));
  // Another boot never matches a version of this one.
  AgentTracker restarted("boot2", kStart);
  EXPECT_NE(restarted.Version("a"), tracker.Version("a"));
}

TEST(AgentTracker, ConnectedWhilePollingOrWithinTheTimeout) {
  AgentTracker tracker("b", kStart);
  tracker.set_heartbeat_timeout_millis(2000);
  // Not heard from since the start: one timeout of grace.
  EXPECT_TRUE(tracker.Connected("a", kStart + 2000));
  EXPECT_FALSE(tracker.Connected("a", kStart + 2001));

  tracker.PollStarted("a", kStart + 5000);
  EXPECT_TRUE(tracker.Connected("a", kStart + 60'000));  // holding a long poll open
  tracker.PollEnded("a", kStart + 6000);
  EXPECT_TRUE(tracker.Connected("a", kStart + 8000));
  EXPECT_FALSE(tracker.Connected("a", kStart + 8001));

  tracker.Heartbeat("a", kStart + 9000);  // a join
  EXPECT_TRUE(tracker.Connected("a", kStart + 10'000));
  // An older heartbeat does not move the time back.
  tracker.Heartbeat("a", kStart + 1);
  EXPECT_TRUE(tracker.Connected("a", kStart + 11'000));
}

TEST(AgentTracker, ReconnectionsCountAgentsHeardFromAfterGoingSilent) {
  AgentTracker tracker("b", kStart);
  tracker.set_heartbeat_timeout_millis(2000);
  EXPECT_EQ(tracker.reconnections(), 0u);
  tracker.PollStarted("a", kStart + 1000);  // within the grace: was connected
  tracker.PollEnded("a", kStart + 1500);
  tracker.Heartbeat("a", kStart + 3000);
  EXPECT_EQ(tracker.reconnections(), 0u);
  tracker.PollStarted("a", kStart + 6000);  // silent for 3 s
  EXPECT_EQ(tracker.reconnections(), 1u);
  tracker.PollStarted("b", kStart + 6000);  // never heard, grace over
  EXPECT_EQ(tracker.reconnections(), 2u);
}

TEST(AgentTracker, AContactStampedBeforeASilentAnswerIsAReconnection) {
  // A poll reads the clock, a plan with a later clock finds the agent
  // silent, then the poll arrives stamped with its earlier time: whoever
  // cached "silent" must hear of the agent again.
  AgentTracker tracker("b", kStart);
  tracker.set_heartbeat_timeout_millis(2000);
  tracker.Heartbeat("a", kStart + 1000);
  EXPECT_FALSE(tracker.Connected("a", kStart + 3001));
  const uint64_t before = tracker.reconnections();
  tracker.PollStarted("a", kStart + 2999);  // connected at its own time
  EXPECT_EQ(tracker.reconnections(), before + 1);
}

TEST(AgentTracker, ConnectedAtLeastUntilIsALowerBound) {
  AgentTracker tracker("b", kStart);
  tracker.set_heartbeat_timeout_millis(2000);
  EXPECT_EQ(tracker.ConnectedAtLeastUntil("a", kStart), kStart + 2000);  // the grace
  tracker.PollStarted("a", kStart + 1000);
  // While the poll is held: whenever it ends, a timeout more from then.
  EXPECT_EQ(tracker.ConnectedAtLeastUntil("a", kStart + 5000), kStart + 7000);
  tracker.PollEnded("a", kStart + 5000);
  EXPECT_EQ(tracker.ConnectedAtLeastUntil("a", kStart + 5500), kStart + 7000);
  EXPECT_TRUE(tracker.Connected("a", kStart + 7000));
  EXPECT_FALSE(tracker.Connected("a", kStart + 7001));
}

TEST(AgentTracker, SilenceCountsFromTheLastContact) {
  AgentTracker tracker("b", kStart);
  EXPECT_EQ(tracker.lost_after_millis(), AgentTracker::kDefaultLostAfterMillis);
  // Not heard from since the start: silent since the start.
  EXPECT_EQ(tracker.SilentMillis("a", kStart + 4000), 4000);
  tracker.PollStarted("a", kStart + 20'000);
  EXPECT_EQ(tracker.SilentMillis("a", kStart + 90'000), 0);  // a held poll is contact
  tracker.PollEnded("a", kStart + 30'000);
  EXPECT_EQ(tracker.SilentMillis("a", kStart + 35'000), 5000);
  tracker.Heartbeat("a", kStart + 36'000);
  EXPECT_EQ(tracker.SilentMillis("a", kStart + 37'000), 1000);
}

}  // namespace
}  // namespace berth::server::api
