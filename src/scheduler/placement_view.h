// InstanceView: one container instance as the filter and score plugins
// (placement_filters.h, placement_scores.h) read it: its snapshot record and
// what an engine derives from that record (free devices as bitsets, tasks per
// group, whether this call already placed a task there).
//
// Plugins read instances only through a view, so each placement rule has one
// implementation that both engines run. To a plugin, the engines differ only
// in where the derived state comes from:
// - the reference engine (placement_step.cc) and tests build a view over a
//   bare record; the view derives free devices on first use and counts task
//   groups from the facts;
// - the Placer (placer.cc) keeps a DerivedInstance per instance, current as
//   tasks are applied and released, and builds views over it, so a filter
//   costs a few loads and compares (memberOf answers it remembers come
//   through FilterContext, placement_filters.h).
//
// A view borrows everything it points at: it lives for one decision, while
// its record (and DerivedInstance) stay unchanged. Not thread-safe (the lazy
// derivation writes to the view).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/placement.h"
#include "scheduler/placement_devices.h"

namespace berth::scheduler {

// What an instance offers, or what a task needs at least: free CPU, memory,
// Neuron devices and GPUs. The Placer's indexes prune with it
// (placement_index.h); each filter says what it needs in these terms
// (PlacementFilter::Need).
struct Capacity {
  int64_t cpu = 0;
  int64_t memory_mib = 0;
  int neuron_free = 0;
  int gpu_free = 0;
  bool Covers(const Capacity& need) const {
    return cpu >= need.cpu && memory_mib >= need.memory_mib && neuron_free >= need.neuron_free &&
           gpu_free >= need.gpu_free;
  }
};

// An instance's free devices, derived from its resources.
struct FreeDevices {
  int neuron_free = 0;
  int gpu_free = 0;
  // The Neuron ids fit 64-bit masks (at most 64 devices): the fields below
  // are set, and device choices run on bitsets.
  bool on_masks = false;
  std::vector<uint64_t> neuron_adjacency;  // per id, the mask of the ids linked to it
  uint64_t neuron_free_mask = 0;
  int neuron_largest_group = 0;  // the largest connected group of free ids
};

// The parts of FreeDevices that do not change while tasks come and go (the
// device graph): once per instance.
void DeriveDeviceGraph(const NeuronDeviceSet& devices, FreeDevices& out);
// The parts that follow what is taken: after every change of `resources`.
// Expects DeriveDeviceGraph's fields for the same devices.
void DeriveFreeDevices(const InstanceResources& resources, FreeDevices& out);

// What an engine keeps per instance so that plugins need not derive it per
// decision. The Placer owns one per instance.
struct DerivedInstance {
  // TakesNewTasks (placement_filters.h) of the facts: kept beside the other
  // hot fields, so that the agent filter does not read the record's strings.
  bool takes_new_tasks = false;
  FreeDevices devices;
  std::unordered_map<std::string, int> group_tasks;  // tasks on the instance per task group
};

// The facts' part of DerivedInstance: after every change of the facts.
void DeriveFromFacts(const InstanceFacts& facts, DerivedInstance& out);

class InstanceView {
 public:
  // Over the record alone: free devices derived on first use, group counts
  // taken from facts.task_groups.
  InstanceView(const SnapshotInstance& instance, bool placed_in_call)
      : instance_(&instance), placed_in_call_(placed_in_call) {}
  // Over state an engine keeps current for this record; `slot` is the
  // engine's index of the instance, for what it remembers per instance.
  InstanceView(const SnapshotInstance& instance, const DerivedInstance& derived,
               bool placed_in_call, int slot)
      : instance_(&instance), derived_(&derived), placed_in_call_(placed_in_call), slot_(slot) {}

  const SnapshotInstance& instance() const { return *instance_; }
  const InstanceFacts& facts() const { return instance_->facts; }
  const InstanceResources& resources() const { return instance_->resources; }
  // Inline where the engine keeps the state: filters call these per
  // instance on the Placer's hot path.
  const FreeDevices& devices() const {
    return derived_ != nullptr ? derived_->devices : DerivedDevices();
  }
  // Whether the instance takes new tasks at all (ACTIVE, agent connected).
  bool takes_new_tasks() const {
    return derived_ != nullptr ? derived_->takes_new_tasks : TakesNewTasksFromFacts();
  }
  // Tasks of `group` on the instance; all of its tasks for "".
  int GroupTasks(const std::string& group) const {
    if (derived_ == nullptr || group.empty()) return GroupTasksFromFacts(group);
    auto it = derived_->group_tasks.find(group);
    return it == derived_->group_tasks.end() ? 0 : it->second;
  }
  // Whether the current call already placed a task here (distinctInstance).
  bool placed_in_call() const { return placed_in_call_; }
  // The engine's index of the instance; -1 over a bare record.
  int slot() const { return slot_; }
  Capacity capacity() const;

 private:
  // Over a bare record.
  const FreeDevices& DerivedDevices() const;
  bool TakesNewTasksFromFacts() const;
  int GroupTasksFromFacts(const std::string& group) const;

  const SnapshotInstance* instance_;
  const DerivedInstance* derived_ = nullptr;
  bool placed_in_call_ = false;
  int slot_ = -1;
  mutable std::optional<FreeDevices> own_devices_;  // derived on first use, over a bare record
};

// The Neuron device ids a task of `request` gets on the instance:
// ChooseNeuronDevices (placement_devices.h), on the view's bitsets where the
// ids fit them. What both engines give a placed task.
NeuronChoice ChooseNeuronDevices(const InstanceView& instance, const PlacementRequest& request);

// The task's placement on the instance: its id, device ids and host ports.
TaskPlacement PlacementOn(const InstanceView& instance, const PlacementRequest& request);

}  // namespace berth::scheduler
