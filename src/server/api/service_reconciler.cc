#include "server/api/service_reconciler.h"

#include <algorithm>
#include <map>
#include <set>

namespace berth::server::api {

namespace {

// The healthy ones last, so that what serves nobody goes first.
void UnhealthyFirst(std::vector<const ServiceTask*>& tasks) {
  std::stable_sort(tasks.begin(), tasks.end(),
                   [](const auto* a, const auto* b) { return !a->healthy && b->healthy; });
}

int64_t Size(const std::vector<const ServiceTask*>& tasks) {
  return static_cast<int64_t>(tasks.size());
}

}  // namespace

ServiceChanges ReconcileService(const ServiceWants& wants) {
  ServiceChanges changes;
  if (wants.draining) {
    for (const ServiceTask& task : wants.tasks) changes.stop.push_back(task.id);
    return changes;
  }
  // keep: the PRIMARY deployment's tasks where they are; replace: the older
  // deployments' and those on a leaving instance, which new tasks replace.
  std::vector<const ServiceTask*> keep, replace;
  for (const ServiceTask& task : wants.tasks) {
    if (task.unhealthy) {
      changes.stop_health.push_back(task.id);
    } else if (task.deployment == wants.primary && !task.leaving) {
      keep.push_back(&task);
    } else {
      replace.push_back(&task);
    }
  }
  // Scaling in stops the newest tasks first: the older ones have proved
  // themselves. minimumHealthyPercent bounds a replacement, not a scale-in.
  const int64_t desired = std::max<int64_t>(wants.desired, 0);
  if (Size(keep) > desired) {
    std::stable_sort(keep.begin(), keep.end(), [](const auto* a, const auto* b) {
      return a->created_at_millis > b->created_at_millis;
    });
    while (Size(keep) > desired) {
      changes.stop.push_back(keep.front()->id);
      keep.erase(keep.begin());
    }
  }

  // Replacing: a task that is not healthy serves nobody and goes at once; a
  // healthy one goes only while the healthy tasks left stay at or above
  // the floor.
  const int64_t ceiling = desired * wants.maximum_percent / 100;
  const int64_t floor = (desired * wants.minimum_healthy_percent + 99) / 100;
  int64_t healthy = 0;
  for (const auto* task : keep) healthy += task->healthy;
  for (const auto* task : replace) healthy += task->healthy;
  UnhealthyFirst(replace);
  int64_t replaced = 0;
  for (const auto* task : replace) {
    if (task->healthy) {
      if (healthy - 1 < floor) break;
      --healthy;
    }
    changes.stop.push_back(task->id);
    ++replaced;
  }

  // Placing: up to desired for the PRIMARY deployment, within the ceiling
  // of all the tasks that stay (the older deployments' count too).
  const int64_t staying = Size(keep) + Size(replace) - replaced;
  changes.place = std::max<int64_t>(0, std::min(desired - Size(keep), ceiling - staying));

  const bool all_healthy =
      std::all_of(keep.begin(), keep.end(), [](const auto* task) { return task->healthy; });
  changes.steady = changes.place == 0 && changes.stop.empty() && changes.stop_health.empty() &&
                   replace.empty() && Size(keep) == desired && all_healthy;
  return changes;
}

ServiceChanges ReconcileUniformService(const ServiceWants& wants, const UniformTasks& tasks) {
  // ReconcileService with keep = all of them, replace and the stops empty.
  ServiceChanges changes;
  const int64_t desired = std::max<int64_t>(wants.desired, 0);
  const int64_t ceiling = desired * wants.maximum_percent / 100;
  changes.place = std::max<int64_t>(0, std::min(desired - tasks.tasks, ceiling - tasks.tasks));
  changes.steady = changes.place == 0 && tasks.tasks == desired && tasks.healthy == tasks.tasks;
  return changes;
}

DaemonChanges ReconcileDaemon(const DaemonWants& wants) {
  DaemonChanges changes;
  if (wants.draining) {
    for (const ServiceTask& task : wants.tasks) changes.stop.push_back(task.id);
    return changes;
  }
  const std::set<std::string_view> instances(wants.instances.begin(), wants.instances.end());
  struct On {
    std::vector<const ServiceTask*> primary, old;
  };
  std::map<std::string_view, On> on;
  for (const ServiceTask& task : wants.tasks) {
    if (task.unhealthy) {
      changes.stop_health.push_back(task.id);
    } else if (task.leaving || !instances.contains(task.instance)) {
      changes.stop.push_back(task.id);  // it does not belong there (any more)
    } else {
      On& here = on[task.instance];
      (task.deployment == wants.primary ? here.primary : here.old).push_back(&task);
    }
  }
  // The healthy instances while old tasks give way: floor of them stay.
  const int64_t floor =
      (static_cast<int64_t>(wants.instances.size()) * wants.minimum_healthy_percent + 99) / 100;
  int64_t healthy = 0;
  for (auto& [instance, here] : on) {
    healthy +=
        std::any_of(here.primary.begin(), here.primary.end(),
                    [](const auto* t) { return t->healthy; }) ||
        std::any_of(here.old.begin(), here.old.end(), [](const auto* t) { return t->healthy; });
  }
  const std::set<std::string_view> stopping(wants.stopping_on.begin(), wants.stopping_on.end());
  bool all_healthy = true;
  for (const std::string& instance : wants.instances) {
    On& here = on[instance];
    if (!here.primary.empty()) {
      // One task per instance: the oldest stays, and old ones give way.
      std::stable_sort(here.primary.begin(), here.primary.end(), [](const auto* a, const auto* b) {
        return a->created_at_millis < b->created_at_millis;
      });
      for (size_t i = 1; i < here.primary.size(); ++i) changes.stop.push_back(here.primary[i]->id);
      for (const auto* task : here.old) changes.stop.push_back(task->id);
      all_healthy &= here.primary.front()->healthy && here.old.empty();
      continue;
    }
    all_healthy = false;
    if (here.old.empty()) {
      if (!stopping.contains(instance)) changes.place_on.push_back(instance);
      continue;
    }
    UnhealthyFirst(here.old);
    bool was_healthy = here.old.back()->healthy;
    if (was_healthy && healthy - 1 < floor) continue;  // it serves until others are back
    for (const auto* task : here.old) changes.stop.push_back(task->id);
    healthy -= was_healthy;
  }
  changes.steady = all_healthy && changes.place_on.empty() && changes.stop.empty() &&
                   changes.stop_health.empty();
  return changes;
}

int64_t CircuitBreakerThreshold(int64_t desired) {
  return std::clamp<int64_t>((std::max<int64_t>(desired, 0) + 1) / 2, 3, 200);
}

int64_t ThrottleDelayMillis(int64_t failures_in_a_row) {
  constexpr int64_t kFirstMillis = 10'000;
  constexpr int64_t kMaxMillis = 27 * 60'000;
  if (failures_in_a_row < kThrottleAfterFailures) return 0;
  const int64_t doublings = failures_in_a_row - kThrottleAfterFailures;
  if (doublings >= 8) return kMaxMillis;  // 10 s * 2^8 = 42 min: past the ceiling
  return std::min(kFirstMillis << doublings, kMaxMillis);
}

}  // namespace berth::server::api
