// A PlacementRequest checked and compiled once per call: memberOf
// expressions parsed, strategies turned into scorers. The one place where a
// malformed request becomes an error Status, so that the filters and scorers
// that run per instance cannot fail.
#pragma once

#include <memory>
#include <vector>

#include "common/status.h"
#include "scheduler/placement.h"
#include "scheduler/placement_scores.h"
#include "scheduler/query.h"

namespace berth::scheduler {

struct CompiledRequest {
  PlacementRequest request;
  std::vector<Query> member_of;  // every one must match
  bool distinct_instance = false;
  // Applied in order; the implicit Neuron topology scorer comes first when
  // the request counts Neuron devices (see placement_scores.h).
  ScorerList scorers;
};

// InvalidArgument naming the field: "placementStrategy[1]: binpack field
// must be cpu or memory, got 'disk'".
StatusOr<CompiledRequest> CompileRequest(const PlacementRequest& request);

}  // namespace berth::scheduler
