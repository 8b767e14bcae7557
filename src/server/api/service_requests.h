// The rules of CreateService and UpdateService that need no state, and the
// Service and Deployment records they build: names, launch options, counts,
// deployment percents, placement (checked by the same compiler RunTask's
// placement goes through). Every check throws ApiException
// (InvalidParameterException) before anything is written.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "common/ids.h"

namespace berth::server::api {

// ECS's limits: a task may carry at most 10 placement constraints (its task
// definition's and its service's together) and a service 5 strategies; a
// service at most 5000 tasks (the ECS quota).
inline constexpr size_t kMaxPlacementConstraints = 10;
inline constexpr size_t kMaxPlacementStrategies = 5;
inline constexpr int64_t kMaxDesiredCount = 5000;

// 1-255 letters, digits, '-' and '_'.
void ValidateServiceName(std::string_view name);

// berth runs services on EC2 instances with the ECS (rolling) deployment
// controller: refuses another launchType, a capacityProviderStrategy, a
// platformVersion (Fargate's) and another deploymentController.
void ValidateLaunchOptions(const boost::json::object& in);

// desiredCount for a service of this scheduling strategy: 0-5000 for
// REPLICA; a DAEMON service runs one task per instance, so at most 0 may be
// given. `required` (CreateService of a REPLICA service): absent is refused.
void ValidateDesiredCount(std::optional<int64_t> count, std::string_view strategy, bool required);

// The deploymentConfiguration a service ends up with: `given` over `current`
// (the defaults of the strategy when null: 200/100 for REPLICA, 100/0 for
// DAEMON; the circuit breaker off). minimumHealthyPercent 0-100,
// maximumPercent at least 100 (exactly 100 for DAEMON), and at least
// minimumHealthyPercent.
boost::json::object DeploymentConfigurationOf(const boost::json::object* given,
                                              const boost::json::object* current,
                                              std::string_view strategy);

// Placement as a task of the service would be placed: at most 10
// constraints with the task definition's, at most 5 strategies (none for
// DAEMON), each well formed (memberOf expressions parsed, strategy types and
// fields known).
void ValidateServicePlacement(const boost::json::array& constraints,
                              const boost::json::array& strategies,
                              const boost::json::object& task_definition,
                              std::string_view scheduling_strategy, std::string_view group);

// networkConfiguration applies to awsvpc task definitions only, as in ECS.
void ValidateNetworkConfiguration(const boost::json::object& in,
                                  const boost::json::object& task_definition);

// healthCheckGracePeriodSeconds: 0 to 2^31-1.
void ValidateGracePeriod(const boost::json::object& in);

// "ecs-svc/" and 19 random digits, as ECS names deployments (and the
// startedBy of their tasks).
std::string NewDeploymentId(std::mt19937_64& random);

// What a deployment takes from its request (or its service): a new value of
// one of them is rolled out as a new deployment.
inline constexpr std::string_view kDeploymentMembers[] = {
    "networkConfiguration", "serviceConnectConfiguration", "volumeConfigurations",
    "vpcLatticeConfigurations"};

// A PRIMARY deployment of task_definition_arn, IN_PROGRESS, with the
// kDeploymentMembers of `from` (the request, else the service record).
boost::json::object NewDeployment(std::string id, std::string_view task_definition_arn,
                                  int64_t desired_count, const boost::json::object& from,
                                  double now_epoch_seconds);

// What a new Service record is made of; the request is validated.
struct ServiceInput {
  const ArnScope* scope;
  std::string cluster;
  const boost::json::object* request;  // CreateService's members
  std::string task_definition_arn;
  std::string deployment_id;
  std::string created_by;
  double now_epoch_seconds = 0;
  std::string request_text;  // the request without clientToken, for retries
};
boost::json::object NewServiceRecord(const ServiceInput& input);

// The service ARN: arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME.
std::string ServiceArn(const ArnScope& scope, std::string_view cluster, std::string_view name);
// The name in a service name or ARN (either ARN format).
std::string ServiceNameOf(std::string_view ref);

}  // namespace berth::server::api
