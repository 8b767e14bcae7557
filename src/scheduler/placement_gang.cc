// The gang pieces both engines share (placement_gang.h), and
// ReferencePlaceGang: all ranks of a multi-node training job, or none, over
// copies of the snapshot (the Placer's PlaceGang must agree with it).
#include "scheduler/placement_gang.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/placement.h"
#include "scheduler/placement_request.h"
#include "scheduler/placement_step.h"

namespace berth::scheduler {
namespace {

struct GroupAttempt {
  std::vector<TaskPlacement> ranks;
  PlacementFailure failure;  // of the first rank that did not fit
};

// Places the ranks one by one on `group`, each on an instance of its own.
StatusOr<GroupAttempt> PlaceInGroup(ClusterSnapshot group, const CompiledRequest& compiled,
                                    int size, std::mt19937_64& random) {
  GroupAttempt attempt;
  std::set<std::string> instances_in_call;
  for (int rank = 0; rank < size; ++rank) {
    StepOutcome step = PlaceOneTask(group, compiled, instances_in_call, random);
    if (!step.placement) {
      attempt.failure = std::move(step.failure);
      return attempt;
    }
    if (Status applied = ApplyPlacement(group, compiled.request, *step.placement); !applied.ok()) {
      return Internal("gang placement chose an instance that cannot take the task: " +
                      applied.message());
    }
    instances_in_call.insert(step.placement->instance_id);
    attempt.ranks.push_back(std::move(*step.placement));
  }
  return attempt;
}

}  // namespace

StatusOr<GangRequest> ReadGangRequest(const PlacementRequest& request, int size,
                                      const std::optional<std::string>& same_attribute) {
  if (size < 1) return InvalidArgument("a gang needs at least one task");
  StatusOr<CompiledRequest> compiled = CompileRequest(request);
  if (!compiled.ok()) return compiled.status();
  GangRequest gang{std::move(compiled).value(), ""};
  // Two ranks on one instance is never what a gang means.
  gang.compiled.distinct_instance = true;
  if (same_attribute) {
    constexpr std::string_view kPrefix = "attribute:";
    gang.attribute = *same_attribute;
    if (gang.attribute.rfind(kPrefix, 0) == 0) gang.attribute.erase(0, kPrefix.size());
    if (gang.attribute.empty()) return InvalidArgument("the gang's same attribute has no name");
  }
  return gang;
}

PlacementFailure NoGangGroup(const std::string& attribute, int size) {
  return {std::string(kReasonAttribute), "no container instance has attribute " + attribute +
                                             " for a gang of " + std::to_string(size)};
}

PlacementFailure GangFailure(int size, const std::string& attribute, const std::string& value,
                             size_t placed, const PlacementFailure& rank_failure) {
  const std::string where =
      attribute.empty() ? "placed " : "best group " + attribute + "=" + value + " placed ";
  return {rank_failure.reason, "gang of " + std::to_string(size) + ": " + where +
                                   std::to_string(placed) + ", rank " + std::to_string(placed) +
                                   " did not fit: " + rank_failure.detail};
}

StatusOr<GangPlacement> ReferencePlaceGang(const ClusterSnapshot& snapshot,
                                           const PlacementRequest& request, int size,
                                           const std::optional<std::string>& same_attribute,
                                           std::mt19937_64& random) {
  StatusOr<GangRequest> read = ReadGangRequest(request, size, same_attribute);
  if (!read.ok()) return read.status();
  const CompiledRequest& compiled = read->compiled;
  const std::string& attribute = read->attribute;

  // The groups of instances that may hold the gang, by attribute value
  // (ascending, which makes the choice between equal groups reproducible).
  std::map<std::string, ClusterSnapshot> groups;
  if (same_attribute) {
    for (const SnapshotInstance& instance : snapshot.instances) {
      auto it = instance.facts.attributes.find(attribute);
      if (it != instance.facts.attributes.end()) groups[it->second].instances.push_back(instance);
    }
  } else {
    groups[""] = snapshot;
  }

  GangPlacement gang;
  if (groups.empty()) {
    gang.failure = NoGangGroup(attribute, size);
    return gang;
  }
  std::optional<std::pair<std::string, GroupAttempt>> closest;
  for (auto& [value, group] : groups) {
    StatusOr<GroupAttempt> attempt = PlaceInGroup(std::move(group), compiled, size, random);
    if (!attempt.ok()) return attempt.status();
    if (static_cast<int>(attempt->ranks.size()) == size) {
      gang.ranks = std::move(attempt->ranks);
      if (same_attribute) gang.attribute_value = value;
      return gang;
    }
    if (!closest || attempt->ranks.size() > closest->second.ranks.size()) {
      closest.emplace(value, std::move(attempt).value());
    }
  }
  const auto& [value, attempt] = *closest;
  gang.failure = GangFailure(size, attribute, value, attempt.ranks.size(), attempt.failure);
  return gang;
}

}  // namespace berth::scheduler
