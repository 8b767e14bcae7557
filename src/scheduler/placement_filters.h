// Filter plugins: each one decides whether an instance can take one more
// task of the request, and if not, says why in words for the failure detail.
// A filter never fails: everything that could make it fail (a bad
// expression) was refused by CompileRequest before.
//
// The registry's order is the order ECS checks in (agent, cpu, memory, ports,
// GPUs, then constraints), with berth's Neuron devices after the GPUs; it
// decides which reason a failure carries (see PlacementFailure).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/placement.h"
#include "scheduler/placement_request.h"

namespace berth::scheduler {

struct FilterContext {
  const CompiledRequest& compiled;
  // Instances that were given a task earlier in this call (distinctInstance).
  const std::set<std::string>& instances_in_call;
};

class PlacementFilter {
 public:
  virtual ~PlacementFilter() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view reason() const = 0;  // the ECS failure reason
  // nullopt when the instance can take the task; otherwise why not
  // ("needs 512 MiB of memory, has 256").
  virtual std::optional<std::string> Check(const SnapshotInstance& instance,
                                           const FilterContext& context) const = 0;
};

// agent, cpu, memory, ports, gpu, neuron, memberOf, distinctInstance. The
// filters are stateless singletons.
const std::vector<const PlacementFilter*>& PlacementFilters();

}  // namespace berth::scheduler
