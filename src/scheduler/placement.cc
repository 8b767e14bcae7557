#include "scheduler/placement.h"

#include <algorithm>
#include <utility>

namespace berth::scheduler {

// Why `placement` no longer fits `instance`; empty when it does.
std::string Misfit(const InstanceResources& r, const PlacementRequest& request,
                   const TaskPlacement& placement) {
  if (request.cpu > r.cpu_remaining) return "not enough CPU";
  if (request.memory_mib > r.memory_remaining_mib) return "not enough memory";
  for (const HostPort& p : placement.host_ports) {
    const bool udp = p.protocol == PortProtocol::kUdp;
    const HostPortSet& used = r.ports_used;
    const HostPortSet& reserved = r.ports_reserved;
    if ((udp ? used.udp : used.tcp).count(p.port) ||
        (udp ? reserved.udp : reserved.tcp).count(p.port)) {
      return "host port " + std::to_string(p.port) + " is not free";
    }
  }
  for (int id : placement.neuron_device_ids) {
    if (id < 0 || id >= r.neuron.count || r.neuron.taken.count(id)) {
      return "Neuron device " + std::to_string(id) + " is not free";
    }
  }
  for (int id : placement.gpu_ids) {
    if (!r.gpus.ids.count(id) || r.gpus.taken.count(id)) {
      return "GPU " + std::to_string(id) + " is not free";
    }
  }
  return "";
}

Status ApplyPlacement(ClusterSnapshot& snapshot, const PlacementRequest& request,
                      const TaskPlacement& placement) {
  auto it =
      std::find_if(snapshot.instances.begin(), snapshot.instances.end(),
                   [&](const SnapshotInstance& i) { return i.facts.id == placement.instance_id; });
  if (it == snapshot.instances.end()) {
    return NotFound("container instance " + placement.instance_id + " is not in the snapshot");
  }
  InstanceResources& r = it->resources;
  if (std::string why = Misfit(r, request, placement); !why.empty()) {
    return FailedPrecondition("container instance " + placement.instance_id + ": " + why);
  }
  r.cpu_remaining -= request.cpu;
  r.memory_remaining_mib -= request.memory_mib;
  for (const HostPort& p : placement.host_ports) {
    (p.protocol == PortProtocol::kUdp ? r.ports_used.udp : r.ports_used.tcp).insert(p.port);
  }
  r.neuron.taken.insert(placement.neuron_device_ids.begin(), placement.neuron_device_ids.end());
  r.gpus.taken.insert(placement.gpu_ids.begin(), placement.gpu_ids.end());
  it->facts.task_groups.push_back(request.group);
  return Status::Ok();
}

StatusOr<PlacementResult> PlaceTasks(const ClusterSnapshot& snapshot,
                                     const PlacementRequest& request, int count,
                                     std::mt19937_64& random) {
  if (count < 0) return InvalidArgument("count must not be negative");
  Placer placer(snapshot);
  return placer.PlaceTasks(request, count, random);
}

StatusOr<GangPlacement> PlaceGang(const ClusterSnapshot& snapshot, const PlacementRequest& request,
                                  int size, const std::optional<std::string>& same_attribute,
                                  std::mt19937_64& random) {
  if (size < 1) return InvalidArgument("a gang needs at least one task");
  Placer placer(snapshot);
  return placer.PlaceGang(request, size, same_attribute, random);
}

}  // namespace berth::scheduler
