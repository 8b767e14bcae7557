// One task, one decision: run the filters over the working snapshot, rank
// the instances left, take the first and choose its device ids. Shared by
// PlaceTasks and PlaceGang; it reserves nothing (ApplyPlacement does).
#pragma once

#include <optional>
#include <random>
#include <set>
#include <string>

#include "scheduler/placement.h"
#include "scheduler/placement_request.h"

namespace berth::scheduler {

struct StepOutcome {
  std::optional<TaskPlacement> placement;
  PlacementFailure failure;  // set when placement is empty
};

StepOutcome PlaceOneTask(const ClusterSnapshot& working, const CompiledRequest& compiled,
                         const std::set<std::string>& instances_in_call, std::mt19937_64& random);

// Why `placement` no longer fits resources `r` ("not enough CPU"); empty when
// it does. ApplyPlacement's and Placer::Apply's check.
std::string Misfit(const InstanceResources& r, const PlacementRequest& request,
                   const TaskPlacement& placement);

// The reference engine: PlaceTasks and PlaceGang as they were first written,
// over a working copy of the snapshot, every filter over every instance and
// a full sort per task. The Placer must give the same answers (the tests
// compare them) and the benchmark measures it as the baseline. Slow: O(n log
// n) and a snapshot copy per call.
StatusOr<PlacementResult> ReferencePlaceTasks(const ClusterSnapshot& snapshot,
                                              const PlacementRequest& request, int count,
                                              std::mt19937_64& random);
StatusOr<GangPlacement> ReferencePlaceGang(const ClusterSnapshot& snapshot,
                                           const PlacementRequest& request, int size,
                                           const std::optional<std::string>& same_attribute,
                                           std::mt19937_64& random);

}  // namespace berth::scheduler
