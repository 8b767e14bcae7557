// What this node offers to tasks, read from the running system: CPU and
// memory, Neuron devices (/dev/neuronN and /sys/class/neuron_device/neuronN/),
// NVIDIA GPUs (/dev/nvidiaN and /proc/driver/nvidia/gpus/) and EFA devices
// (/dev/infiniband/uverbsN). Every path is read under `root`, so tests build
// fake device trees in a folder.
//
// Discovery only reads files; it keeps no state and is safe to call from any
// thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::agent {

struct NeuronDevice {
  int index = 0;       // N of /dev/neuronN
  int core_count = 0;  // sysfs core_count, 0 when unknown
  // Indexes of the devices it links to (sysfs connected_devices), sorted, without duplicates;
  // empty when the driver does not say.
  std::vector<int> connected;
};

struct GpuDevice {
  int index = 0;     // N of /dev/nvidiaN (the driver's "Device Minor")
  std::string uuid;  // "GPU-..." from the driver's information file, when present
  std::string model;
};

struct NodeDevices {
  int cpu_count = 0;                 // online CPUs
  int64_t cpu_units = 0;             // 1,024 per CPU
  int64_t memory_mib = 0;            // MemTotal less the reserve, never below 0
  std::vector<NeuronDevice> neuron;  // sorted by index
  std::vector<GpuDevice> gpus;       // sorted by index
  // EFA devices: N of each /dev/infiniband/uverbsN, sorted. The verbs
  // device is what libfabric's EFA provider opens, one per adapter.
  std::vector<int> efa;
};

struct DiscoverOptions {
  std::string root = "/";            // where /dev, /sys and /proc are read
  int64_t memory_reserve_mib = 256;  // kept back for the system and the agent
};

// Reads:
//   CPUs     ROOT/sys/devices/system/cpu/online ("0-3,6"), else the "processor"
//            lines of ROOT/proc/cpuinfo
//   memory   MemTotal of ROOT/proc/meminfo (kB)
//   Neuron   character devices ROOT/dev/neuronN; core_count and connected_devices
//            from ROOT/sys/class/neuron_device/neuronN/ (or
//            ROOT/sys/devices/virtual/neuron_device/neuronN/). A device without
//            sysfs still counts, with core_count 0 and no links.
//   GPUs     character devices ROOT/dev/nvidiaN (digits only: not nvidiactl,
//            nvidia-uvm); model and UUID from
//            ROOT/proc/driver/nvidia/gpus/*/information, matched by "Device Minor".
//   EFA      character devices ROOT/dev/infiniband/uverbsN (not rdma_cm, which
//            every task that has an EFA device shares).
// A missing /dev, sysfs or driver folder means "none"; a missing meminfo, no
// CPU information at all, or a file that cannot be parsed is an error that
// names the file ("read /x/proc/meminfo: No such file or directory").
StatusOr<NodeDevices> DiscoverNodeDevices(const DiscoverOptions& options);

// "0-3,6\n" -> {0, 1, 2, 3, 6}: the kernel's CPU list format.
StatusOr<std::vector<int>> ParseCpuList(std::string_view text);

// "1, 3, 4, 12\n" (the Neuron driver's connected_devices) or "1 3 4 12" ->
// {1, 3, 4, 12}, sorted and without duplicates.
StatusOr<std::vector<int>> ParseDeviceIndexList(std::string_view text);

}  // namespace berth::agent
