// The reference engine: every filter plugin over every instance of a working
// copy, a full sort by the scorer plugins, per task. The Placer runs the same
// plugins over the state it keeps and must give the same answers (the tests
// compare them); it also calls PlaceOneTask to name a failure word for word.
// The benchmark measures the reference as its baseline.
//
// Re-entrant: everything it reads is the caller's, and it keeps nothing.
#pragma once

#include <optional>
#include <random>
#include <set>
#include <string>

#include "scheduler/placement.h"
#include "scheduler/placement_request.h"

namespace berth::scheduler {

// One task, one decision: run the filters over the working snapshot, rank
// the instances left, take the first and choose its device ids. It reserves
// nothing (ApplyPlacement does).
struct StepOutcome {
  std::optional<TaskPlacement> placement;
  PlacementFailure failure;  // set when placement is empty
};

StepOutcome PlaceOneTask(const ClusterSnapshot& working, const CompiledRequest& compiled,
                         const std::set<std::string>& instances_in_call, std::mt19937_64& random);

// PlaceTasks and PlaceGang the reference way. Slow: O(n log n) per task and
// a snapshot copy per call.
StatusOr<PlacementResult> ReferencePlaceTasks(const ClusterSnapshot& snapshot,
                                              const PlacementRequest& request, int count,
                                              std::mt19937_64& random);
StatusOr<GangPlacement> ReferencePlaceGang(const ClusterSnapshot& snapshot,
                                           const PlacementRequest& request, int size,
                                           const std::optional<std::string>& same_attribute,
                                           std::mt19937_64& random);

}  // namespace berth::scheduler
