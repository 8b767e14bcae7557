// What this node offers to tasks, read from the running system: CPU and
// memory, Neuron devices (/dev/neuronN and /sys/class/neuron_device/neuronN/)
// and NVIDIA GPUs (/dev/nvidiaN and /proc/driver/nvidia/gpus/). Every path
// is read under `root`, so tests build fake device trees in a folder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::agent {

struct NeuronDevice {
  int index = 0;            // N of /dev/neuronN
  int core_count = 0;       // sysfs core_count, 0 when unknown
  std::vector<int> connected;  // indexes of the devices it links to (sysfs connected_devices)
};

struct GpuDevice {
  int index = 0;     // N of /dev/nvidiaN
  std::string uuid;  // "GPU-..." from the driver's information file, when present
  std::string model;
};

struct NodeDevices {
  int cpu_count = 0;         // online CPUs
  int64_t cpu_units = 0;     // 1,024 per CPU
  int64_t memory_mib = 0;    // MemTotal less the reserve
  std::vector<NeuronDevice> neuron;
  std::vector<GpuDevice> gpus;
};

struct DiscoverOptions {
  std::string root = "/";           // where /dev, /sys and /proc are read
  int64_t memory_reserve_mib = 256;  // kept back for the system and the agent
};

StatusOr<NodeDevices> DiscoverNodeDevices(const DiscoverOptions& options);

}  // namespace berth::agent
