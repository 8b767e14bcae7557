#include "server/api/service_reconciler.h"

#include <algorithm>

namespace berth::server::api {

ServiceChanges ReconcileService(const ServiceWants& wants) {
  ServiceChanges changes;
  if (wants.draining) {
    for (const ServiceTask& task : wants.tasks) changes.stop.push_back(task.id);
    return changes;
  }
  std::vector<const ServiceTask*> primary, old;
  for (const ServiceTask& task : wants.tasks) {
    (task.deployment == wants.primary ? primary : old).push_back(&task);
  }
  // Scaling in stops the newest tasks first: the older ones have proved
  // themselves. minimumHealthyPercent bounds a replacement, not a scale-in.
  const int64_t desired = std::max<int64_t>(wants.desired, 0);
  if (static_cast<int64_t>(primary.size()) > desired) {
    std::stable_sort(primary.begin(), primary.end(), [](const auto* a, const auto* b) {
      return a->created_at_millis > b->created_at_millis;
    });
    while (static_cast<int64_t>(primary.size()) > desired) {
      changes.stop.push_back(primary.front()->id);
      primary.erase(primary.begin());
    }
  }

  // Placing: up to desired for the PRIMARY deployment, within the ceiling
  // of all tasks together (the older deployments' still count).
  const int64_t ceiling = desired * wants.maximum_percent / 100;
  const int64_t floor = (desired * wants.minimum_healthy_percent + 99) / 100;
  const int64_t total = static_cast<int64_t>(primary.size() + old.size());
  changes.place = std::max<int64_t>(
      0, std::min(desired - static_cast<int64_t>(primary.size()), ceiling - total));

  // Replacing: an older task that is not healthy serves nobody and goes at
  // once; a healthy one goes only while the healthy tasks left stay at or
  // above the floor.
  int64_t healthy = 0;
  for (const auto* task : primary) healthy += task->healthy;
  for (const auto* task : old) healthy += task->healthy;
  std::stable_sort(old.begin(), old.end(),
                   [](const auto* a, const auto* b) { return !a->healthy && b->healthy; });
  for (const auto* task : old) {
    if (task->healthy) {
      if (healthy - 1 < floor) break;
      --healthy;
    }
    changes.stop.push_back(task->id);
  }

  for (const std::string& id : wants.others) {
    bool has_tasks = std::any_of(old.begin(), old.end(),
                                 [&](const auto* task) { return task->deployment == id; });
    if (!has_tasks) changes.retire.push_back(id);
  }
  const bool all_running =
      std::all_of(primary.begin(), primary.end(), [](const auto* task) { return task->running; });
  changes.steady = changes.place == 0 && changes.stop.empty() && old.empty() &&
                   static_cast<int64_t>(primary.size()) == desired && all_running;
  return changes;
}

}  // namespace berth::server::api
