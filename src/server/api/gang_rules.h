// What becomes of a gang (the ranks of one multi-node job, placed all or
// none) as its ranks run and stop, with no state and no clock: the gang
// controller (ecs_gang_controller.cc) feeds it the ranks of the current
// attempt and commits what it decides.
//
// A gang fails together: when one rank fails (an essential container exits
// non-zero, it fails to start, its instance is lost) or is stopped by a
// user, every other rank of the attempt is stopped. A failed attempt is
// followed by a new one, up to berth:gang-max-restarts times, once all its
// ranks have stopped and a short backoff has passed. All ranks ending with
// exit code 0 end the gang successfully.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace berth::server::api {

// A gang's status: QUEUED (berth:queue, not placed yet), RUNNING (an
// attempt placed), RESTARTING (waiting for its next attempt), then
// SUCCEEDED, FAILED or STOPPED.
inline constexpr std::string_view kGangQueued = "QUEUED";
inline constexpr std::string_view kGangRunning = "RUNNING";
inline constexpr std::string_view kGangRestarting = "RESTARTING";

// How a rank of the current attempt stands.
enum class RankState {
  kActive,     // PENDING or RUNNING, not asked to stop
  kStopping,   // asked to stop, not STOPPED yet
  kSucceeded,  // STOPPED, its essential containers exited 0
  kFailed,     // STOPPED by a failure
  kStoppedByUser,
  kStoppedWithGang,  // STOPPED because another rank ended the attempt
};

struct GangRank {
  int64_t rank = 0;
  std::string task_id;
  RankState state = RankState::kActive;
  std::string reason;             // its stoppedReason, for kFailed / kStoppedByUser
  int64_t stopped_at_millis = 0;  // for kFailed / kStoppedByUser
};

struct GangWants {
  int64_t attempt = 0;       // 0 for the first placement
  int64_t max_restarts = 0;  // berth:gang-max-restarts
  std::vector<GangRank> ranks;
};

enum class GangOutcome {
  kRunning,     // nothing ended yet, or the ranks are still stopping
  kSucceeded,   // every rank exited 0
  kRestarting,  // a failed attempt, all stopped: place the next one
  kFailed,      // a failed attempt with no restart left
  kStopped,     // a user stopped it
};

struct GangDecision {
  GangOutcome outcome = GangOutcome::kRunning;
  std::vector<std::string> stop;  // task ids of ranks to stop now
  // Why (for the stopped ranks' stoppedReason and the gang's reason):
  // "rank R failed: ..." or "rank R was stopped: ...", naming the first rank
  // that ended it (the earliest to stop, the lowest rank on a tie).
  std::string reason;
};

GangDecision DecideGang(const GangWants& wants);

// The wait before attempt `attempt` (1 for the first restart): 2 s,
// doubling, at most a minute.
int64_t GangRestartDelayMillis(int64_t attempt);

}  // namespace berth::server::api
