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

}  // namespace berth::scheduler
