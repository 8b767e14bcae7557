// Container health checks as ECS (after Docker) defines them: the parsed
// `healthCheck` of a container definition, and the state a container's
// results move through. Pure: the worker runs the commands and passes the
// time in, so the rules are tested without containers or sleeping.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::agent {

enum class Health { kUnknown, kHealthy, kUnhealthy };

// "UNKNOWN", "HEALTHY", "UNHEALTHY": ECS's HealthStatus.
std::string_view HealthName(Health health);

struct HealthCheckSpec {
  std::vector<std::string> command;  // argv inside the container
  int64_t interval_millis = 30'000;
  int64_t timeout_millis = 5'000;
  int retries = 3;
  int64_t start_period_millis = 0;
};

// The definition's healthCheck with ECS's defaults; none when it has no
// check or one whose command is neither ["CMD", prog, args...] nor
// ["CMD-SHELL", "shell command"] (the server refuses those at
// registration).
std::optional<HealthCheckSpec> ParseHealthCheck(const boost::json::object& container_definition);

// One container's health: UNKNOWN until a check result counts, HEALTHY
// after a success, UNHEALTHY after `retries` failures in a row. Failures
// within the start period (from the container's start) do not count until
// a check has passed. Not thread-safe.
class HealthTracker {
 public:
  HealthTracker(HealthCheckSpec spec, int64_t started_at_millis);

  const HealthCheckSpec& spec() const { return spec_; }
  // When the next check should begin: an interval after the start, then an
  // interval after each result.
  int64_t next_check_at() const { return next_check_at_; }
  // A check ended at now_millis; a timeout is a failure.
  void Record(bool passed, int64_t now_millis);
  Health health() const { return health_; }

 private:
  HealthCheckSpec spec_;
  int64_t started_at_;
  int64_t next_check_at_;
  int failures_ = 0;
  bool passed_once_ = false;
  Health health_ = Health::kUnknown;
};

// A task's health from its essential containers that have checks:
// UNHEALTHY if any is, HEALTHY if all are, else UNKNOWN (ECS's rule; a task
// without such containers is UNKNOWN).
struct ContainerHealth {
  bool essential = true;
  std::optional<Health> health;  // none: the container has no check
};
Health TaskHealth(const std::vector<ContainerHealth>& containers);

}  // namespace berth::agent
