// The ECS cluster query language, as memberOf constraints and
// ListContainerInstances --filter use it:
//
//   attribute:ecs.instance-type == trn1.32xlarge and agentConnected == true
//   attribute:ecs.availability-zone in [us-east-1a, us-east-1b]
//   not(task:group == trainers) || runningTasksCount < 4
//
// Subjects: agentConnected, agentVersion, attribute:<name>, ec2InstanceId,
// registeredAt, runningTasksCount, task:group. Operators: == != > >= < <=
// exists !exists in !in =~ !~ (and their word forms equals, not_equals,
// greater_than, ..., matches, not_matches), joined with && || ! (and, or,
// not) and parentheses. At most 2,000 characters.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "scheduler/instance_facts.h"

namespace berth::scheduler {

// An immutable, parsed expression. Thread-safe to evaluate concurrently.
class Query {
 public:
  // InvalidArgument with the position of the first error:
  // "position 27: expected a value after '=='".
  static StatusOr<Query> Parse(std::string_view text);

  bool Matches(const InstanceFacts& instance) const;
  // Whether the answer can change when a task is placed on or leaves an
  // instance (the expression reads runningTasksCount or task:group). When
  // false, Matches depends only on facts that placement never changes, so a
  // caller may remember the answer per instance.
  bool DependsOnTasks() const;
  const std::string& text() const;

  struct Node;  // the syntax tree, defined in query_node.h

 private:
  Query(std::string text, std::shared_ptr<const Node> root);
  std::string text_;
  std::shared_ptr<const Node> root_;
};

}  // namespace berth::scheduler
