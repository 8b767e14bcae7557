#include "scheduler/placement_step.h"

#include <string>
#include <utility>
#include <vector>

#include "scheduler/placement_devices.h"
#include "scheduler/placement_filters.h"
#include "scheduler/placement_scores.h"
#include "scheduler/placement_view.h"

namespace berth::scheduler {
namespace {

// At most this many instances are named in a failure detail; a cluster of a
// thousand full instances should not make a thousand-line failure.
constexpr size_t kNamedInstances = 3;

std::string Describe(size_t total, const std::vector<std::pair<std::string_view, int>>& eliminated,
                     const std::vector<std::pair<std::string, std::string>>& last) {
  std::string detail = std::to_string(total) + (total == 1 ? " instance:" : " instances:");
  bool first = true;
  for (const auto& [reason, n] : eliminated) {
    detail += (first ? " " : ", ") + std::to_string(n) + " " + std::string(reason);
    first = false;
  }
  for (size_t i = 0; i < last.size() && i < kNamedInstances; ++i) {
    detail += "; " + last[i].first + ": " + last[i].second;
  }
  if (last.size() > kNamedInstances) {
    detail += "; and " + std::to_string(last.size() - kNamedInstances) + " more";
  }
  return detail;
}

}  // namespace

StepOutcome PlaceOneTask(const ClusterSnapshot& working, const CompiledRequest& compiled,
                         const std::set<std::string>& instances_in_call, std::mt19937_64& random) {
  StepOutcome outcome;
  if (working.instances.empty()) {
    outcome.failure = {std::string(kReasonAgent), "no container instances in the cluster"};
    return outcome;
  }
  // One view per instance for the whole decision: what a view derives (free
  // devices) is derived once, for the filters and the scorers.
  std::vector<InstanceView> views;
  views.reserve(working.instances.size());
  for (const SnapshotInstance& instance : working.instances) {
    views.emplace_back(instance, instances_in_call.count(instance.facts.id) > 0);
  }
  std::vector<const InstanceView*> candidates;
  for (const InstanceView& view : views) candidates.push_back(&view);

  const FilterContext filter_context{compiled};
  std::vector<std::pair<std::string_view, int>> eliminated;  // in filter order
  for (const PlacementFilter* filter : PlacementFilters()) {
    std::vector<const InstanceView*> survivors;
    std::vector<std::pair<std::string, std::string>> rejected;
    for (const InstanceView* c : candidates) {
      if (filter->Admits(*c, filter_context)) {
        survivors.push_back(c);
      } else {
        rejected.emplace_back(c->facts().id, filter->Explain(*c, filter_context));
      }
    }
    if (!rejected.empty()) eliminated.emplace_back(filter->reason(), rejected.size());
    if (survivors.empty()) {
      outcome.failure = {std::string(filter->reason()),
                         Describe(working.instances.size(), eliminated, rejected)};
      return outcome;
    }
    candidates = std::move(survivors);
  }

  std::vector<const SnapshotInstance*> ranked;
  for (const InstanceView* c : candidates) ranked.push_back(&c->instance());
  ScoreContext score_context{working, compiled.request, random};
  const SnapshotInstance* chosen =
      RankCandidates(std::move(ranked), compiled.scorers, score_context).front();
  outcome.placement = PlacementOn(views[chosen - working.instances.data()], compiled.request);
  return outcome;
}

StatusOr<PlacementResult> ReferencePlaceTasks(const ClusterSnapshot& snapshot,
                                              const PlacementRequest& request, int count,
                                              std::mt19937_64& random) {
  if (count < 0) return InvalidArgument("count must not be negative");
  StatusOr<CompiledRequest> compiled = CompileRequest(request);
  if (!compiled.ok()) return compiled.status();

  ClusterSnapshot working = snapshot;
  std::set<std::string> instances_in_call;
  PlacementResult result;
  for (int task = 0; task < count; ++task) {
    StepOutcome step = PlaceOneTask(working, *compiled, instances_in_call, random);
    if (!step.placement) {
      result.failures.assign(count - task, step.failure);
      break;
    }
    if (Status applied = ApplyPlacement(working, request, *step.placement); !applied.ok()) {
      return Internal("placement chose an instance that cannot take the task: " +
                      applied.message());
    }
    instances_in_call.insert(step.placement->instance_id);
    result.placements.push_back(std::move(*step.placement));
  }
  return result;
}

}  // namespace berth::scheduler
