// One cgroup per task, its containers' cgroups below it: runc puts each
// container at linux.cgroupsPath "/berth/<task id>/<container>", and the
// agent makes "/berth/<task id>" first with the task definition's task-level
// cpu and memory on it, so they bound the sum of its containers, as ECS does
// on EC2; a container's own limits apply within its share. cgroup v2
// (memory.max, cpu.max) or v1 (memory.limit_in_bytes, cpu.cfs_quota_us).
//
// The cgroup is the kernel's, not the agent's: containers keep running in it
// while the agent restarts. Thread-safe (no state but the root).
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace berth::agent {

struct TaskLimits {
  std::optional<int64_t> cpu_units;   // 1024 per CPU
  std::optional<int64_t> memory_mib;  // MiB
};
// The task-level "cpu" and "memory" of a task definition ("1024", "1 vCPU",
// "2 GB"); absent or unreadable ones are left out.
TaskLimits TaskLimitsOf(const boost::json::object& task_definition);

// Why the kernel's OOM killer killed a process of a container, read from
// its cgroup.
enum class OomKill {
  kUnknown,         // its cgroup cannot be read (gone, or no memory controller)
  kNone,            // nothing of it was OOM-killed
  kContainerLimit,  // its own memory limit was reached
  kTaskLimit,       // the task's was: its containers together used too much
  kOther,           // neither (the node ran out of memory)
};

class TaskCgroups {
 public:
  // root: where the cgroup file systems are mounted (a fake tree in tests).
  explicit TaskCgroups(std::string root = "/sys/fs/cgroup");

  // runc's linux.cgroupsPath for a container of the task.
  static std::string CgroupsPath(const std::string& task_id, const std::string& container);

  // Makes the task's cgroup with limits on it (again, unchanged, when it
  // exists: an adopted task). Without limits nothing is made (runc makes
  // the folders). Errors name the file: "task cgroup: write
  // /sys/fs/cgroup/berth/ID/memory.max: Device or resource busy".
  Status Create(const std::string& task_id, const TaskLimits& limits) const;

  // Read before Remove; kUnknown when the cgroup cannot be read.
  OomKill ContainerOomKill(const std::string& task_id, const std::string& container) const;

  // Removes the task's cgroup and the exited containers' cgroups below it,
  // in every hierarchy; one that still holds a process stays.
  void Remove(const std::string& task_id) const;

 private:
  bool Unified() const;  // cgroup v2 alone (no v1 controllers)

  std::string root_;
};

}  // namespace berth::agent
