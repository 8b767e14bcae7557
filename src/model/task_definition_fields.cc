// ComputeTaskDefinitionFields: the fields ECS adds to a registered task
// definition (declared in task_definition.h).
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "model/json_util.h"
#include "model/task_definition.h"

namespace berth::model {

namespace {

using boost::json::array;
using boost::json::object;

// The container instance attributes that ECS documents for task definition
// features. Only those: a made-up attribute would keep tasks off instances
// whose agents do not know to advertise it.
constexpr std::string_view kTaskIamRole = "com.amazonaws.ecs.capability.task-iam-role";
constexpr std::string_view kTaskEni = "ecs.capability.task-eni";
constexpr std::string_view kEcrAuth = "com.amazonaws.ecs.capability.ecr-auth";
constexpr std::string_view kExecutionRoleEcrPull = "ecs.capability.execution-role-ecr-pull";
constexpr std::string_view kExecutionRoleAwslogs = "ecs.capability.execution-role-awslogs";
constexpr std::string_view kDockerApi118 = "com.amazonaws.ecs.capability.docker-remote-api.1.18";
constexpr std::string_view kDockerApi119 = "com.amazonaws.ecs.capability.docker-remote-api.1.19";
constexpr std::string_view kDockerApi125 = "com.amazonaws.ecs.capability.docker-remote-api.1.25";
constexpr std::string_view kHealthCheck = "ecs.capability.container-health-check";
constexpr std::string_view kContainerOrdering = "ecs.capability.container-ordering";
constexpr std::string_view kSecretsSsm = "ecs.capability.secrets.ssm.environment-variables";
constexpr std::string_view kSecretsAsm = "ecs.capability.secrets.asm.environment-variables";
constexpr std::string_view kEnvFilesS3 = "ecs.capability.env-files.s3";
constexpr std::string_view kPrivateRegistryAuth =
    "com.amazonaws.ecs.capability.private-registry-authentication.secretsmanager";
constexpr std::string_view kEfs = "ecs.capability.efs";
constexpr std::string_view kFirelensFluentbit = "ecs.capability.firelens.fluentbit";
constexpr std::string_view kFirelensFluentd = "ecs.capability.firelens.fluentd";
constexpr std::string_view kLoggingDriverPrefix = "com.amazonaws.ecs.capability.logging-driver.";

constexpr std::string_view kKnownAttributes[] = {
    kTaskIamRole,
    kTaskEni,
    kEcrAuth,
    kExecutionRoleEcrPull,
    kExecutionRoleAwslogs,
    kDockerApi118,
    kDockerApi119,
    kDockerApi125,
    kHealthCheck,
    kContainerOrdering,
    kSecretsSsm,
    kSecretsAsm,
    kEnvFilesS3,
    kPrivateRegistryAuth,
    kEfs,
    kFirelensFluentbit,
    kFirelensFluentd,
};

// "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag"
bool IsEcrImage(std::string_view image) {
  std::string_view host = image.substr(0, image.find('/'));
  if (host.size() == image.size()) return false;  // no registry part: Docker Hub
  if (host.size() < 13 || host[12] != '.') return false;
  if (!std::all_of(host.begin(), host.begin() + 12, [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  std::string_view rest = host.substr(13);
  return rest.starts_with("dkr.ecr.") &&
         (rest.ends_with(".amazonaws.com") || rest.ends_with(".amazonaws.com.cn"));
}

// Kept in first-use order, without repeats; there are never more than a few.
class AttributeList {
 public:
  void Add(std::string_view name) {
    if (std::find(names_.begin(), names_.end(), name) == names_.end()) names_.emplace_back(name);
  }
  array ToJson() const {
    array out;
    for (const std::string& name : names_) out.push_back(object{{"name", name}});
    return out;
  }

 private:
  std::vector<std::string> names_;
};

void AddContainerAttributes(const object& container, bool has_execution_role,
                            AttributeList& attributes) {
  if (IsEcrImage(OptString(container, "image").value_or(""))) {
    attributes.Add(kEcrAuth);
    if (has_execution_role) attributes.Add(kExecutionRoleEcrPull);
  }
  if (ObjectAt(container, "repositoryCredentials") != nullptr) attributes.Add(kPrivateRegistryAuth);
  if (const object* log = ObjectAt(container, "logConfiguration")) {
    std::string_view driver = OptString(*log, "logDriver").value_or("");
    attributes.Add(kDockerApi118);
    if (!driver.empty()) attributes.Add(std::string(kLoggingDriverPrefix) + std::string(driver));
    if (driver == "awslogs") {
      attributes.Add(kDockerApi119);
      if (has_execution_role) attributes.Add(kExecutionRoleAwslogs);
    }
  }
  if (ObjectAt(container, "dockerLabels") != nullptr || !ArrayOr(container, "ulimits").empty()) {
    attributes.Add(kDockerApi118);
  }
  if (ObjectAt(container, "healthCheck") != nullptr) attributes.Add(kHealthCheck);
  if (!ArrayOr(container, "dependsOn").empty()) attributes.Add(kContainerOrdering);
  for (const auto& secret : ArrayOr(container, "secrets")) {
    std::string_view from = OptString(AsObject(secret), "valueFrom").value_or("");
    attributes.Add(from.find(":secretsmanager:") != std::string_view::npos ? kSecretsAsm
                                                                           : kSecretsSsm);
  }
  if (!ArrayOr(container, "environmentFiles").empty()) attributes.Add(kEnvFilesS3);
  if (const object* linux_parameters = ObjectAt(container, "linuxParameters")) {
    if (OptBool(*linux_parameters, "initProcessEnabled").value_or(false)) {
      attributes.Add(kDockerApi125);
    }
  }
  if (const object* firelens = ObjectAt(container, "firelensConfiguration")) {
    std::string_view type = OptString(*firelens, "type").value_or("");
    if (type == "fluentbit") attributes.Add(kFirelensFluentbit);
    if (type == "fluentd") attributes.Add(kFirelensFluentd);
  }
}

}  // namespace

std::span<const std::string_view> KnownRequiredAttributes() { return kKnownAttributes; }

void ComputeTaskDefinitionFields(object& taskdef) {
  AttributeList attributes;
  bool has_execution_role = !OptString(taskdef, "executionRoleArn").value_or("").empty();
  if (!OptString(taskdef, "taskRoleArn").value_or("").empty()) attributes.Add(kTaskIamRole);
  std::string_view network_mode = OptString(taskdef, "networkMode").value_or("");
  if (network_mode == "awsvpc") attributes.Add(kTaskEni);
  for (const auto& container : ArrayOr(taskdef, "containerDefinitions")) {
    AddContainerAttributes(AsObject(container), has_execution_role, attributes);
  }
  for (const auto& volume : ArrayOr(taskdef, "volumes")) {
    if (ObjectAt(AsObject(volume), "efsVolumeConfiguration") != nullptr) attributes.Add(kEfs);
  }

  array compatibilities{"EC2", "EXTERNAL"};
  bool wants_fargate = false;
  for (const auto& compatibility : ArrayOr(taskdef, "requiresCompatibilities")) {
    wants_fargate = wants_fargate || AsString(compatibility) == "FARGATE";
  }
  if (wants_fargate && network_mode == "awsvpc" && OptString(taskdef, "cpu") &&
      OptString(taskdef, "memory")) {
    compatibilities.emplace_back("FARGATE");
  }

  // Assigned last: network_mode points into taskdef, which these may rehash.
  taskdef["requiresAttributes"] = attributes.ToJson();
  taskdef["compatibilities"] = std::move(compatibilities);
}

}  // namespace berth::model
