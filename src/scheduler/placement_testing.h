// Builders for placement tests: short cluster descriptions instead of
// struct literals twenty lines long.
#pragma once

#include <string>
#include <vector>

#include "scheduler/placement.h"

namespace berth::scheduler::testing {

// An ACTIVE, connected instance with `cpu` units and `memory_mib` free.
inline SnapshotInstance Instance(std::string id, int64_t cpu = 4096, int64_t memory_mib = 8192) {
  SnapshotInstance instance;
  instance.facts.id = std::move(id);
  instance.facts.arn =
      "arn:aws:ecs:us-east-1:000000000000:container-instance/c/" + instance.facts.id;
  instance.resources.cpu_registered = instance.resources.cpu_remaining = cpu;
  instance.resources.memory_registered_mib = instance.resources.memory_remaining_mib = memory_mib;
  return instance;
}

// A trn1.32xlarge: 128 vCPUs, 512 GiB, 16 Neuron devices linked in a ring
// (i <-> i+1 mod 16).
inline SnapshotInstance Trn1(std::string id) {
  SnapshotInstance instance = Instance(std::move(id), 128 * 1024, 512 * 1024);
  instance.facts.attributes["ecs.instance-type"] = "trn1.32xlarge";
  instance.resources.neuron.count = 16;
  for (int i = 0; i < 16; ++i) instance.resources.neuron.links[i] = {(i + 1) % 16, (i + 15) % 16};
  return instance;
}

inline SnapshotInstance WithAttribute(SnapshotInstance instance, const std::string& name,
                                      const std::string& value) {
  instance.facts.attributes[name] = value;
  return instance;
}

inline ClusterSnapshot Cluster(std::vector<SnapshotInstance> instances) {
  return ClusterSnapshot{std::move(instances)};
}

inline std::vector<std::string> InstanceIds(const std::vector<TaskPlacement>& placements) {
  std::vector<std::string> ids;
  for (const TaskPlacement& p : placements) ids.push_back(p.instance_id);
  return ids;
}

}  // namespace berth::scheduler::testing
