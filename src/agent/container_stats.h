// A container's resource usage as Docker's stats API shows it (the JSON
// the ECS task metadata endpoint serves at /stats): read from the cgroup
// of the container's init process, cgroup v1 (memory, cpu, cpuacct, pids,
// blkio) or v2, found through /proc/<pid>/cgroup and the mount table, so
// that it follows wherever the cgroup is.
//
// Thread-safe: each container's previous reading (precpu_stats) is kept
// under a lock.
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <mutex>
#include <string>

#include "common/status.h"

namespace berth::agent {

class ContainerStats {
 public:
  // root: where /proc and the cgroup mounts are read ("/", or a fake tree
  // in tests).
  explicit ContainerStats(std::string root = "/") : root_(std::move(root)) {}

  // Docker's stats document for the container whose init process is pid:
  // read, preread, cpu_stats, precpu_stats (this container's previous
  // reading; zeros at the first), memory_stats, pids_stats, blkio_stats,
  // num_procs, name ("/" + name), id. now_millis dates the reading.
  StatusOr<boost::json::object> Read(const std::string& id, const std::string& name, int pid,
                                     int64_t now_millis);
  // Forgets a container's previous reading.
  void Forget(const std::string& id);

 private:
  std::string root_;
  std::mutex mu_;
  struct Previous {
    boost::json::object cpu_stats;
    int64_t read_millis = 0;
  };
  std::map<std::string, Previous> previous_;
};

}  // namespace berth::agent
