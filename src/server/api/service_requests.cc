#include "server/api/service_requests.h"

#include <limits>

#include "awsjson/endpoint.h"
#include "model/json_util.h"
#include "model/unknown_members.h"
#include "planner/planner.h"
#include "scheduler/placement_request.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {

using awsjson::Fail;
using model::ArrayOr;
using model::OptInt;
using model::OptString;
using model::StringOr;

namespace json = boost::json;

namespace {

constexpr const char* kInvalid = "InvalidParameterException";

[[noreturn]] void Refuse(const std::string& message) { Fail(kInvalid, message); }

}  // namespace

void ValidateServiceName(std::string_view name) {
  if (!IsValidName(name)) {
    std::string shown(name.substr(0, 64));
    if (name.size() > 64) shown += "...";
    Refuse("serviceName must be 1-255 letters, numbers, hyphens and underscores (" +
           std::to_string(name.size()) + " characters given): '" + shown + "'");
  }
}

void ValidateLaunchOptions(const json::object& in) {
  if (StringOr(in, "launchType", "EC2") != "EC2") {
    Refuse("launchType: berth runs services on EC2 instances only");
  }
  if (!ArrayOr(in, "capacityProviderStrategy").empty()) {
    Refuse("capacityProviderStrategy is not supported by berth");
  }
  if (in.contains("platformVersion")) {
    Refuse("The platform version must be null when specifying an EC2 launch type.");
  }
  if (auto* c = in.if_contains("deploymentController"); c != nullptr && c->is_object()) {
    if (StringOr(c->get_object(), "type", "ECS") != "ECS") {
      Refuse("deploymentController: berth supports the ECS (rolling update) controller only");
    }
  }
}

void ValidateDesiredCount(std::optional<int64_t> count, std::string_view strategy, bool required) {
  if (strategy == kDaemon) {
    if (count && *count != 0) {
      Refuse("desiredCount: a DAEMON service runs one task on each instance; leave it out");
    }
    return;
  }
  if (!count) {
    if (required) Refuse("desiredCount is required for a REPLICA service");
    return;
  }
  if (*count < 0 || *count > kMaxDesiredCount) {
    Refuse("desiredCount must be between 0 and " + std::to_string(kMaxDesiredCount) + ", got " +
           std::to_string(*count));
  }
}

json::object DeploymentConfigurationOf(const json::object* given, const json::object* current,
                                       std::string_view strategy) {
  json::object config;
  if (current != nullptr) {
    config = *current;
  } else {
    const bool daemon = strategy == kDaemon;
    config["maximumPercent"] = daemon ? 100 : 200;
    config["minimumHealthyPercent"] = daemon ? 0 : 100;
    config["deploymentCircuitBreaker"] = json::object{{"enable", false}, {"rollback", false}};
  }
  if (given != nullptr) {
    for (const auto& [key, value] : *given) config[key] = value;
  }
  // Members ECS added with blue/green, linear and canary deployments and
  // CloudWatch alarms: berth rolls, and watches no alarms.
  if (StringOr(config, "strategy", "ROLLING") != "ROLLING") {
    Refuse("deploymentConfiguration.strategy: berth runs ROLLING deployments only, not " +
           std::string(StringOr(config, "strategy", "")));
  }
  if (!ArrayOr(config, "lifecycleHooks").empty()) {
    Refuse("deploymentConfiguration.lifecycleHooks: a ROLLING deployment has no lifecycle hooks");
  }
  if (const json::object* alarms = model::ObjectAt(config, "alarms");
      alarms != nullptr && model::BoolOr(*alarms, "enable", false)) {
    Refuse(
        "deploymentConfiguration.alarms: berth watches no CloudWatch alarms; use the "
        "deploymentCircuitBreaker");
  }
  const int64_t max = OptInt(config, "maximumPercent").value_or(200);
  const int64_t min = OptInt(config, "minimumHealthyPercent").value_or(100);
  if (min < 0 || min > 100) {
    Refuse("deploymentConfiguration.minimumHealthyPercent must be between 0 and 100, got " +
           std::to_string(min));
  }
  if (strategy == kDaemon && max != 100) {
    Refuse("deploymentConfiguration.maximumPercent must be 100 for a DAEMON service, got " +
           std::to_string(max));
  }
  if (max < 100) {
    Refuse("deploymentConfiguration.maximumPercent must be at least 100, got " +
           std::to_string(max));
  }
  return config;
}

void ValidateServicePlacement(const json::array& constraints, const json::array& strategies,
                              const json::object& task_definition,
                              std::string_view scheduling_strategy, std::string_view group) {
  const size_t from_definition = ArrayOr(task_definition, "placementConstraints").size();
  if (constraints.size() + from_definition > kMaxPlacementConstraints) {
    Refuse("placementConstraints: at most " + std::to_string(kMaxPlacementConstraints) +
           " per task, the task definition's included (" + std::to_string(constraints.size()) +
           " given, " + std::to_string(from_definition) + " in the task definition)");
  }
  if (scheduling_strategy == kDaemon && !strategies.empty()) {
    Refuse("Placement strategies are not supported with a DAEMON scheduling strategy.");
  }
  if (strategies.size() > kMaxPlacementStrategies) {
    Refuse("placementStrategy: at most " + std::to_string(kMaxPlacementStrategies) +
           " strategies, got " + std::to_string(strategies.size()));
  }
  // The same parse and compile RunTask's placement goes through, so a
  // service is refused for exactly what would make its tasks unplaceable.
  json::object as_run{
      {"placementConstraints", constraints}, {"placementStrategy", strategies}, {"group", group}};
  StatusOr<planner::TaskRequest> request = planner::ParseTaskRequest(as_run, task_definition);
  if (!request.ok()) Refuse(request.status().message());
  StatusOr<scheduler::CompiledRequest> compiled = scheduler::CompileRequest(request->placement);
  if (!compiled.ok()) Refuse(compiled.status().message());
}

void ValidateNetworkConfiguration(const json::object& in, const json::object& task_definition) {
  if (!in.contains("networkConfiguration")) return;
  if (StringOr(task_definition, "networkMode", "bridge") != "awsvpc") {
    Refuse("Network Configuration is not valid for the given networkMode of this task definition.");
  }
}

void ValidateGracePeriod(const json::object& in) {
  std::optional<int64_t> grace = OptInt(in, "healthCheckGracePeriodSeconds");
  if (grace && (*grace < 0 || *grace > std::numeric_limits<int32_t>::max())) {
    Refuse("healthCheckGracePeriodSeconds must be between 0 and 2147483647, got " +
           std::to_string(*grace));
  }
}

std::string NewDeploymentId(std::mt19937_64& random) {
  std::uniform_int_distribution<int> digit(0, 9);
  std::string id = "ecs-svc/";
  id += static_cast<char>('1' + digit(random) % 9);  // no leading zero
  for (int i = 1; i < 19; ++i) id += static_cast<char>('0' + digit(random));
  return id;
}

json::object NewDeployment(std::string id, std::string_view task_definition_arn,
                           int64_t desired_count, const json::object& from,
                           double now_epoch_seconds) {
  json::object d;
  d["id"] = id;
  d["status"] = kPrimary;
  d["taskDefinition"] = task_definition_arn;
  d["desiredCount"] = desired_count;
  d["pendingCount"] = 0;
  d["runningCount"] = 0;
  d["failedTasks"] = 0;
  d["createdAt"] = now_epoch_seconds;
  d["updatedAt"] = now_epoch_seconds;
  d["launchType"] = "EC2";
  for (std::string_view key : kDeploymentMembers) {
    if (auto* v = from.if_contains(key)) d[key] = *v;
  }
  d["rolloutState"] = "IN_PROGRESS";
  d["rolloutStateReason"] = "ECS deployment " + id + " in progress.";
  return d;
}

json::object NewServiceRecord(const ServiceInput& input) {
  const json::object& in = *input.request;
  const std::string_view strategy = StringOr(in, "schedulingStrategy", kReplica);
  const std::string name(StringOr(in, "serviceName", ""));
  const int64_t desired = OptInt(in, "desiredCount").value_or(0);
  const json::object* given_config = nullptr;
  if (auto* c = in.if_contains("deploymentConfiguration"); c != nullptr && c->is_object()) {
    given_config = &c->get_object();
  }
  json::object s;
  s["serviceArn"] = ServiceArn(*input.scope, input.cluster, name);
  s["serviceName"] = name;
  s["clusterArn"] = MakeArn(*input.scope, "ecs", "cluster/" + input.cluster);
  s["loadBalancers"] = ArrayOr(in, "loadBalancers");
  s["serviceRegistries"] = ArrayOr(in, "serviceRegistries");
  s["status"] = kActive;
  s["desiredCount"] = desired;
  s["launchType"] = "EC2";
  s["taskDefinition"] = input.task_definition_arn;
  s["deploymentConfiguration"] = DeploymentConfigurationOf(given_config, nullptr, strategy);
  s["deployments"] = json::array{NewDeployment(input.deployment_id, input.task_definition_arn,
                                               desired, in, input.now_epoch_seconds)};
  if (auto role = OptString(in, "role")) {
    // ECS answers a role name with its ARN.
    s["roleArn"] = role->starts_with("arn:")
                       ? std::string(*role)
                       : "arn:aws:iam::" + input.scope->account + ":role/" + std::string(*role);
  }
  s["events"] = json::array();
  s["createdAt"] = input.now_epoch_seconds;
  s["placementConstraints"] = ArrayOr(in, "placementConstraints");
  s["placementStrategy"] = ArrayOr(in, "placementStrategy");
  if (auto* n = in.if_contains("networkConfiguration")) s["networkConfiguration"] = *n;
  if (auto grace = OptInt(in, "healthCheckGracePeriodSeconds")) {
    s["healthCheckGracePeriodSeconds"] = *grace;
  }
  s["schedulingStrategy"] = strategy;
  s["deploymentController"] = json::object{{"type", "ECS"}};
  s["tags"] = ArrayOr(in, "tags");
  s["createdBy"] = input.created_by;
  s["enableECSManagedTags"] = model::BoolOr(in, "enableECSManagedTags", false);
  s["propagateTags"] = StringOr(in, "propagateTags", "NONE");
  s["enableExecuteCommand"] = model::BoolOr(in, "enableExecuteCommand", false);
  if (auto* v = in.if_contains("availabilityZoneRebalancing")) {
    s["availabilityZoneRebalancing"] = *v;
  }
  s["berthRequest"] = input.request_text;
  model::CarryUnknownMembers(in, s);
  return s;
}

std::string ServiceArn(const ArnScope& scope, std::string_view cluster, std::string_view name) {
  return MakeArn(scope, "ecs", "service/" + std::string(cluster) + "/" + std::string(name));
}

std::string ServiceNameOf(std::string_view ref) {
  if (ref.starts_with("arn:")) {
    size_t pos = ref.find(":service/");
    if (pos != std::string_view::npos) {
      std::string_view rest = ref.substr(pos + 9);
      return std::string(rest.substr(rest.rfind('/') + 1));
    }
  }
  return std::string(ref);
}

}  // namespace berth::server::api
