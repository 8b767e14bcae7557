// The service scheduler's decisions, with no state and no clock: what a
// service wants (its PRIMARY deployment, the rolling limits, for DAEMON the
// instances it belongs on) against the tasks it has yields the changes
// (place N, or on these instances; stop these tasks). Where REPLICA tasks go
// is the planner's business; the controller (ecs_service_controller.cc)
// commits the changes, and keeps the failure counts the two rules at the
// end of this file turn into a tripped circuit breaker or a launch delay.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::server::api {

// One task of the service that is neither STOPPED nor asked to stop (those
// are on their way out and count for nothing).
struct ServiceTask {
  std::string id;
  std::string deployment;  // the deployment that started it (startedBy)
  int64_t created_at_millis = 0;
  bool running = false;  // lastStatus RUNNING
  // RUNNING and, when its containers have a health check, HEALTHY.
  bool healthy = false;
  // An essential container reported UNHEALTHY (past the service's grace
  // period): the task is stopped and replaced.
  bool unhealthy = false;
  std::string instance;  // the container instance id it runs on
  // Its instance is not ACTIVE (DRAINING): a REPLICA task is replaced
  // elsewhere first, then stopped; a DAEMON task is stopped.
  bool leaving = false;
};

struct ServiceWants {
  // DRAINING (deleted): every task stops.
  bool draining = false;
  int64_t desired = 0;  // the PRIMARY deployment's desiredCount
  // deploymentConfiguration: the tasks of all deployments together stay
  // within desired * maximum_percent / 100 (rounded down), and the healthy
  // ones at or above desired * minimum_healthy_percent / 100 (rounded up)
  // while old tasks are replaced.
  int64_t maximum_percent = 200;
  int64_t minimum_healthy_percent = 100;
  std::string primary;             // the PRIMARY deployment's id
  std::vector<ServiceTask> tasks;  // of any of its deployments
};

struct ServiceChanges {
  int64_t place = 0;                     // new tasks of the PRIMARY deployment
  std::vector<std::string> stop;         // task ids: scale-in, replaced, drained
  std::vector<std::string> stop_health;  // task ids: failed their health checks
  // The PRIMARY deployment alone, with desired tasks, all healthy and not
  // leaving, and nothing to change.
  bool steady = false;
};

// REPLICA: desired tasks of the PRIMARY deployment, rolled within the
// limits. Tasks this pass stops do not count against maximumPercent: the
// replacements of an unhealthy or drained task start in the same pass.
ServiceChanges ReconcileService(const ServiceWants& wants);

struct DaemonWants {
  bool draining = false;
  // Of the instances the service belongs on, while old tasks are replaced.
  int64_t minimum_healthy_percent = 0;
  std::string primary;
  // The instances the service belongs on: ACTIVE, its placement
  // constraints met.
  std::vector<std::string> instances;
  std::vector<ServiceTask> tasks;
  // Instances where a task of the service is still stopping: its
  // replacement waits for the resources it gives back.
  std::vector<std::string> stopping_on;
};

struct DaemonChanges {
  std::vector<std::string> place_on;  // instance ids, one task each
  std::vector<std::string> stop;
  std::vector<std::string> stop_health;
  // One healthy task of the PRIMARY deployment on each instance, nothing
  // else.
  bool steady = false;
};

// A REPLICA service's tasks when every one is the PRIMARY deployment's, none
// is unhealthy or leaving, and there are no more than desired: what a pass
// needs of them is how many there are and how many are healthy.
struct UniformTasks {
  int64_t tasks = 0;
  int64_t healthy = 0;
};

// ReconcileService for such a service (wants.tasks unused), from the counts
// alone: the same changes ReconcileService yields for the list they count,
// without the list. tasks.tasks must not exceed wants.desired (a scale-in
// names the tasks it stops) and wants.draining must be false.
ServiceChanges ReconcileUniformService(const ServiceWants& wants, const UniformTasks& tasks);

// DAEMON: one task of the PRIMARY deployment on each of its instances; tasks
// elsewhere stop. An old task gives way to the new one on its instance
// (maximumPercent is 100): it stops while the healthy instances stay at or
// above the floor, and the new task starts once it has stopped.
DaemonChanges ReconcileDaemon(const DaemonWants& wants);

// The deployment circuit breaker's failure threshold, as ECS defines it:
// half the desired count, rounded up, and at least 3, at most 200.
int64_t CircuitBreakerThreshold(int64_t desired);

// ECS's service throttle: after this many tasks in a row failed to start
// (PENDING to STOPPED), each launch waits ThrottleDelayMillis.
inline constexpr int64_t kThrottleAfterFailures = 3;
// 0 below kThrottleAfterFailures, then 10 s doubling with each further
// failure, at most 27 minutes (ECS's documented ceiling).
int64_t ThrottleDelayMillis(int64_t failures_in_a_row);

}  // namespace berth::server::api
