// The task metadata documents (ECS task metadata endpoint v4, and v3 which
// shares their shape), built from what a task's worker knows of the task:
// pure functions over a snapshot, so they are tested without a container.
//
// Field names and meanings are the ECS agent's (its tmds/handlers/v2 and v4
// responses); berth adds, under "Berth", what ECS has no field for: a
// container's devices and a gang's rank.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace berth::agent {

struct ContainerSnapshot {
  std::string name;
  std::string runtime_id;  // DockerId, DockerName
  std::string container_arn;
  std::string image;     // as the definition names it
  std::string image_id;  // the image config's digest
  std::string desired_status = "RUNNING";
  std::string known_status = "PENDING";  // PENDING, RUNNING, STOPPED
  std::optional<int> exit_code;
  int64_t created_at = 0;  // ms since the epoch; 0: not yet
  int64_t started_at = 0;
  int64_t finished_at = 0;
  boost::json::object labels;  // dockerLabels
  int64_t cpu = 0;             // CPU units of the definition
  int64_t memory_mib = 0;      // memory (hard limit) of the definition, else memoryReservation
  std::string log_driver;
  boost::json::object log_options;
  std::optional<std::string> health;  // HEALTHY, UNHEALTHY, UNKNOWN; unset: no check
  int64_t health_since = 0;
  std::optional<int> restart_count;  // with a restart policy
  std::vector<int> neuron_device_ids, gpu_ids, efa_device_ids;
};

struct TaskSnapshot {
  std::string cluster_arn;
  std::string task_arn;
  std::string family;
  std::string revision;
  std::string desired_status = "RUNNING";
  std::string known_status = "PENDING";
  std::string task_cpu;     // the definition's task-level cpu (units), "" when none
  std::string task_memory;  // the definition's task-level memory (MiB), "" when none
  int64_t pull_started_at = 0;
  int64_t pull_stopped_at = 0;
  int64_t execution_stopped_at = 0;
  std::string availability_zone;
  std::string launch_type = "EC2";
  std::string network_mode;  // "host", or the definition's (none, awsvpc, "")
  std::string host_address;  // the node's address (host network)
  std::string container_instance_arn;
  boost::json::array tags;   // the task's tags ({"key", "value"})
  boost::json::object gang;  // the task's "berthGang" ({"name", "rank", "size", ...}), or empty
  std::vector<ContainerSnapshot> containers;

  const ContainerSnapshot* Find(std::string_view container) const;
};

// `${ECS_CONTAINER_METADATA_URI_V4}`: one container.
boost::json::object ContainerMetadataJson(const TaskSnapshot& task,
                                          const ContainerSnapshot& container);
// `${ECS_CONTAINER_METADATA_URI_V4}/task`; with_tags: `/taskWithTags`
// (TaskTags, and ContainerInstanceTags left out: berth's agent does not
// know them).
boost::json::object TaskMetadataJson(const TaskSnapshot& task, bool with_tags);

}  // namespace berth::agent
