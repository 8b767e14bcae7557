#include "awsjson/commit_tracker.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
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

TEST(CommitTracker, AFailedCommitWithAHandlerAbandonsWhatWaits) {
  CommitTracker tracker;
  std::vector<std::string> failures;
  tracker.SetFailureHandler([&](const Status& s) { failures.push_back(s.message()); });
  uint64_t first = tracker.Next();
  uint64_t second = tracker.Next();
  bool first_replied = false, second_replied = false, later_replied = false;
  auto alive = std::make_shared<int>(0);
  tracker.WhenDurable(first, [&, alive] { first_replied = true; });
  tracker.WhenDurable(second, [&] { second_replied = true; });
  EXPECT_EQ(alive.use_count(), 2);

  tracker.CommitFailed("state", FailedPrecondition("fence lost"));
  tracker.CommitFailed("state", FailedPrecondition("again"));  // told once
  EXPECT_EQ(failures, std::vector<std::string>{"fence lost"});
  EXPECT_EQ(alive.use_count(), 1);  // the waiting reply was destroyed unrun

  // A later commit that succeeds releases nothing: memory holds the
  // failed change too.
  tracker.MarkDurable(second);
  tracker.WhenDurable(tracker.Next(), [&] { later_replied = true; });
  EXPECT_FALSE(first_replied);
  EXPECT_FALSE(second_replied);
  EXPECT_FALSE(later_replied);
}

TEST(CommitTracker, WhatWaitsIsToldWhyItWasAbandoned) {
  CommitTracker tracker;
  tracker.SetFailureHandler([](const Status&) {});
  uint64_t seq = tracker.Next();
  std::vector<std::string> told;
  auto tell = [&](const Status& s) { told.push_back(s.ToString()); };
  bool replied = false;
  tracker.WhenDurable(
      seq, [&] { replied = true; }, tell);
  tracker.CommitFailed("state", InvalidArgument("batch too large"));
  ASSERT_EQ(told.size(), 1u);
  EXPECT_NE(told[0].find("commit of the state"), std::string::npos) << told[0];
  EXPECT_NE(told[0].find("batch too large"), std::string::npos) << told[0];
  // A reply asked for afterwards is told at once.
  tracker.WhenDurable(
      tracker.Next(), [&] { replied = true; }, tell);
  EXPECT_EQ(told.size(), 2u);
  EXPECT_FALSE(replied);
}

TEST(CommitTrackerDeathTest, AFailedCommitWithoutAHandlerStopsTheProcess) {
  CommitTracker tracker;
  tracker.Next();
  EXPECT_DEATH(tracker.CommitFailed("state", Internal("disk I/O error")),
               "durable commit failed; stopping");
}

}  // namespace
}  // namespace berth::awsjson
