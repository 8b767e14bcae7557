// DecideGang as a table: the ranks of an attempt -> what is stopped and how
// the attempt ends; and the restart backoff's arithmetic.
#include "server/api/gang_rules.h"

#include <gtest/gtest.h>

namespace berth::server::api {
namespace {

GangRank Rank(int64_t rank, RankState state, int64_t stopped_at = 0, std::string reason = "") {
  return {rank, "t" + std::to_string(rank), state, std::move(reason), stopped_at};
}

GangWants Wants(std::vector<GangRank> ranks, int64_t attempt = 0, int64_t max_restarts = 0) {
  return {attempt, max_restarts, std::move(ranks)};
}

TEST(GangRulesTest, Table) {
  using enum RankState;
  struct Row {
    const char* name;
    GangWants wants;
    GangOutcome outcome;
    std::vector<std::string> stop;
    std::string reason;
  };
  const std::vector<Row> rows = {
      {"all running", Wants({Rank(0, kActive), Rank(1, kActive)}), GangOutcome::kRunning, {}, ""},
      // Rank 0 finished first: it waits for rank 1.
      {"one rank exited 0",
       Wants({Rank(0, kSucceeded, 5), Rank(1, kActive)}),
       GangOutcome::kRunning,
       {},
       ""},
      {"all exited 0",
       Wants({Rank(0, kSucceeded, 5), Rank(1, kSucceeded, 6)}),
       GangOutcome::kSucceeded,
       {},
       ""},
      // Rank 1 failed: ranks 0 and 2 stop, the attempt goes on until they have.
      {"a failure stops the others",
       Wants({Rank(0, kActive), Rank(1, kFailed, 5, "exit 1"), Rank(2, kActive)}),
       GangOutcome::kRunning,
       {"t0", "t2"},
       "rank 1 failed: exit 1"},
      {"still stopping",
       Wants({Rank(0, kStopping), Rank(1, kFailed, 5, "exit 1")}, 0, 3),
       GangOutcome::kRunning,
       {},
       "rank 1 failed: exit 1"},
      // All stopped; attempt 0 < 3 restarts: the next attempt.
      {"restart",
       Wants({Rank(0, kStoppedWithGang, 6), Rank(1, kFailed, 5, "exit 1")}, 0, 3),
       GangOutcome::kRestarting,
       {},
       "rank 1 failed: exit 1"},
      // Attempt 3 of at most 3 restarts: no more.
      {"restarts used up",
       Wants({Rank(0, kStoppedWithGang, 6), Rank(1, kFailed, 5, "exit 1")}, 3, 3),
       GangOutcome::kFailed,
       {},
       "rank 1 failed: exit 1"},
      // The earliest failure names the cause; on a tie the lower rank.
      {"first failure is the cause",
       Wants(
           {Rank(0, kFailed, 9, "late"), Rank(1, kFailed, 5, "early"), Rank(2, kFailed, 5, "tie")}),
       GangOutcome::kFailed,
       {},
       "rank 1 failed: early"},
      // A user stopped rank 0: the others stop and it does not restart.
      {"stopped by a user",
       Wants({Rank(0, kStoppedByUser, 5, "Task stopped by user"), Rank(1, kActive)}, 0, 3),
       GangOutcome::kRunning,
       {"t1"},
       "rank 0 was stopped: Task stopped by user"},
      {"stopped by a user, all stopped",
       Wants({Rank(0, kStoppedByUser, 5, "Task stopped by user"), Rank(1, kStoppedWithGang, 6)}, 0,
             3),
       GangOutcome::kStopped,
       {},
       "rank 0 was stopped: Task stopped by user"},
      // A success beside a failure is still a failed attempt.
      {"success and failure",
       Wants({Rank(0, kSucceeded, 4), Rank(1, kFailed, 5, "exit 2")}, 0, 1),
       GangOutcome::kRestarting,
       {},
       "rank 1 failed: exit 2"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    GangDecision decision = DecideGang(row.wants);
    EXPECT_EQ(decision.outcome, row.outcome);
    EXPECT_EQ(decision.stop, row.stop);
    EXPECT_EQ(decision.reason, row.reason);
  }
}

TEST(GangRulesTest, RestartBackoffDoublesFrom2SecondsUpToAMinute) {
  EXPECT_EQ(GangRestartDelayMillis(1), 2'000);  // the first restart
  EXPECT_EQ(GangRestartDelayMillis(2), 4'000);
  EXPECT_EQ(GangRestartDelayMillis(5), 32'000);  // 2 s * 2^4
  EXPECT_EQ(GangRestartDelayMillis(6), 60'000);  // 64 s -> a minute
  EXPECT_EQ(GangRestartDelayMillis(100), 60'000);
}

}  // namespace
}  // namespace berth::server::api
