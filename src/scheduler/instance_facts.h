// What the scheduler knows of one container instance: a plain value, copied
// out of the server's state into a snapshot, so that placement runs without
// locks, I/O or a clock.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace berth::scheduler {

struct InstanceFacts {
  std::string id;  // container instance id (last part of its ARN)
  std::string arn;
  std::string ec2_instance_id;
  std::string status = "ACTIVE";  // only ACTIVE instances take new tasks
  bool agent_connected = true;
  std::string agent_version;
  int64_t registered_at_millis = 0;
  int running_tasks_count = 0;
  // Custom and ecs.* attributes; a name without a value maps to "".
  std::map<std::string, std::string> attributes;
  // task:group of the tasks on this instance (running or pending), one
  // entry per task, for constraints such as "task:group == trainers".
  std::vector<std::string> task_groups;
};

}  // namespace berth::scheduler
