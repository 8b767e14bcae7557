#include "planner/planner.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <set>
#include <string>

#include "model/json_util.h"
#include "planner/task_placement.h"

namespace berth::planner {

using model::ArrayOr;
using model::OptInt;
using model::StringOr;

namespace json = boost::json;

namespace {

const json::object& NoOverrides() {
  static const json::object kNone;
  return kNone;
}

}  // namespace

std::optional<std::string> TagValue(const json::array& tags, std::string_view key) {
  for (const auto& t : tags) {
    if (t.is_object() && StringOr(t.get_object(), "key", "") == key) {
      return std::string(StringOr(t.get_object(), "value", ""));
    }
  }
  return std::nullopt;
}

StatusOr<TaskRequest> ParseTaskRequest(const json::object& run_task,
                                       const json::object& task_definition) {
  TaskRequest request;
  request.task_definition = &task_definition;
  const json::array& tags = ArrayOr(run_task, "tags");
  request.gang = TagValue(tags, kGangTag);
  const int64_t count = OptInt(run_task, "count").value_or(1);
  const int64_t max_count = request.gang ? 1000 : 10;
  if (count < 1 || count > max_count) {
    return InvalidArgument("count must be between 1 and " + std::to_string(max_count) + ", got " +
                           std::to_string(count));
  }
  request.count = static_cast<int>(count);
  auto* overrides = run_task.if_contains("overrides");
  request.overrides = overrides != nullptr ? &overrides->as_object() : &NoOverrides();

  StatusOr<scheduler::PlacementRequest> placement =
      BuildPlacementRequest(task_definition, *request.overrides);
  if (!placement.ok()) return placement.status();
  request.placement = std::move(*placement);
  std::string group(StringOr(run_task, "group", ""));
  if (group.empty()) group = "family:" + std::string(StringOr(task_definition, "family", ""));
  request.placement.group = std::move(group);
  for (const json::array* list : {&ArrayOr(task_definition, "placementConstraints"),
                                  &ArrayOr(run_task, "placementConstraints")}) {
    for (const auto& c : *list) {
      request.placement.constraints.push_back(
          {std::string(StringOr(c.as_object(), "type", "")),
           std::string(StringOr(c.as_object(), "expression", ""))});
    }
  }
  for (const auto& s : ArrayOr(run_task, "placementStrategy")) {
    request.placement.strategies.push_back({std::string(StringOr(s.as_object(), "type", "")),
                                            std::string(StringOr(s.as_object(), "field", ""))});
  }
  if (request.gang) {
    request.gang_same_attribute = TagValue(tags, kGangSameAttributeTag);
    if (request.gang_same_attribute && request.gang_same_attribute->empty()) {
      request.gang_same_attribute.reset();
    }
  }
  return request;
}

StatusOr<Plan> PlanTasks(scheduler::Placer& cluster, const TaskRequest& request,
                         std::mt19937_64& random) {
  Plan plan;
  std::vector<scheduler::TaskPlacement> placements;
  if (request.gang) {
    StatusOr<scheduler::GangPlacement> gang =
        cluster.PlaceGang(request.placement, request.count, request.gang_same_attribute, random);
    if (!gang.ok()) return gang.status();
    std::optional<scheduler::PlacementFailure> failure = std::move(gang->failure);
    if (!failure) {
      GangRendezvous rendezvous;
      StatusOr<std::optional<scheduler::PlacementFailure>> reserved =
          ReserveRendezvous(cluster, request.placement, gang->ranks, rendezvous);
      if (!reserved.ok() || *reserved) {
        // All or none: the ranks go back, as placed.
        for (const scheduler::TaskPlacement& rank : gang->ranks) {
          (void)cluster.Release(request.placement, rank);
        }
        if (!reserved.ok()) return reserved.status();
        failure = std::move(*reserved);
      } else {
        placements = std::move(gang->ranks);
        plan.gang_attribute_value = std::move(gang->attribute_value);
        plan.gang_rendezvous = std::move(rendezvous);
      }
    }
    if (failure) {
      // All or none: every rank fails for the reason the gang did not fit.
      for (int i = 0; i < request.count; ++i) {
        plan.failures.push_back(
            {failure->reason, "gang " + *request.gang + ": " + failure->detail});
      }
    }
  } else {
    StatusOr<scheduler::PlacementResult> result =
        cluster.PlaceTasks(request.placement, request.count, random);
    if (!result.ok()) return result.status();
    placements = std::move(result->placements);
    plan.failures = std::move(result->failures);
  }
  plan.tasks.reserve(placements.size());
  for (scheduler::TaskPlacement& placement : placements) {
    std::vector<ContainerDevices> containers = AssignContainerDevices(request, placement);
    plan.tasks.push_back({std::move(placement), std::move(containers)});
  }
  return plan;
}

void ReleasePlan(scheduler::Placer& cluster, const TaskRequest& request, const Plan& plan) {
  for (const PlannedTask& task : plan.tasks)
    (void)cluster.Release(request.placement, task.placement);
}

std::vector<ContainerDevices> AssignContainerDevices(const TaskRequest& request,
                                                     const scheduler::TaskPlacement& placement) {
  // The exact ids belong to the containers that map them; the rest form the
  // pools the counted requests draw from.
  auto pool_of = [](const std::vector<int>& ids, const std::set<int>& exact) {
    std::vector<int> pool;
    for (int n : ids) {
      if (!exact.contains(n)) pool.push_back(n);
    }
    return pool;
  };
  std::vector<int> neuron_pool =
      pool_of(placement.neuron_device_ids, request.placement.exact_neuron_devices);
  std::vector<int> efa_pool =
      pool_of(placement.efa_device_ids, request.placement.exact_efa_devices);
  std::vector<int> gpu_pool = placement.gpu_ids;
  std::vector<ContainerDevices> out;
  for (const auto& c : ArrayOr(*request.task_definition, "containerDefinitions")) {
    const json::object& def = c.as_object();
    ContainerDevices& mine = out.emplace_back();
    if (auto* lp = def.if_contains("linuxParameters"); lp != nullptr && lp->is_object()) {
      for (const auto& d : ArrayOr(lp->as_object(), "devices")) {
        std::string_view host_path = StringOr(d.as_object(), "hostPath", "");
        if (auto n = NeuronIndex(host_path)) mine.neuron_device_ids.push_back(*n);
        if (auto n = EfaIndex(host_path)) mine.efa_device_ids.push_back(*n);
      }
    }
    const json::object* override_ = FindOverride(*request.overrides, StringOr(def, "name", ""));
    for (const auto& r : ResourceRequirementsOf(def, override_)) {
      std::string_view type = StringOr(r.as_object(), "type", "");
      std::string_view value = StringOr(r.as_object(), "value", "");
      std::vector<int>* pool = nullptr;
      std::vector<int>* ids = nullptr;
      if (type == "GPU") {
        pool = &gpu_pool, ids = &mine.gpu_ids;
      } else if (type == "NeuronDevice") {
        pool = &neuron_pool, ids = &mine.neuron_device_ids;
      } else if (type == "EFA") {
        pool = &efa_pool, ids = &mine.efa_device_ids;
      } else {
        continue;
      }
      // BuildPlacementRequest checked that the value is ALL or a count.
      size_t n = value == "ALL" ? pool->size()
                                : std::min<size_t>(pool->size(), std::stoul(std::string(value)));
      ids->insert(ids->end(), pool->begin(), pool->begin() + static_cast<long>(n));
      pool->erase(pool->begin(), pool->begin() + static_cast<long>(n));
    }
    std::sort(mine.neuron_device_ids.begin(), mine.neuron_device_ids.end());
    std::sort(mine.efa_device_ids.begin(), mine.efa_device_ids.end());
  }
  return out;
}

}  // namespace berth::planner
