// What /metrics reads from the ECS state, and the counters placements move.
#include <mutex>
#include <shared_mutex>

#include "common/metrics.h"
#include "model/json_util.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {

namespace json = boost::json;

std::vector<EcsApi::ClusterMetrics> EcsApi::MetricsSnapshot(int64_t now_millis) const {
  std::shared_lock lock(mu_);
  std::vector<ClusterMetrics> out;
  out.reserve(clusters_.size());
  for (const auto& [name, record] : clusters_) {
    ClusterMetrics m;
    m.cluster = name;
    if (auto c = task_counts_.find(name); c != task_counts_.end()) {
      m.tasks_pending = c->second.pending;
      m.tasks_running = c->second.running;
    }
    const auto held = instance_tasks_.find(name);
    if (auto in = instances_.find(name); in != instances_.end()) {
      for (const auto& [id, instance] : in->second) {
        const InstanceRecord r(instance);
        ++m.instances[std::string(r.status())];
        if (r.is_inactive()) continue;
        m.instances_agent_connected += AgentConnected(instance, now_millis);
        for (const json::value& d : model::ArrayOr(instance, "platformDevices")) {
          std::string_view type = d.is_object() ? model::StringOr(d.as_object(), "type", "") : "";
          m.neuron_devices += type == "NEURON_DEVICE";
          m.gpus += type == "GPU";
        }
        if (held != instance_tasks_.end()) {
          if (auto h = held->second.find(id); h != held->second.end()) {
            m.neuron_devices_in_use += h->second.neuron_devices_held;
            m.gpus_in_use += h->second.gpus_held;
          }
        }
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

namespace {

metrics::Family<metrics::Counter>& Placements() {
  static auto& f = metrics::DefaultRegistry().AddCounter(
      "berth_placements_total",
      "Tasks placed on a container instance (RunTask, StartTask, services, gangs).", {"cluster"});
  return f;
}

metrics::Family<metrics::Counter>& PlacementFailures() {
  static auto& f = metrics::DefaultRegistry().AddCounter(
      "berth_placement_failures_total",
      "Tasks that could not be placed, by the reason RunTask's failures[] gives "
      "(RESOURCE:CPU, RESOURCE:MEMORY, ...).",
      {"cluster", "reason"});
  return f;
}

}  // namespace

void EcsApi::CountPlacements(std::string_view cluster, size_t placed,
                             const std::vector<scheduler::PlacementFailure>& failures) {
  if (placed > 0) Placements().With({cluster}).Inc(static_cast<double>(placed));
  for (const auto& f : failures) PlacementFailures().With({cluster, f.reason}).Inc();
}

void EcsApi::CountGangAttempt(std::string_view cluster) {
  static auto& attempts = metrics::DefaultRegistry().AddCounter(
      "berth_gang_attempts_total", "Gang attempts started: every rank placed at once.",
      {"cluster"});
  attempts.With({cluster}).Inc();
}

}  // namespace berth::server::api
