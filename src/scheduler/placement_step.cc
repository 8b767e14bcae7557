#include "scheduler/placement_step.h"

#include <string>
#include <utility>
#include <vector>

#include "scheduler/placement_devices.h"
#include "scheduler/placement_filters.h"
#include "scheduler/placement_scores.h"

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
  std::vector<const SnapshotInstance*> candidates;
  for (const SnapshotInstance& instance : working.instances) candidates.push_back(&instance);

  const FilterContext filter_context{compiled, instances_in_call};
  std::vector<std::pair<std::string_view, int>> eliminated;  // in filter order
  for (const PlacementFilter* filter : PlacementFilters()) {
    std::vector<const SnapshotInstance*> survivors;
    std::vector<std::pair<std::string, std::string>> rejected;
    for (const SnapshotInstance* c : candidates) {
      std::optional<std::string> why = filter->Check(*c, filter_context);
      if (why) {
        rejected.emplace_back(c->facts.id, std::move(*why));
      } else {
        survivors.push_back(c);
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

  ScoreContext score_context{working, compiled.request, random};
  const SnapshotInstance* chosen =
      RankCandidates(std::move(candidates), compiled.scorers, score_context).front();
  TaskPlacement placement;
  placement.instance_id = chosen->facts.id;
  placement.neuron_device_ids = ChooseNeuronDevices(chosen->resources.neuron, compiled.request).ids;
  placement.gpu_ids = ChooseGpus(chosen->resources.gpus, compiled.request.gpu_count);
  placement.host_ports = compiled.request.host_ports;
  outcome.placement = std::move(placement);
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
