#include "cli/service_input.h"

#include <charconv>

namespace berth::cli {

namespace json = boost::json;

namespace {

constexpr int kMaxDesiredCount = 10000;
constexpr int kMaxPercent = 2000;

}  // namespace

StatusOr<int> ParseFlagNumber(const std::string& flag, const std::string& text, int low, int high) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < low || value > high) {
    return InvalidArgument(flag + " " + text + ": not a whole number from " + std::to_string(low) +
                           " to " + std::to_string(high));
  }
  return value;
}

StatusOr<json::object> CreateServiceInput(const std::string& cluster, const ServiceFlags& flags) {
  if (flags.task_definition.empty()) return InvalidArgument("--task-definition is required");
  json::object input{
      {"cluster", cluster}, {"serviceName", flags.name}, {"taskDefinition", flags.task_definition}};
  const std::string strategy =
      flags.scheduling_strategy.empty() ? "REPLICA" : flags.scheduling_strategy;
  if (strategy != "REPLICA" && strategy != "DAEMON") {
    return InvalidArgument("--scheduling-strategy " + strategy + ": REPLICA or DAEMON");
  }
  input["schedulingStrategy"] = strategy;
  if (!flags.desired_count.empty()) {
    if (strategy == "DAEMON") {
      return InvalidArgument("--desired-count: a DAEMON service runs one task per node");
    }
    auto count = ParseFlagNumber("--desired-count", flags.desired_count, 0, kMaxDesiredCount);
    if (!count.ok()) return count.status();
    input["desiredCount"] = *count;
  } else if (strategy == "REPLICA") {
    input["desiredCount"] = 1;
  }
  json::object config;
  if (flags.max_percent.empty() != flags.min_healthy_percent.empty()) {
    return InvalidArgument("--max-percent and --min-healthy-percent go together");
  }
  if (!flags.max_percent.empty()) {
    auto max = ParseFlagNumber("--max-percent", flags.max_percent, 100, kMaxPercent);
    if (!max.ok()) return max.status();
    auto min = ParseFlagNumber("--min-healthy-percent", flags.min_healthy_percent, 0, 100);
    if (!min.ok()) return min.status();
    config["maximumPercent"] = *max;
    config["minimumHealthyPercent"] = *min;
  }
  if (flags.rollback && !flags.circuit_breaker) {
    return InvalidArgument("--rollback needs --circuit-breaker");
  }
  if (flags.circuit_breaker) {
    config["deploymentCircuitBreaker"] =
        json::object{{"enable", true}, {"rollback", flags.rollback}};
  }
  if (!config.empty()) input["deploymentConfiguration"] = std::move(config);
  return input;
}

StatusOr<json::object> UpdateServiceInput(const std::string& cluster, const ServiceFlags& flags) {
  json::object input{{"cluster", cluster}, {"service", flags.name}};
  if (!flags.task_definition.empty()) input["taskDefinition"] = flags.task_definition;
  if (!flags.desired_count.empty()) {
    auto count = ParseFlagNumber("--desired-count", flags.desired_count, 0, kMaxDesiredCount);
    if (!count.ok()) return count.status();
    input["desiredCount"] = *count;
  }
  if (flags.force_new_deployment) input["forceNewDeployment"] = true;
  if (input.size() == 2) {
    return InvalidArgument(
        "nothing to change: give --task-definition, --desired-count or --force-new-deployment");
  }
  return input;
}

}  // namespace berth::cli
