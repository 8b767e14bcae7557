#include "scheduler/placement_view.h"

#include "scheduler/placement_devices.h"
#include "scheduler/placement_filters.h"
#include "scheduler/placement_scores.h"

namespace berth::scheduler {
namespace {

constexpr int kMaxMaskDevices = 64;

}  // namespace

void DeriveDeviceGraph(const NeuronDeviceSet& devices, FreeDevices& out) {
  out.on_masks = devices.count >= 0 && devices.count <= kMaxMaskDevices;
  out.neuron_adjacency.clear();
  if (!out.on_masks || devices.count == 0) return;
  for (const std::vector<int>& links : NeuronAdjacency(devices)) {
    uint64_t mask = 0;
    for (int id : links) mask |= uint64_t{1} << id;
    out.neuron_adjacency.push_back(mask);
  }
}

void DeriveFreeDevices(const InstanceResources& r, FreeDevices& out) {
  int free = 0;
  for (int id = 0; id < r.neuron.count; ++id) free += r.neuron.taken.count(id) ? 0 : 1;
  out.neuron_free = free;
  out.gpu_free = FreeGpuCount(r.gpus);
  if (!out.on_masks) return;
  uint64_t mask = r.neuron.count >= 64 ? ~uint64_t{0} : (uint64_t{1} << r.neuron.count) - 1;
  if (r.neuron.count <= 0) mask = 0;
  for (int id : r.neuron.taken) {
    if (id >= 0 && id < r.neuron.count) mask &= ~(uint64_t{1} << id);
  }
  out.neuron_free_mask = mask;
  out.neuron_largest_group = mask == 0 ? 0 : LargestMaskGroup(out.neuron_adjacency, mask);
}

void DeriveFromFacts(const InstanceFacts& facts, DerivedInstance& out) {
  out.takes_new_tasks = TakesNewTasks(facts);
}

bool InstanceView::TakesNewTasksFromFacts() const { return TakesNewTasks(facts()); }

const FreeDevices& InstanceView::DerivedDevices() const {
  if (!own_devices_) {
    own_devices_.emplace();
    DeriveDeviceGraph(resources().neuron, *own_devices_);
    DeriveFreeDevices(resources(), *own_devices_);
  }
  return *own_devices_;
}

int InstanceView::GroupTasksFromFacts(const std::string& group) const {
  return GroupTaskCount(facts(), group);
}

Capacity InstanceView::capacity() const {
  const FreeDevices& d = devices();
  return {resources().cpu_remaining, resources().memory_remaining_mib, d.neuron_free, d.gpu_free};
}

NeuronChoice ChooseNeuronDevices(const InstanceView& instance, const PlacementRequest& request) {
  const FreeDevices& d = instance.devices();
  const NeuronDeviceSet& devices = instance.resources().neuron;
  if (!d.on_masks) return ChooseNeuronDevices(devices, request);
  return ChooseNeuronDevicesOnMasks(devices, d.neuron_adjacency, d.neuron_free_mask, request);
}

TaskPlacement PlacementOn(const InstanceView& instance, const PlacementRequest& request) {
  TaskPlacement placement;
  placement.instance_id = instance.facts().id;
  placement.neuron_device_ids = ChooseNeuronDevices(instance, request).ids;
  placement.gpu_ids = ChooseGpus(instance.resources().gpus, request.gpu_count);
  placement.efa_device_ids = ChooseEfaDevices(instance.resources().efa, request).ids;
  placement.host_ports = request.host_ports;
  return placement;
}

}  // namespace berth::scheduler
