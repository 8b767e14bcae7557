#include "server/api/ecs_records.h"

#include "model/json_util.h"
#include "server/api/ecs_names.h"

namespace berth::server::api {

using model::ArrayOr;
using model::OptInt;
using model::StringOr;

namespace json = boost::json;

namespace {

// An epoch-seconds member in milliseconds, truncated as the handlers
// always compared them.
std::optional<int64_t> Millis(const json::object& record, std::string_view key) {
  auto* v = record.if_contains(key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return static_cast<int64_t>(v->to_number<double>() * 1000);
}

void BumpVersionOf(json::object& record) {
  record["version"] = OptInt(record, "version").value_or(0) + 1;
}

}  // namespace

std::string TaskIdOf(std::string_view ref) { return std::string(ref.substr(ref.rfind('/') + 1)); }

// --- clusters ---

std::string_view ClusterRecord::name() const { return StringOr(*record_, "clusterName", ""); }
std::string_view ClusterRecord::arn() const { return StringOr(*record_, "clusterArn", ""); }
std::string_view ClusterRecord::status() const { return StringOr(*record_, "status", ""); }

void MutableClusterRecord::SetStatus(std::string_view status) { (*mutable_)["status"] = status; }

// --- task definitions ---

const json::object& TaskDefinitionRecord::definition() const {
  static const json::object kEmpty;
  auto* v = record_->if_contains("taskDefinition");
  return v != nullptr && v->is_object() ? v->get_object() : kEmpty;
}

std::string_view TaskDefinitionRecord::family() const {
  return StringOr(definition(), "family", "");
}

int64_t TaskDefinitionRecord::revision() const {
  return OptInt(definition(), "revision").value_or(0);
}

std::string_view TaskDefinitionRecord::arn() const {
  return StringOr(definition(), "taskDefinitionArn", "");
}

std::string_view TaskDefinitionRecord::status() const {
  return StringOr(definition(), "status", "");
}

json::object& MutableTaskDefinitionRecord::MutableDefinition() {
  json::value& v = (*mutable_)["taskDefinition"];
  if (!v.is_object()) v.emplace_object();
  return v.get_object();
}

void MutableTaskDefinitionRecord::SetStatus(std::string_view status) {
  MutableDefinition()["status"] = status;
}

void MutableTaskDefinitionRecord::SetDeregisteredAt(double epoch_seconds) {
  MutableDefinition()["deregisteredAt"] = epoch_seconds;
}

// --- container instances ---

std::string_view InstanceRecord::arn() const {
  return StringOr(*record_, "containerInstanceArn", "");
}

std::string InstanceRecord::id() const { return ContainerInstanceId(arn()); }

std::string_view InstanceRecord::status() const { return StringOr(*record_, "status", ""); }

int64_t InstanceRecord::version() const { return OptInt(*record_, "version").value_or(0); }

std::optional<int64_t> InstanceRecord::pending_tasks_count() const {
  return OptInt(*record_, "pendingTasksCount");
}

std::optional<int64_t> InstanceRecord::running_tasks_count() const {
  return OptInt(*record_, "runningTasksCount");
}

bool InstanceRecord::has_agent() const { return record_->contains(kAgentKey); }

std::string_view InstanceRecord::agent_endpoint() const {
  auto* agent = record_->if_contains(kAgentKey);
  if (agent == nullptr || !agent->is_object()) return "";
  return StringOr(agent->get_object(), "endpoint", "");
}

void MutableInstanceRecord::SetStatus(std::string_view status) { (*mutable_)["status"] = status; }

void MutableInstanceRecord::SetAgentConnected(bool connected) {
  (*mutable_)["agentConnected"] = connected;
}

void MutableInstanceRecord::BumpVersion() { BumpVersionOf(*mutable_); }

void MutableInstanceRecord::SetAgent(std::string_view endpoint, double joined_at_epoch_seconds) {
  (*mutable_)[kAgentKey] =
      json::object{{"endpoint", endpoint}, {"joinedAt", joined_at_epoch_seconds}};
}

// --- tasks ---

std::string_view TaskRecord::arn() const { return StringOr(*record_, "taskArn", ""); }
std::string TaskRecord::id() const { return TaskIdOf(arn()); }
std::string_view TaskRecord::cluster_arn() const { return StringOr(*record_, "clusterArn", ""); }
std::string TaskRecord::cluster_name() const { return ClusterName(cluster_arn()); }

std::string_view TaskRecord::task_definition_arn() const {
  return StringOr(*record_, "taskDefinitionArn", "");
}

std::string_view TaskRecord::instance_arn() const {
  return StringOr(*record_, "containerInstanceArn", "");
}

std::string TaskRecord::instance_id() const { return ContainerInstanceId(instance_arn()); }

std::string_view TaskRecord::last_status() const { return StringOr(*record_, "lastStatus", ""); }

std::string_view TaskRecord::desired_status() const {
  return StringOr(*record_, "desiredStatus", "");
}

std::string_view TaskRecord::stop_code() const { return StringOr(*record_, "stopCode", ""); }
std::string_view TaskRecord::started_by() const { return StringOr(*record_, "startedBy", ""); }
int64_t TaskRecord::version() const { return OptInt(*record_, "version").value_or(0); }

std::optional<int64_t> TaskRecord::created_at_millis() const {
  return Millis(*record_, "createdAt");
}

std::optional<int64_t> TaskRecord::stopped_at_millis() const {
  return Millis(*record_, "stoppedAt");
}

bool TaskRecord::has_started() const { return record_->contains("startedAt"); }

std::string_view TaskRecord::client_token() const {
  return StringOr(*record_, "berthClientToken", "");
}

std::string_view TaskRecord::request_text() const { return StringOr(*record_, "berthRequest", ""); }

const json::array& TaskRecord::containers() const { return ArrayOr(*record_, "containers"); }

bool TaskRecord::has_container(std::string_view name) const {
  for (const auto& c : containers()) {
    if (c.is_object() && StringOr(c.get_object(), "name", "") == name) return true;
  }
  return false;
}

void MutableTaskRecord::SetLastStatus(std::string_view status) {
  (*mutable_)["lastStatus"] = status;
}

void MutableTaskRecord::SetDesiredStatus(std::string_view status) {
  (*mutable_)["desiredStatus"] = status;
}

void MutableTaskRecord::SetStopCode(std::string_view code) { (*mutable_)["stopCode"] = code; }

void MutableTaskRecord::SetStoppedReason(std::string_view reason) {
  (*mutable_)["stoppedReason"] = reason;
}

void MutableTaskRecord::SetStoppedAt(double epoch_seconds) {
  (*mutable_)["stoppedAt"] = epoch_seconds;
}

void MutableTaskRecord::BumpVersion() { BumpVersionOf(*mutable_); }

void MutableTaskRecord::RequestStop(std::string_view reason, double now_epoch_seconds) {
  SetDesiredStatus(kStopped);
  SetStopCode(kUserInitiated);
  SetStoppedReason(reason);
  if (!mutable_->contains("stoppingAt")) (*mutable_)["stoppingAt"] = now_epoch_seconds;
}

void MutableTaskRecord::StopNow(double now_epoch_seconds) {
  SetLastStatus(kStopped);
  SetStoppedAt(now_epoch_seconds);
  (*mutable_)["executionStoppedAt"] = now_epoch_seconds;
  StopContainers();
}

void MutableTaskRecord::StopContainers() {
  auto* containers = mutable_->if_contains("containers");
  if (containers == nullptr || !containers->is_array()) return;
  for (auto& c : containers->get_array()) {
    if (c.is_object()) c.get_object()["lastStatus"] = kStopped;
  }
}

json::object* MutableTaskRecord::FindContainer(std::string_view name) {
  auto* containers = mutable_->if_contains("containers");
  if (containers == nullptr || !containers->is_array()) return nullptr;
  for (auto& c : containers->get_array()) {
    if (c.is_object() && StringOr(c.get_object(), "name", "") == name) return &c.get_object();
  }
  return nullptr;
}

// --- services ---

std::string_view ServiceRecord::name() const { return StringOr(*record_, "serviceName", ""); }
std::string_view ServiceRecord::arn() const { return StringOr(*record_, "serviceArn", ""); }
std::string_view ServiceRecord::status() const { return StringOr(*record_, "status", ""); }

std::string_view ServiceRecord::scheduling_strategy() const {
  return StringOr(*record_, "schedulingStrategy", kReplica);
}

std::string_view ServiceRecord::launch_type() const {
  return StringOr(*record_, "launchType", "EC2");
}

std::string_view ServiceRecord::task_definition() const {
  return StringOr(*record_, "taskDefinition", "");
}

int64_t ServiceRecord::desired_count() const {
  return OptInt(*record_, "desiredCount").value_or(0);
}

std::string ServiceRecord::group() const { return "service:" + std::string(name()); }

const json::array& ServiceRecord::deployments() const { return ArrayOr(*record_, "deployments"); }

bool ServiceRecord::owns_task(std::string_view task_group, std::string_view started_by) const {
  if (task_group == group()) return true;
  if (started_by.empty()) return false;
  for (const auto& d : deployments()) {
    if (d.is_object() && StringOr(d.get_object(), "id", "") == started_by) return true;
  }
  return false;
}

std::string_view ServiceRecord::request_text() const {
  return StringOr(*record_, "berthRequest", "");
}

std::optional<int64_t> ServiceRecord::inactive_at_millis() const {
  if (!is_inactive()) return std::nullopt;
  return Millis(*record_, "berthInactiveAt");
}

void MutableServiceRecord::SetStatus(std::string_view status, double now_epoch_seconds) {
  (*mutable_)["status"] = status;
  if (status == kInactive) (*mutable_)["berthInactiveAt"] = now_epoch_seconds;
}

void MutableServiceRecord::SetDesiredCount(int64_t count, double now_epoch_seconds) {
  (*mutable_)["desiredCount"] = count;
  json::value& deployments = (*mutable_)["deployments"];
  if (!deployments.is_array()) return;
  for (auto& d : deployments.get_array()) {
    if (!d.is_object() || StringOr(d.get_object(), "status", "") != kPrimary) continue;
    d.get_object()["desiredCount"] = count;
    d.get_object()["updatedAt"] = now_epoch_seconds;
  }
}

void MutableServiceRecord::AddPrimaryDeployment(json::object deployment, double now_epoch_seconds) {
  json::value& v = (*mutable_)["deployments"];
  if (!v.is_array()) v.emplace_array();
  json::array& deployments = v.get_array();
  for (auto& d : deployments) {
    if (!d.is_object() || StringOr(d.get_object(), "status", "") != kPrimary) continue;
    d.get_object()["status"] = kActive;
    d.get_object()["updatedAt"] = now_epoch_seconds;
  }
  deployments.insert(deployments.begin(), std::move(deployment));
}

}  // namespace berth::server::api
