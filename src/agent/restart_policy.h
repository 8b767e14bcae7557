// ECS container restart policies (`containerDefinitions[].restartPolicy`):
// whether a container that exited is started again in place, in the same
// task, instead of its exit taking effect. Pure: the worker passes in the
// exit and the times, so the rules are tested on a fake clock.
//
// ECS's rules: a container with an enabled policy is restarted when it
// exits, unless its exit code is one of `ignoredExitCodes`, and only if it
// ran for at least `restartAttemptPeriod` seconds (60 to 1800, default 300)
// since it last started; one that exits sooner is not restarted, and its
// exit takes effect as without a policy.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace berth::agent {

constexpr int64_t kDefaultRestartAttemptPeriodSeconds = 300;

struct RestartPolicy {
  bool enabled = false;
  std::vector<int> ignored_exit_codes;
  int64_t attempt_period_millis = kDefaultRestartAttemptPeriodSeconds * 1000;
};

// The definition's restartPolicy with ECS's default period; disabled when it
// has none. period_scale multiplies the period: 1 except in the agent's
// end-to-end tests, which cannot wait ECS's 60 s minimum
// (`berth agent --restart-period-scale`).
RestartPolicy ParseRestartPolicy(const boost::json::object& container_definition,
                                 double period_scale = 1.0);

enum class RestartDecision {
  kRestart,
  kDisabled,         // no policy, or not enabled
  kIgnoredExitCode,  // the exit code is in ignoredExitCodes
  kExitedTooSoon,    // it ran for less than restartAttemptPeriod
};

// What to do about a container that exited with exit_code (none: unknown,
// as when its monitor died; never an ignored code) after running from
// started_at_millis to exited_at_millis.
RestartDecision DecideRestart(const RestartPolicy& policy, std::optional<int> exit_code,
                              int64_t started_at_millis, int64_t exited_at_millis);

// Why a container is not restarted, for logs and reasons ("" for kRestart).
std::string_view RestartDecisionText(RestartDecision decision);

}  // namespace berth::agent
