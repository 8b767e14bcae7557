// The answer of the assignment poll (GET /berth/v1/agent/tasks, README.md
// "The channel between server and agent"): the instance's version, every
// task it should run (each the Task as DescribeTasks shows it plus its
// "taskDefinition" and "overrides", or, unchanged, its ARN alone) and the
// credentials of the tasks' roles.
//
// The agent checks the shape of every task before it acts on any: a task's
// id and its containers' and volumes' names become paths under the data
// folder, and the task runner reads the lists without checking them again.
// A malformed answer is refused whole, so the tasks running stay as they are
// until a good answer comes.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::agent {

struct Assignments {
  std::string version;
  std::vector<boost::json::object> tasks;  // new or changed, in full
  // Still wanted, unchanged since the version the poll named (delta=1).
  std::vector<std::string> unchanged_task_arns;
  // By task ARN: {"roleCredentials", "executionRoleCredentials"}, each an
  // object when the task's role has credentials.
  boost::json::object credentials;
};

// InvalidArgument naming the task and field that is wrong.
StatusOr<Assignments> ParseAssignments(std::string_view body);

// The checks ParseAssignments makes of one task (also of an assignment.json
// adopted from an earlier run): a "taskArn" whose last part is a task id
// ([A-Za-z0-9_-]+); a "taskDefinition" object whose "containerDefinitions"
// are objects named as ECS names containers (1 to 255 of [A-Za-z0-9_-]),
// whose "volumes", if any, are objects named the same way; and
// "containers" and "overrides.containerOverrides", if any, lists of objects.
Status CheckAssignedTask(const boost::json::object& task);

}  // namespace berth::agent
