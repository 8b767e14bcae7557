#include "scheduler/placement_reservation.h"

#include <algorithm>
#include <iterator>

namespace berth::scheduler {
namespace {

std::set<int>& PortsOf(HostPortSet& set, const HostPort& p) {
  return p.protocol == PortProtocol::kUdp ? set.udp : set.tcp;
}

const std::set<int>& PortsOf(const HostPortSet& set, const HostPort& p) {
  return p.protocol == PortProtocol::kUdp ? set.udp : set.tcp;
}

Status Refused(const TaskPlacement& placement, const std::string& why) {
  return FailedPrecondition("container instance " + placement.instance_id + ": " + why);
}

}  // namespace

bool IsHostPortFree(const InstanceResources& r, const HostPort& p) {
  return !PortsOf(r.ports_used, p).contains(p.port) &&
         !PortsOf(r.ports_reserved, p).contains(p.port);
}

std::vector<int> FreeHostPorts(const InstanceResources& r, PortProtocol protocol, int first,
                               int last, int count) {
  std::vector<int> out;
  for (int port = first; port <= last && static_cast<int>(out.size()) < count; ++port) {
    if (IsHostPortFree(r, {port, protocol})) out.push_back(port);
  }
  return out;
}

Status NotInSnapshot(std::string_view instance_id) {
  return NotFound("container instance " + std::string(instance_id) + " is not in the snapshot");
}

Status CanReserve(const SnapshotInstance* instance, const PlacementRequest& request,
                  const TaskPlacement& placement) {
  if (instance == nullptr) return NotInSnapshot(placement.instance_id);
  std::string why = Misfit(instance->resources, request, placement);
  return why.empty() ? Status::Ok() : Refused(placement, why);
}

Status CanUnreserve(const SnapshotInstance* instance, const PlacementRequest& request,
                    const TaskPlacement& placement) {
  if (instance == nullptr) return NotInSnapshot(placement.instance_id);
  std::string why = NotHeld(*instance, request, placement);
  return why.empty() ? Status::Ok() : Refused(placement, why);
}

std::string Misfit(const InstanceResources& r, const PlacementRequest& request,
                   const TaskPlacement& placement) {
  if (request.cpu > r.cpu_remaining) return "not enough CPU";
  if (request.memory_mib > r.memory_remaining_mib) return "not enough memory";
  for (const HostPort& p : placement.host_ports) {
    if (!IsHostPortFree(r, p)) {
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
  for (int id : placement.efa_device_ids) {
    if (!r.efa.ids.count(id) || r.efa.taken.count(id)) {
      return "EFA device " + std::to_string(id) + " is not free";
    }
  }
  return "";
}

std::string NotHeld(const SnapshotInstance& instance, const PlacementRequest& request,
                    const TaskPlacement& placement) {
  const InstanceResources& r = instance.resources;
  const std::vector<std::string>& groups = instance.facts.task_groups;
  if (std::find(groups.begin(), groups.end(), request.group) == groups.end()) {
    return "runs no task of group '" + request.group + "'";
  }
  for (const HostPort& p : placement.host_ports) {
    if (!PortsOf(r.ports_used, p).count(p.port)) {
      return "host port " + std::to_string(p.port) + " is not in use";
    }
  }
  for (int id : placement.neuron_device_ids) {
    if (!r.neuron.taken.count(id)) return "Neuron device " + std::to_string(id) + " is free";
  }
  for (int id : placement.gpu_ids) {
    if (!r.gpus.taken.count(id)) return "GPU " + std::to_string(id) + " is free";
  }
  for (int id : placement.efa_device_ids) {
    if (!r.efa.taken.count(id)) return "EFA device " + std::to_string(id) + " is free";
  }
  return "";
}

void Reserve(SnapshotInstance& instance, const PlacementRequest& request,
             const TaskPlacement& placement) {
  InstanceResources& r = instance.resources;
  r.cpu_remaining -= request.cpu;
  r.memory_remaining_mib -= request.memory_mib;
  for (const HostPort& p : placement.host_ports) PortsOf(r.ports_used, p).insert(p.port);
  r.neuron.taken.insert(placement.neuron_device_ids.begin(), placement.neuron_device_ids.end());
  r.gpus.taken.insert(placement.gpu_ids.begin(), placement.gpu_ids.end());
  r.efa.taken.insert(placement.efa_device_ids.begin(), placement.efa_device_ids.end());
  instance.facts.task_groups.push_back(request.group);
}

void Unreserve(SnapshotInstance& instance, const PlacementRequest& request,
               const TaskPlacement& placement) {
  InstanceResources& r = instance.resources;
  r.cpu_remaining += request.cpu;
  r.memory_remaining_mib += request.memory_mib;
  for (const HostPort& p : placement.host_ports) PortsOf(r.ports_used, p).erase(p.port);
  for (int id : placement.neuron_device_ids) r.neuron.taken.erase(id);
  for (int id : placement.gpu_ids) r.gpus.taken.erase(id);
  for (int id : placement.efa_device_ids) r.efa.taken.erase(id);
  auto& groups = instance.facts.task_groups;
  groups.erase(std::prev(std::find(groups.rbegin(), groups.rend(), request.group).base()));
}

}  // namespace berth::scheduler
