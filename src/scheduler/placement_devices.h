// Device ids on one instance: which Neuron devices, GPUs and EFA devices a
// task gets.
//
// Neuron devices talk to each other over NeuronLink; a collective between
// devices that are not linked goes through the host and is several times
// slower. So a task that asks for a count gets a connected group where one
// exists, and otherwise as few groups as possible. Among equal choices the
// one that leaves the remaining free devices least fragmented wins (so the
// next task finds a connected group too), then the lowest ids.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "scheduler/placement.h"

namespace berth::scheduler {

// The connection graph of an instance's devices: adjacency[i] lists the ids
// linked to i, ascending. Links are taken both ways (a link registered from
// one end only still connects both) and ids outside 0..count-1 are ignored.
// Without registered links, i-1 and i+1 are connected.
std::vector<std::vector<int>> NeuronAdjacency(const NeuronDeviceSet& devices);

// `count` ids out of `free_ids` (each < adjacency.size()), chosen as the file
// comment says; ascending. Empty when fewer than `count` are free.
std::vector<int> ChooseConnectedDevices(const std::vector<std::vector<int>>& adjacency,
                                        const std::set<int>& free_ids, int count);

// How many connected groups `ids` form in the graph (0 for none).
int CountConnectedGroups(const std::vector<std::vector<int>>& adjacency, const std::set<int>& ids);

// The size of the largest connected group within `ids`.
int LargestConnectedGroup(const std::vector<std::vector<int>>& adjacency, const std::set<int>& ids);
// The same on bitsets (ids < 64): adjacency[i] is the mask of the ids linked
// to i.
int LargestMaskGroup(const std::vector<uint64_t>& adjacency, uint64_t ids);

// The Neuron device ids a task of `request` gets on an instance with
// `devices`, or why it cannot have them (refusal, for a failure detail:
// "device 3 is taken"). Exact ids (/dev/neuronN) come first; a count is
// chosen among the other free devices; ALL is every device, all free.
struct DeviceChoice {
  std::vector<int> ids;  // ascending
  std::string refusal;   // empty when the task can have `ids`
  bool ok() const { return refusal.empty(); }
};
using NeuronChoice = DeviceChoice;
NeuronChoice ChooseNeuronDevices(const NeuronDeviceSet& devices, const PlacementRequest& request);

// Whether the request asks for Neuron devices at all (ids, a count or ALL).
bool WantsNeuronDevices(const PlacementRequest& request);

// ChooseNeuronDevices for an instance of at most 64 devices, on bitsets: the
// same ids, without building sets. adjacency[i] is the mask of the ids
// linked to i (from NeuronAdjacency); free_mask the ids not taken. The
// refusals, when there is one, are ChooseNeuronDevices' own.
NeuronChoice ChooseNeuronDevicesOnMasks(const NeuronDeviceSet& devices,
                                        const std::vector<uint64_t>& adjacency, uint64_t free_mask,
                                        const PlacementRequest& request);

// The lowest `count` free GPU ids; empty when fewer are free.
std::vector<int> ChooseGpus(const GpuSet& gpus, int count);

// Free GPU ids of an instance.
int FreeGpuCount(const GpuSet& gpus);

// Whether the request asks for EFA devices at all (ids, a count or ALL).
bool WantsEfaDevices(const PlacementRequest& request);

// The EFA device ids a task of `request` gets on an instance with `efa`, or
// why not ("EFA device 3 is taken"): the exact ids (/dev/infiniband/uverbsN)
// and the lowest free others for a count; ALL is every EFA device, all free.
// Any EFA device reaches the whole fabric, so there is no topology to weigh.
DeviceChoice ChooseEfaDevices(const EfaDeviceSet& efa, const PlacementRequest& request);

}  // namespace berth::scheduler
