// SubmitTaskStateChange and SubmitContainerStateChange: what node agents
// report about the tasks they run. The rules are in task_state_rules.h;
// this file finds the task, checks the caller and makes the change durable
// before the agent is acknowledged.
#include <boost/json/serialize.hpp>
#include <tuple>

#include "model/json_util.h"
#include "server/api/agent_credentials.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"
#include "server/api/task_state_rules.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

const json::object kAck{{"acknowledgment", "ACK"}};

void CheckStatus(std::string_view status, std::string_view what) {
  if (!IsKnownTaskStatus(status)) {
    Fail("InvalidParameterException",
         std::string(what) + ": unknown status '" + std::string(status) + "'");
  }
}

// healthStatus (berth's agents report it with the state changes): absent
// or one of ECS's HealthStatus values.
void CheckHealth(const json::object& report, std::string_view what) {
  auto* v = report.if_contains("healthStatus");
  if (v == nullptr) return;
  std::string_view health = v->is_string() ? std::string_view(v->get_string()) : "";
  if (health != "HEALTHY" && health != "UNHEALTHY" && health != "UNKNOWN") {
    Fail("InvalidParameterException",
         std::string(what) + ": healthStatus must be HEALTHY, UNHEALTHY or UNKNOWN");
  }
}

}  // namespace

json::object& EcsApi::ReportedTask(const json::object& in, const CallContext& ctx,
                                   std::string& cluster_name, std::string& task_id) {
  cluster_name = ActiveClusterName(StringOr(in, "cluster", ""));
  std::string_view ref = StringOr(in, "task", "");
  task_id = TaskIdOf(ref);
  auto c = tasks_.find(cluster_name);
  if (task_id.empty() || c == tasks_.end() || !c->second.contains(task_id)) {
    Fail("InvalidParameterException", "The referenced task was not found in cluster " +
                                          cluster_name + ": '" + std::string(ref) + "'");
  }
  json::object& task = c->second.at(task_id);
  if (auto caller = InstanceOfAgentKey(ctx.access_key_id)) {
    std::string on = TaskRecord(task).instance_id();
    if (on != *caller) {
      Fail("AccessDeniedException", "task " + task_id + " runs on container instance " + on +
                                        ", not on the caller's instance " + *caller);
    }
  }
  return task;
}

uint64_t EcsApi::CommitTaskChange(std::string_view cluster, std::string_view task_id,
                                  const CallContext& ctx) {
  json::object& task = tasks_.at(std::string(cluster)).at(std::string(task_id));
  MutableTaskRecord(task).BumpVersion();
  std::string instance_id = TaskRecord(task).instance_id();
  store::Batch batch;
  batch.push_back(store::Mutation::Put(TaskKey(cluster, task_id), json::serialize(task)));
  // Counts move with RUNNING, resources come back with STOPPED.
  AccountTasks(cluster, instance_id, {std::string(task_id)});
  uint64_t seq = Commit(std::move(batch));
  if (InstanceOfAgentKey(ctx.access_key_id) != instance_id) agents_.Bump(instance_id);
  return seq;
}

Reply EcsApi::SubmitTaskStateChange(json::object& in, const CallContext& ctx) {
  std::string cluster, task_id;
  json::object& task = ReportedTask(in, ctx, cluster, task_id);
  CheckStatus(StringOr(in, "status", ""), "status");
  CheckHealth(in, "healthStatus");
  // Everything is checked before anything changes.
  const json::array& reports = ArrayOr(in, "containers");
  for (const auto& r : reports) {
    std::string_view name = StringOr(r.as_object(), "containerName", "");
    if (!TaskRecord(task).has_container(name)) {
      Fail("InvalidParameterException",
           "containers: task " + task_id + " has no container named '" + std::string(name) + "'");
    }
    CheckStatus(StringOr(r.as_object(), "status", ""), "containers[].status");
    CheckHealth(r.as_object(), "containers[]");
  }

  json::object updated = task;
  for (const auto& r : reports) {
    ApplyContainerReport(
        *MutableTaskRecord(updated).FindContainer(StringOr(r.as_object(), "containerName", "")),
        r.as_object());
  }
  ApplyTaskReport(updated, in, static_cast<double>(ctx.now_millis) / 1000.0);
  if (updated == task) return {kAck};  // a repeat or an older report
  // The image pull's steps (RUNNING and STOPPED are AccountTasks' events),
  // at the times the agent reports: berth's agent reports the pull with its
  // RUNNING or STOPPED report, so these come just before that event.
  for (auto [field, kind, what] : {std::tuple{"pullStartedAt", "TaskPulling", "pulling images"},
                                   std::tuple{"pullStoppedAt", "TaskPulled", "images pulled"}}) {
    const json::value* at = updated.if_contains(field);
    if (at != nullptr && at->is_number() && !task.contains(field)) {
      const TaskRecord record(updated);
      EmitEvent(static_cast<int64_t>(at->to_number<double>() * 1000.0 + 0.5), kind, cluster,
                {std::string(record.arn())},
                "task " + task_id + " " + what + " on " + record.instance_id());
    }
  }
  task = std::move(updated);
  return {kAck, CommitTaskChange(cluster, task_id, ctx)};
}

Reply EcsApi::SubmitContainerStateChange(json::object& in, const CallContext& ctx) {
  std::string cluster, task_id;
  json::object& task = ReportedTask(in, ctx, cluster, task_id);
  std::string_view name = StringOr(in, "containerName", "");
  if (!TaskRecord(task).has_container(name)) {
    Fail("InvalidParameterException",
         "containerName: task " + task_id + " has no container named '" + std::string(name) + "'");
  }
  CheckStatus(StringOr(in, "status", ""), "status");
  CheckHealth(in, "healthStatus");
  json::object updated = task;
  ApplyContainerReport(*MutableTaskRecord(updated).FindContainer(name), in);
  if (updated == task) return {kAck};
  task = std::move(updated);
  return {kAck, CommitTaskChange(cluster, task_id, ctx)};
}

}  // namespace berth::server::api
