// SubmitTaskStateChange and SubmitContainerStateChange: what node agents
// report about the tasks they run. The rules are in task_state_rules.h;
// this file finds the task, checks the caller and makes the change durable
// before the agent is acknowledged.
#include <boost/json/serialize.hpp>

#include "model/json_util.h"
#include "server/api/agent_credentials.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
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

json::object* FindContainer(json::object& task, std::string_view name) {
  for (auto& c : task["containers"].as_array()) {
    if (StringOr(c.as_object(), "name", "") == name) return &c.as_object();
  }
  return nullptr;
}

}  // namespace

json::object& EcsApi::ReportedTask(const json::object& in, const CallContext& ctx,
                                   std::string& cluster_name, std::string& task_id) {
  const json::object& cluster = ActiveCluster(StringOr(in, "cluster", ""));
  cluster_name = std::string(AsString(cluster.at("clusterName")));
  std::string_view ref = StringOr(in, "task", "");
  task_id = std::string(ref.substr(ref.rfind('/') + 1));
  auto c = tasks_.find(cluster_name);
  if (task_id.empty() || c == tasks_.end() || !c->second.contains(task_id)) {
    Fail("InvalidParameterException", "The referenced task was not found in cluster " +
                                          cluster_name + ": '" + std::string(ref) + "'");
  }
  json::object& task = c->second.at(task_id);
  if (auto caller = InstanceOfAgentKey(ctx.access_key_id)) {
    std::string on = ContainerInstanceId(StringOr(task, "containerInstanceArn", ""));
    if (on != *caller) {
      Fail("AccessDeniedException", "task " + task_id + " runs on container instance " + on +
                                        ", not on the caller's instance " + *caller);
    }
  }
  return task;
}

uint64_t EcsApi::CommitTaskChange(std::string_view cluster, std::string_view task_id) {
  json::object& task = tasks_.at(std::string(cluster)).at(std::string(task_id));
  task["version"] = OptInt(task, "version").value_or(0) + 1;
  std::string instance_id = ContainerInstanceId(StringOr(task, "containerInstanceArn", ""));
  store::Batch batch;
  batch.push_back(store::Mutation::Put(TaskKey(cluster, task_id), json::serialize(task)));
  // Counts move with RUNNING, resources come back with STOPPED.
  AccountTasks(cluster, instance_id, {std::string(task_id)});
  uint64_t seq = Commit(std::move(batch));
  agents_.Bump(instance_id);
  return seq;
}

Reply EcsApi::SubmitTaskStateChange(json::object& in, const CallContext& ctx) {
  std::string cluster, task_id;
  json::object& task = ReportedTask(in, ctx, cluster, task_id);
  CheckStatus(StringOr(in, "status", ""), "status");
  // Everything is checked before anything changes.
  const json::array& reports = ArrayOr(in, "containers");
  for (const auto& r : reports) {
    std::string_view name = StringOr(r.as_object(), "containerName", "");
    if (FindContainer(task, name) == nullptr) {
      Fail("InvalidParameterException",
           "containers: task " + task_id + " has no container named '" + std::string(name) + "'");
    }
    CheckStatus(StringOr(r.as_object(), "status", ""), "containers[].status");
  }

  json::object updated = task;
  for (const auto& r : reports) {
    ApplyContainerReport(*FindContainer(updated, StringOr(r.as_object(), "containerName", "")),
                         r.as_object());
  }
  ApplyTaskReport(updated, in, static_cast<double>(ctx.now_millis) / 1000.0);
  if (updated == task) return {kAck};  // a repeat or an older report
  task = std::move(updated);
  return {kAck, CommitTaskChange(cluster, task_id)};
}

Reply EcsApi::SubmitContainerStateChange(json::object& in, const CallContext& ctx) {
  std::string cluster, task_id;
  json::object& task = ReportedTask(in, ctx, cluster, task_id);
  std::string_view name = StringOr(in, "containerName", "");
  if (FindContainer(task, name) == nullptr) {
    Fail("InvalidParameterException",
         "containerName: task " + task_id + " has no container named '" + std::string(name) + "'");
  }
  CheckStatus(StringOr(in, "status", ""), "status");
  json::object updated = task;
  ApplyContainerReport(*FindContainer(updated, name), in);
  if (updated == task) return {kAck};
  task = std::move(updated);
  return {kAck, CommitTaskChange(cluster, task_id)};
}

}  // namespace berth::server::api
