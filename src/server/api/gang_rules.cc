#include "server/api/gang_rules.h"

#include <algorithm>

namespace berth::server::api {

GangDecision DecideGang(const GangWants& wants) {
  GangDecision decision;
  // The rank that ended the attempt: the first to fail or be stopped.
  const GangRank* first = nullptr;
  bool all_stopped = true, all_succeeded = true;
  for (const GangRank& rank : wants.ranks) {
    all_stopped &= rank.state != RankState::kActive && rank.state != RankState::kStopping;
    all_succeeded &= rank.state == RankState::kSucceeded;
    if (rank.state != RankState::kFailed && rank.state != RankState::kStoppedByUser) continue;
    if (first == nullptr || rank.stopped_at_millis < first->stopped_at_millis ||
        (rank.stopped_at_millis == first->stopped_at_millis && rank.rank < first->rank)) {
      first = &rank;
    }
  }
  if (first == nullptr && (!all_stopped || wants.ranks.empty())) {
    return decision;  // ranks that exited 0 wait for the others to finish
  }
  if (first == nullptr && all_succeeded) {
    decision.outcome = GangOutcome::kSucceeded;
    return decision;
  }
  const bool by_user = first != nullptr && first->state == RankState::kStoppedByUser;
  if (first == nullptr) {
    // Stopped with their gang, and the rank that ended it is gone.
    decision.reason = "its ranks were stopped";
  } else {
    decision.reason = "rank " + std::to_string(first->rank) +
                      (by_user ? " was stopped: " : " failed: ") + first->reason;
  }
  for (const GangRank& rank : wants.ranks) {
    if (rank.state == RankState::kActive) decision.stop.push_back(rank.task_id);
  }
  if (!all_stopped || !decision.stop.empty()) {
    decision.outcome = GangOutcome::kRunning;  // until every rank has stopped
  } else if (by_user) {
    decision.outcome = GangOutcome::kStopped;
  } else {
    decision.outcome =
        wants.attempt < wants.max_restarts ? GangOutcome::kRestarting : GangOutcome::kFailed;
  }
  return decision;
}

int64_t GangRestartDelayMillis(int64_t attempt) {
  constexpr int64_t kFirstMillis = 2'000;
  constexpr int64_t kMaxMillis = 60'000;
  if (attempt <= 1) return kFirstMillis;
  if (attempt > 6) return kMaxMillis;  // 2 s * 2^5 = 64 s: past the ceiling
  return std::min(kFirstMillis << (attempt - 1), kMaxMillis);
}

}  // namespace berth::server::api
