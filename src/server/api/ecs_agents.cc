// The ECS state as the agent channel needs it: joining an agent to its
// instance, whether an agent key still resolves, the assignments an agent
// polls for, and where a container's logs are.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <mutex>
#include <shared_mutex>

#include "model/json_util.h"
#include "model/unknown_members.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"
#include "server/api/service_deployments.h"
#include "server/api/task_roles.h"

namespace berth::server::api {

namespace json = boost::json;

bool EcsApi::AgentConnected(const json::object& instance, int64_t now_millis) const {
  const InstanceRecord record(instance);
  if (record.is_inactive()) return false;
  if (!record.has_agent()) return true;
  return agents_.Connected(record.id(), now_millis);
}

const json::object* EcsApi::FindInstanceById(std::string_view id, std::string* cluster) const {
  for (const auto& [name, instances] : instances_) {
    if (auto it = instances.find(id); it != instances.end()) {
      if (cluster != nullptr) *cluster = name;
      return &it->second;
    }
  }
  return nullptr;
}

EcsApi::AgentJoin EcsApi::JoinAgent(std::string_view cluster_ref, std::string_view instance_arn,
                                    std::string_view endpoint, int64_t now_millis) {
  std::unique_lock lock(mu_);
  std::string cluster_name = ActiveClusterName(cluster_ref);
  std::string id = ContainerInstanceId(instance_arn);
  json::object* instance = FindInstance(cluster_name, id);
  if (instance == nullptr) {
    Fail("InvalidParameterException", "Container instance " + std::string(instance_arn) +
                                          " is not registered in cluster " + cluster_name);
  }
  if (InstanceRecord(*instance).is_inactive()) {
    Fail("InvalidParameterException", "Container instance " + std::string(instance_arn) +
                                          " was deregistered; register it again");
  }
  json::object updated = *instance;
  MutableInstanceRecord(updated).SetAgent(endpoint, static_cast<double>(now_millis) / 1000.0);
  EmitEvent(
      now_millis, "InstanceJoined", cluster_name,
      {std::string(StringOr(updated, "containerInstanceArn", ""))},
      "container instance " + id + " joined: its agent serves logs at " + std::string(endpoint));
  uint64_t seq =
      Commit({store::Mutation::Put(InstanceKey(cluster_name, id), json::serialize(updated))});
  *instance = std::move(updated);
  // Joining counts as a heartbeat: the agent polls right after.
  agents_.Heartbeat(id, now_millis);
  // agentConnected now follows the agent's polls.
  InstanceFactsChanged(cluster_name, id, now_millis);
  agents_.Bump(id);
  return {id, seq};
}

bool EcsApi::AgentMayAuthenticate(std::string_view instance_id) const {
  std::shared_lock lock(mu_);
  const json::object* instance = FindInstanceById(instance_id, nullptr);
  return instance != nullptr && InstanceRecord(*instance).served_by_agent();
}

namespace {

// Appends text as a JSON string: names and most values are plain ASCII and
// go as they are; any other is escaped by the serializer.
void AppendString(std::string& out, std::string_view text) {
  bool plain = true;
  for (char c : text) plain &= c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  if (plain) {
    out += '"';
    out += text;
    out += '"';
  } else {
    out += json::serialize(json::string(text));
  }
}

// Appends v as JSON text without the kept sets of unknown members
// (model/unknown_members.h) at any depth: the agent builds containers from
// what berth understands only.
void AppendForAgent(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& member : v.get_object()) {
        if (member.key() == model::kUnknownMembersKey) continue;
        if (!first) out += ',';
        first = false;
        AppendString(out, member.key());
        out += ':';
        AppendForAgent(out, member.value());
      }
      out += '}';
      break;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const json::value& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        AppendForAgent(out, item);
      }
      out += ']';
      break;
    }
    case json::kind::string:
      AppendString(out, v.get_string());
      break;
    default:
      out += json::serialize(v);
  }
}

// A service task runs the image digests its revision resolved: the agent
// pulls what the task definition it is given names.
json::value PinnedImages(const json::object& pins, const json::value& task_definition) {
  json::value pinned = task_definition;
  json::value* definitions =
      pinned.is_object() ? pinned.get_object().if_contains("containerDefinitions") : nullptr;
  if (definitions == nullptr || !definitions->is_array()) return pinned;
  for (auto& d : definitions->get_array()) {
    if (!d.is_object()) continue;
    const json::value* pin = pins.if_contains(StringOr(d.get_object(), "name", ""));
    if (pin != nullptr && pin->is_string()) d.get_object()["image"] = *pin;
  }
  return pinned;
}

}  // namespace

std::optional<EcsApi::AgentAnswer> EcsApi::AgentAnswerFor(std::string_view instance_id,
                                                          const AgentTaskMarks* known,
                                                          AgentTaskMarks* sent) const {
  std::shared_lock lock(mu_);
  std::string cluster;
  const json::object* instance = FindInstanceById(instance_id, &cluster);
  if (instance == nullptr || InstanceRecord(*instance).is_inactive()) return std::nullopt;
  AgentAnswer answer;
  // Read under the lock every Bump happens under, so the version matches
  // the tasks listed with it.
  answer.version = agents_.Version(instance_id);
  // Written out here rather than built as JSON values: a task's view is
  // its record (a few KiB) less what agents are not shown, and thousands
  // of agents are answered for every few thousand tasks placed.
  std::string& out = answer.body;
  std::string unchanged;
  out = "{\"version\":";
  AppendString(out, answer.version);
  out += ",\"tasks\":[";
  bool first = true;
  // Without a roles file no task names a role (RunTask refuses it).
  const bool roles_file = task_roles_ != nullptr && !task_roles_->path().empty();
  static const std::map<std::string, InstanceTasks::Held, std::less<>> kNoTasks;
  const std::map<std::string, InstanceTasks::Held, std::less<>>* on = &kNoTasks;
  if (auto a = instance_tasks_.find(cluster); a != instance_tasks_.end()) {
    if (auto it = a->second.find(instance_id); it != a->second.end()) on = &it->second.tasks;
  }
  // Most tasks of a busy node are unchanged since its last answer: those
  // cost what AccountTasks keeps of them (InstanceTasks::Held), not a look
  // into their records.
  for (const auto& [task_id, held] : *on) {
    const json::object* task = held.record;
    const TaskRecord record(*task);
    bool unchanged_since_known = false;
    if (known != nullptr) {
      auto it = known->find(task_id);
      unchanged_since_known = it != known->end() && it->second == held.agent_mark;
    }
    if (sent != nullptr) sent->emplace(task_id, held.agent_mark);
    if (unchanged_since_known) {
      if (!unchanged.empty()) unchanged += ',';
      AppendString(unchanged, held.arn);
      if (!roles_file) continue;
    }
    const json::value* task_definition = nullptr;
    TaskDefinitionRef ref = ParseTaskDefinitionRef(record.task_definition_arn());
    if (auto f = task_definitions_.find(ref.family); f != task_definitions_.end() && ref.revision) {
      if (auto r = f->second.find(*ref.revision); r != f->second.end()) {
        task_definition = r->second.if_contains("taskDefinition");
      }
    }
    // Every answer names the roles of every task, changed or not: the
    // channel issues their credentials afresh.
    if (roles_file && task_definition != nullptr && task_definition->is_object()) {
      const json::object* overrides = model::ObjectAt(*task, "overrides");
      AgentTaskRoles roles{
          std::string(record.arn()),
          EffectiveRoleArn(task_definition->get_object(), overrides, "taskRoleArn"),
          EffectiveRoleArn(task_definition->get_object(), overrides, "executionRoleArn")};
      if (!roles.task_role_arn.empty() || !roles.execution_role_arn.empty()) {
        answer.roles.push_back(std::move(roles));
      }
    }
    if (unchanged_since_known) continue;
    if (!first) out += ',';
    first = false;
    // TaskView(task, /*tags=*/true), and the whole task definition.
    out += '{';
    bool first_member = true;
    for (const auto& member : *task) {
      std::string_view key = member.key();
      if (HiddenFromTaskView(key, true) || key == model::kUnknownMembersKey ||
          key == "taskDefinition") {
        continue;
      }
      if (!first_member) out += ',';
      first_member = false;
      AppendString(out, key);
      out += ':';
      AppendForAgent(out, member.value());
    }
    if (task_definition != nullptr) {
      if (!first_member) out += ',';
      out += "\"taskDefinition\":";
      if (const json::object* pins = model::ObjectAt(*task, kPinnedImagesKey)) {
        AppendForAgent(out, PinnedImages(*pins, *task_definition));
      } else {
        AppendForAgent(out, *task_definition);
      }
    }
    out += '}';
  }
  out += ']';
  if (known != nullptr) {
    out += ",\"unchangedTaskArns\":[";
    out += unchanged;
    out += ']';
  }
  out += '}';
  return answer;
}

std::optional<json::object> EcsApi::AgentAssignments(std::string_view instance_id,
                                                     const AgentTaskMarks* known,
                                                     AgentTaskMarks* sent) const {
  std::optional<AgentAnswer> answer = AgentAnswerFor(instance_id, known, sent);
  if (!answer) return std::nullopt;
  return std::move(json::parse(answer->body).as_object());
}

EcsApi::LogSource EcsApi::FindLogSource(std::string_view cluster_ref, std::string_view task_ref,
                                        std::string_view container) const {
  std::shared_lock lock(mu_);
  std::string cluster_name = ClusterName(cluster_ref.empty() ? "default" : cluster_ref);
  auto cluster = clusters_.find(cluster_name);
  if (cluster == clusters_.end() || !ClusterRecord(cluster->second).is_active()) {
    Fail("ClusterNotFoundException", "Cluster not found: " + cluster_name);
  }
  std::string task_id = TaskIdOf(task_ref);
  auto c = tasks_.find(cluster_name);
  if (task_id.empty() || c == tasks_.end() || !c->second.contains(task_id)) {
    Fail("InvalidParameterException", "The referenced task was not found in cluster " +
                                          cluster_name + ": " + std::string(task_ref));
  }
  const TaskRecord task(c->second.at(task_id));
  bool known = false;
  std::string names, container_status;
  for (const auto& k : task.containers()) {
    std::string_view name = StringOr(k.as_object(), "name", "");
    if (name == container) {
      known = true;
      container_status = StringOr(k.as_object(), "lastStatus", "");
    }
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  if (!known && !container.empty()) {
    Fail("InvalidParameterException", "task " + task_id + " has no container named '" +
                                          std::string(container) + "' (it has: " + names + ")");
  }
  std::string instance_id = task.instance_id();
  const json::object* instance = FindInstance(cluster_name, instance_id);
  if (instance_id.empty()) {
    Fail("InvalidParameterException", "task " + task_id + " is not placed on an instance yet");
  }
  if (instance == nullptr || !InstanceRecord(*instance).has_agent()) {
    Fail("InvalidParameterException", "task " + task_id + " runs on container instance " +
                                          instance_id + ", which has no berth agent to ask");
  }
  std::string endpoint(InstanceRecord(*instance).agent_endpoint());
  return {task_id, instance_id, endpoint, std::string(task.last_status()), container_status};
}

}  // namespace berth::server::api
