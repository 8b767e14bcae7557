// The REPLICA service scheduler's decisions, with no state and no clock:
// what a service wants (its PRIMARY deployment's desiredCount, the rolling
// limits) against the tasks it has yields the changes (place N for the
// PRIMARY deployment, stop these tasks, forget these deployments). Where
// the tasks go is the planner's business; the controller
// (ecs_service_controller.cc) commits the changes.
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
  std::string primary;              // the PRIMARY deployment's id
  std::vector<std::string> others;  // the ACTIVE (older) deployments' ids
  std::vector<ServiceTask> tasks;   // of any of these deployments
};

struct ServiceChanges {
  int64_t place = 0;                // new tasks of the PRIMARY deployment
  std::vector<std::string> stop;    // task ids
  std::vector<std::string> retire;  // older deployments with no task left
  // The PRIMARY deployment alone, with desired tasks, all RUNNING, and
  // nothing to change.
  bool steady = false;
};

ServiceChanges ReconcileService(const ServiceWants& wants);

}  // namespace berth::server::api
