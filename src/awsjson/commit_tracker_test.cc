#include "awsjson/commit_tracker.h"

#include <gtest/gtest.h>

#include <vector>

namespace berth::awsjson {
namespace {

TEST(CommitTracker, RunsAtOnceWhenAlreadyDurable) {
  CommitTracker tracker;
  bool ran = false;
  tracker.WhenDurable(0, [&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(CommitTracker, HoldsRepliesUntilTheirChangeIsDurable) {
  CommitTracker tracker;
  uint64_t first = tracker.Next();
  uint64_t second = tracker.Next();
  std::vector<int> sent;
  tracker.WhenDurable(second, [&] { sent.push_back(2); });
  tracker.WhenDurable(first, [&] { sent.push_back(1); });
  EXPECT_TRUE(sent.empty());
  tracker.MarkDurable(first);
  EXPECT_EQ(sent, std::vector<int>{1});
  tracker.MarkDurable(second);
  EXPECT_EQ(sent, (std::vector<int>{1, 2}));
}

TEST(CommitTracker, AReadWaitsForTheWritesItObserved) {
  CommitTracker tracker;
  tracker.Next();  // a write is applied in memory but not yet durable
  bool replied = false;
  tracker.WhenDurable(tracker.LastAssigned(), [&] { replied = true; });
  EXPECT_FALSE(replied);
  tracker.MarkDurable(1);
  EXPECT_TRUE(replied);
}

}  // namespace
}  // namespace berth::awsjson
