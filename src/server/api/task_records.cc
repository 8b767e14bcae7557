#include "server/api/task_records.h"

#include <boost/json/array.hpp>

#include "model/json_util.h"
#include "model/unknown_members.h"
#include "planner/gang_environment.h"
#include "planner/task_placement.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"
#include "server/api/service_deployments.h"

namespace berth::server::api {

using model::ArrayOr;
using model::AsString;
using model::OptInt;
using model::OptString;
using model::StringOr;

namespace json = boost::json;

namespace {

json::array IdArray(const std::vector<int>& ids) {
  json::array out;
  for (int id : ids) out.push_back(json::string(std::to_string(id)));
  return out;
}

// planned: nullptr for a queued task (no devices yet).
json::array Containers(const TaskRecordInput& input, const planner::PlannedTask* planned,
                       std::string_view cluster_name, std::string_view task_id,
                       std::string_view task_arn) {
  const json::object& td = TaskDefinitionRecord(input.task_definition_record).definition();
  const json::array& definitions = ArrayOr(td, "containerDefinitions");
  json::array containers;
  static const planner::ContainerDevices kNone;
  for (size_t i = 0; i < definitions.size(); ++i) {
    const json::object& def = definitions[i].as_object();
    const planner::ContainerDevices& devices = planned ? planned->containers[i] : kNone;
    std::string container_id = NewUuid();
    std::erase(container_id, '-');
    json::object container{
        {"containerArn", MakeArn(input.scope, "ecs",
                                 "container/" + std::string(cluster_name) + "/" +
                                     std::string(task_id) + "/" + container_id)},
        {"taskArn", task_arn},
        {"name", StringOr(def, "name", "")},
        {"image", StringOr(def, "image", "")},
        {"lastStatus", kPending},
        {"networkInterfaces", json::array()},
        {"networkBindings", json::array()},
        {"gpuIds", IdArray(devices.gpu_ids)},
        {"neuronDeviceIds", IdArray(devices.neuron_device_ids)},
        {"efaDeviceIds", IdArray(devices.efa_device_ids)},
    };
    if (auto cpu = OptInt(def, "cpu")) container["cpu"] = std::to_string(*cpu);
    if (auto mem = OptInt(def, "memory")) container["memory"] = std::to_string(*mem);
    if (auto mem = OptInt(def, "memoryReservation")) {
      container["memoryReservation"] = std::to_string(*mem);
    }
    containers.push_back(std::move(container));
  }
  return containers;
}

}  // namespace

namespace {

// The members every task record has; plan and instance are nullptr for a
// queued task.
std::pair<std::string, json::object> TaskRecordOf(const TaskRecordInput& input,
                                                  const planner::Plan* plan, size_t rank,
                                                  const json::object* instance) {
  const planner::PlannedTask* planned = plan != nullptr ? &plan->tasks[rank] : nullptr;
  const planner::TaskRequest& request = input.request;
  const TaskDefinitionRecord td(input.task_definition_record);
  const json::object& in = input.run_task;
  const std::string& cluster_name = input.cluster_name;
  std::string id =
      rank < input.task_ids.size() ? input.task_ids[rank] : NewTimeOrderedId(input.now_millis);
  std::string task_arn = MakeArn(input.scope, "ecs", "task/" + cluster_name + "/" + id);

  json::array tags;
  if (StringOr(in, "propagateTags", "NONE") == "TASK_DEFINITION") {
    tags = ArrayOr(input.task_definition_record, "tags");
  }
  MergeTags(tags, ArrayOr(in, "tags"));
  if (request.gang) {
    MergeTags(tags, json::array{json::object{{"key", planner::kGangRankTag},
                                             {"value", std::to_string(rank)}}});
  }
  json::object overrides = in.contains("overrides")
                               ? *request.overrides
                               : json::object{{"containerOverrides", json::array()}};
  if (request.gang && plan != nullptr && plan->gang_rendezvous) {
    // Underneath what the definition and the request set: shown as overrides,
    // which is how the agent gives them to the containers.
    planner::AddDefaultEnvironment(overrides, td.definition(),
                                   planner::GangEnvironment({*request.gang, static_cast<int>(rank),
                                                             request.count, request.gang_attempt},
                                                            *plan->gang_rendezvous));
  }
  json::object task{
      {"taskArn", task_arn},
      {"clusterArn", input.cluster_arn},
      {"taskDefinitionArn", td.arn()},
      {"overrides", std::move(overrides)},
      {"lastStatus", planned ? kPending : kProvisioning},
      {"desiredStatus", kRunning},
      {"cpu", std::to_string(request.placement.cpu)},
      {"memory", std::to_string(request.placement.memory_mib)},
      {"containers", Containers(input, planned, cluster_name, id, task_arn)},
      {"group", request.placement.group},
      {"createdAt", static_cast<double>(input.now_millis) / 1000.0},
      {"version", 1},
      {"tags", std::move(tags)},
      {"launchType", "EC2"},
      {"attachments", json::array()},
  };
  if (instance != nullptr) {
    task["containerInstanceArn"] = InstanceRecord(*instance).arn();
    for (const auto& a : ArrayOr(*instance, "attributes")) {
      if (StringOr(a.as_object(), "name", "") == "ecs.availability-zone") {
        task["availabilityZone"] = StringOr(a.as_object(), "value", "");
      }
    }
  }
  if (auto s = OptString(in, "startedBy")) task["startedBy"] = *s;
  if (request.gang) {
    json::object gang{{"name", *request.gang},
                      {"rank", static_cast<int64_t>(rank)},
                      {"size", static_cast<int64_t>(request.count)},
                      {"attempt", static_cast<int64_t>(request.gang_attempt)}};
    if (plan != nullptr && !plan->gang_attribute_value.empty()) {
      gang["attributeValue"] = plan->gang_attribute_value;
    }
    if (plan != nullptr && plan->gang_rendezvous) {
      // What berth reserved on rank 0's instance, whatever the environment
      // ended up with.
      gang["masterPort"] = plan->gang_rendezvous->master_port;
      gang["neuronCommPort"] = plan->gang_rendezvous->neuron_comm_port;
    }
    task["berthGang"] = std::move(gang);
  }
  if (planned != nullptr) {
    task[planner::kReservationKey] =
        planner::ReservationRecord(request.placement, planned->placement);
  }
  // A newer RunTask's members, shown on the task it made.
  model::CarryUnknownMembers(in, task);
  if (const json::object* pins = model::ObjectAt(in, kPinnedImagesKey)) {
    task[kPinnedImagesKey] = *pins;
  }
  if (!input.client_token.empty()) {
    task["berthClientToken"] = input.client_token;
    task["berthRequest"] = input.request_text;
  }
  return {std::move(id), std::move(task)};
}

}  // namespace

std::pair<std::string, json::object> NewTaskRecord(const TaskRecordInput& input,
                                                   const planner::Plan& plan, size_t rank,
                                                   const json::object& instance) {
  return TaskRecordOf(input, &plan, rank, &instance);
}

std::pair<std::string, json::object> NewQueuedTaskRecord(const TaskRecordInput& input,
                                                         size_t rank) {
  return TaskRecordOf(input, nullptr, rank, nullptr);
}

}  // namespace berth::server::api
