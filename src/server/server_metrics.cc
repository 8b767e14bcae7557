#include "server/server_metrics.h"

#include "common/clock.h"

namespace berth::server {

metrics::ScopedCollector CollectServerState(metrics::Registry& registry, const api::EcsApi& ecs,
                                            AgentChannel& agents) {
  return metrics::ScopedCollector(registry, [&ecs, &agents](metrics::Exposition& out) {
    using metrics::Type;
    const auto clusters = ecs.MetricsSnapshot(SystemClock().NowMillis());
    const std::vector<std::string> cluster_status = {"cluster", "status"};
    const std::vector<std::string> cluster_only = {"cluster"};
    out.Family("berth_tasks", "Tasks not STOPPED, by cluster and lastStatus.", Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_tasks", cluster_status, {c.cluster, "PENDING"},
                 static_cast<double>(c.tasks_pending));
      out.Sample("berth_tasks", cluster_status, {c.cluster, "RUNNING"},
                 static_cast<double>(c.tasks_running));
    }
    out.Family("berth_container_instances",
               "Registered container instances, by cluster and status.", Type::kGauge);
    for (const auto& c : clusters) {
      for (const auto& [status, n] : c.instances) {
        out.Sample("berth_container_instances", cluster_status, {c.cluster, status},
                   static_cast<double>(n));
      }
    }
    out.Family("berth_container_instances_agent_connected",
               "Container instances not INACTIVE whose agent is connected (agentConnected).",
               Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_container_instances_agent_connected", cluster_only, {c.cluster},
                 static_cast<double>(c.instances_agent_connected));
    }
    out.Family("berth_neuron_devices", "Neuron devices registered on instances not INACTIVE.",
               Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_neuron_devices", cluster_only, {c.cluster},
                 static_cast<double>(c.neuron_devices));
    }
    out.Family("berth_neuron_devices_in_use", "Neuron devices held by tasks not STOPPED.",
               Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_neuron_devices_in_use", cluster_only, {c.cluster},
                 static_cast<double>(c.neuron_devices_in_use));
    }
    out.Family("berth_gpus", "GPUs registered on instances not INACTIVE.", Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_gpus", cluster_only, {c.cluster}, static_cast<double>(c.gpus));
    }
    out.Family("berth_gpus_in_use", "GPUs held by tasks not STOPPED.", Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_gpus_in_use", cluster_only, {c.cluster},
                 static_cast<double>(c.gpus_in_use));
    }
    out.Family("berth_agent_poll_connections",
               "Node agents' assignment polls open on this server (held or being answered).",
               Type::kGauge);
    out.Sample("berth_agent_poll_connections", {}, {}, static_cast<double>(agents.OpenPolls()));
  });
}

}  // namespace berth::server
