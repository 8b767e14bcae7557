#include "agent/restart_policy.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <cmath>

namespace berth::agent {

namespace json = boost::json;

RestartPolicy ParseRestartPolicy(const json::object& container_definition, double period_scale) {
  RestartPolicy policy;
  auto* v = container_definition.if_contains("restartPolicy");
  if (v == nullptr || !v->is_object()) return policy;
  const json::object& spec = v->as_object();
  auto* enabled = spec.if_contains("enabled");
  policy.enabled = enabled != nullptr && enabled->is_bool() && enabled->as_bool();
  if (auto* codes = spec.if_contains("ignoredExitCodes"); codes && codes->is_array()) {
    for (const auto& code : codes->as_array()) {
      if (code.is_int64()) policy.ignored_exit_codes.push_back(static_cast<int>(code.as_int64()));
    }
  }
  int64_t seconds = kDefaultRestartAttemptPeriodSeconds;
  if (auto* period = spec.if_contains("restartAttemptPeriod"); period && period->is_int64()) {
    seconds = period->as_int64();
  }
  policy.attempt_period_millis = std::llround(static_cast<double>(seconds) * 1000 * period_scale);
  return policy;
}

RestartDecision DecideRestart(const RestartPolicy& policy, std::optional<int> exit_code,
                              int64_t started_at_millis, int64_t exited_at_millis) {
  if (!policy.enabled) return RestartDecision::kDisabled;
  if (exit_code && std::find(policy.ignored_exit_codes.begin(), policy.ignored_exit_codes.end(),
                             *exit_code) != policy.ignored_exit_codes.end()) {
    return RestartDecision::kIgnoredExitCode;
  }
  // A container that keeps failing early is not restarted in a loop: ECS
  // restarts it at most once per period, and only after a run that long.
  if (exited_at_millis - started_at_millis < policy.attempt_period_millis) {
    return RestartDecision::kExitedTooSoon;
  }
  return RestartDecision::kRestart;
}

std::string_view RestartDecisionText(RestartDecision decision) {
  switch (decision) {
    case RestartDecision::kRestart:
      return "";
    case RestartDecision::kDisabled:
      return "no restart policy";
    case RestartDecision::kIgnoredExitCode:
      return "exit code is in ignoredExitCodes";
    case RestartDecision::kExitedTooSoon:
      return "exited before running for restartAttemptPeriod";
  }
  return "";
}

}  // namespace berth::agent
