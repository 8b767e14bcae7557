// Filter plugins: each one decides whether an instance can take one more
// task of the request, and if not, says why in words for the failure detail.
// A filter never fails: everything that could make it fail (a bad
// expression) was refused by CompileRequest before.
//
// A filter is the only implementation of its rule: the reference engine
// (placement_step.cc) and the Placer (placer.cc) both call Admits, over
// InstanceViews of their own state (placement_view.h). Admits is on the
// Placer's hot path, so it reads derived state (free-device bitsets, group
// counts, remembered memberOf answers) and builds no strings; Explain, which
// only runs to name a failure, says why in words.
//
// The registry's order is the order ECS checks in (agent, cpu, memory, ports,
// GPUs, then constraints), with berth's Neuron devices after the GPUs; it
// decides which reason a failure carries (see PlacementFailure).
//
// Thread-safety: the filters are stateless singletons and may be called from
// any thread; what a call reads (the view, the context) is the caller's.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/placement.h"
#include "scheduler/placement_request.h"
#include "scheduler/placement_view.h"

namespace berth::scheduler {

// How an engine answers the request's memberOf expressions: the Placer
// remembers answers per instance (placer.cc). The filter decides what the
// answers mean.
class MemberOfAnswers {
 public:
  // Whether compiled.member_of[k] matches the instance.
  virtual bool Matches(size_t k, const InstanceView& instance) = 0;

 protected:
  ~MemberOfAnswers() = default;
};

struct FilterContext {
  const CompiledRequest& compiled;
  // Null: each expression is evaluated on the instance's facts.
  MemberOfAnswers* member_of = nullptr;
};

class PlacementFilter {
 public:
  virtual ~PlacementFilter() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view reason() const = 0;  // the ECS failure reason
  // The rule: whether the instance can take one more task of the request.
  virtual bool Admits(const InstanceView& instance, const FilterContext& context) const = 0;
  // Why not, for an instance Admits refused ("needs 512 MiB of memory, has
  // 256").
  virtual std::string Explain(const InstanceView& instance, const FilterContext& context) const = 0;
  // Whether the rule says anything about this request; when not, Admits holds
  // for every instance and an engine may skip the filter for the whole call
  // (the Kubernetes framework's PreFilter "skip").
  virtual bool AppliesTo(const CompiledRequest& compiled) const;
  // Raises the fields of `need` to the least capacity an instance must offer
  // for Admits to hold: the bound the Placer's indexes prune with. Filters
  // that need no capacity leave it alone.
  virtual void Need(const PlacementRequest& request, Capacity& need) const;
  // Whether Need says it all: Admits holds exactly when the instance's
  // capacity covers what this filter needs, so an engine that has checked
  // the capacity (the Placer's indexes do) need not call Admits.
  virtual bool NeedIsExact() const;

  // nullopt when Admits holds; otherwise Explain.
  std::optional<std::string> Check(const InstanceView& instance,
                                   const FilterContext& context) const;
};

// agent, cpu, memory, ports, gpu, neuron, memberOf, distinctInstance. The
// filters are stateless singletons.
const std::vector<const PlacementFilter*>& PlacementFilters();

// The agent filter's rule on its own: whether the instance takes new tasks at
// all (ACTIVE, agent connected). No task placed or released changes it, so
// the Placer leaves instances that fail it out of its indexes.
bool TakesNewTasks(const InstanceFacts& facts);

// What every filter needs, together (the largest of each field).
Capacity NeedOf(const PlacementRequest& request);

}  // namespace berth::scheduler
