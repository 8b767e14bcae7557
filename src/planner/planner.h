// The task planner: from a parsed request to place tasks of one task
// definition and a view of the cluster, to a Plan (which instance each task
// goes to, its host ports and device ids, which container gets which device,
// and why the tasks that do not fit do not). RunTask and StartTask plan
// through it, and so will the service and gang controllers.
//
// Nomad's shape: the planner decides, the caller commits. The view of the
// cluster is a scheduler::Placer: the cluster's long-lived one (what is
// planned stays reserved there until the caller commits or releases it) or
// one built over a snapshot of a few instances. Pure: no store, no locks, no
// clock; the caller holds whatever keeps the task definition and the Placer
// alive and unchanged while it plans.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/status.h"
#include "planner/gang_environment.h"
#include "scheduler/placement.h"

namespace berth::planner {

// A request to place `count` tasks of one task definition (RunTask's
// members, already shape-validated).
struct TaskRequest {
  const boost::json::object* task_definition = nullptr;  // not owned
  const boost::json::object* overrides = nullptr;        // RunTask `overrides`; not owned
  scheduler::PlacementRequest placement;                 // what one task reserves, and where
  int count = 1;
  // berth:gang: all `count` tasks on distinct instances, or none.
  std::optional<std::string> gang;
  // berth:gang-same-attribute: every rank on instances sharing its value.
  std::optional<std::string> gang_same_attribute;
  // Which placement of the gang this is (BERTH_GANG_ATTEMPT): 0 for RunTask;
  // a controller that places a gang again counts up.
  int gang_attempt = 0;
};

// RunTask's `tags` members that make a gang.
inline constexpr std::string_view kGangTag = "berth:gang";
inline constexpr std::string_view kGangSameAttributeTag = "berth:gang-same-attribute";
inline constexpr std::string_view kGangRankTag = "berth:gang-rank";

// The value of the tag with this key among RunTask-style tags
// ([{"key", "value"}]); nullopt when there is none.
std::optional<std::string> TagValue(const boost::json::array& tags, std::string_view key);

// Parses a RunTask request (`run_task`: its members; `task_definition`: the
// definition it names) into a TaskRequest: count, overrides, placement
// constraints (the definition's and the request's), strategies, group
// (default "family:<family>") and the gang tags. Both objects must outlive
// the result. InvalidArgument for a count out of range (1-10, 1-1000 for a
// gang) or overrides the definition cannot take.
StatusOr<TaskRequest> ParseTaskRequest(const boost::json::object& run_task,
                                       const boost::json::object& task_definition);

// The devices one container of a task is given.
struct ContainerDevices {
  std::vector<int> neuron_device_ids;  // ascending
  std::vector<int> gpu_ids;
  std::vector<int> efa_device_ids;  // ascending
};

struct PlannedTask {
  scheduler::TaskPlacement placement;        // instance, host ports, all device ids
  std::vector<ContainerDevices> containers;  // by containerDefinitions index
};

struct Plan {
  std::vector<PlannedTask> tasks;  // placement order; a gang's rank r is tasks[r]
  std::vector<scheduler::PlacementFailure> failures;  // one per task not placed
  std::string gang_attribute_value;  // the value the ranks share (gang_same_attribute)
  // A placed gang's rendezvous (gang_environment.h); its ports are host
  // ports of rank 0's placement.
  std::optional<GangRendezvous> gang_rendezvous;
};

// Plans request on cluster. The planned tasks stay reserved in cluster; give
// them back with ReleasePlan when the plan is not committed. A gang is placed
// all or none, with its rendezvous ports on rank 0's instance: when that
// instance has none free, every rank fails with RESOURCE:PORTS.
// InvalidArgument for a request the engine refuses (a malformed constraint
// or strategy).
StatusOr<Plan> PlanTasks(scheduler::Placer& cluster, const TaskRequest& request,
                         std::mt19937_64& random);

// Gives back to cluster what PlanTasks reserved there for plan.
void ReleasePlan(scheduler::Placer& cluster, const TaskRequest& request, const Plan& plan);

// Which container of a task gets which of its device ids: the ids a
// container maps with linuxParameters.devices go to that container; the
// counted ones (resourceRequirements, overrides first) are dealt out in
// container order. By containerDefinitions index.
std::vector<ContainerDevices> AssignContainerDevices(const TaskRequest& request,
                                                     const scheduler::TaskPlacement& placement);

}  // namespace berth::planner
