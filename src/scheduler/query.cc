// Query's public face: parsing delegates to query_parser.cc; evaluation, which
// cannot fail because the parser converted every argument, lives here.
#include "scheduler/query.h"

#include <string>
#include <string_view>
#include <utility>

#include "scheduler/query_node.h"
#include "scheduler/query_parser.h"
#include "scheduler/query_values.h"

namespace berth::scheduler {
namespace {

using query_internal::Argument;
using query_internal::Condition;
using query_internal::Operator;
using query_internal::Subject;

// What one comparison operator says about a three-way comparison result.
bool Holds(Operator op, int comparison) {
  switch (op) {
    case Operator::kEquals:
    case Operator::kIn:
      return comparison == 0;
    case Operator::kGreater:
      return comparison > 0;
    case Operator::kGreaterEqual:
      return comparison >= 0;
    case Operator::kLess:
      return comparison < 0;
    case Operator::kLessEqual:
      return comparison <= 0;
    case Operator::kExists:
    case Operator::kMatches:
      break;
  }
  return false;
}

// A subject's value compared with one argument, in the subject's own order.
int Compare(const Condition& condition, const InstanceFacts& instance, std::string_view value,
            const Argument& argument) {
  switch (condition.subject) {
    case Subject::kRunningTasksCount: {
      const int64_t count = instance.running_tasks_count;
      return count < *argument.integer ? -1 : (count > *argument.integer ? 1 : 0);
    }
    case Subject::kRegisteredAt:
      return query_internal::CompareTimestamp(instance.registered_at_millis, *argument.time);
    case Subject::kAgentVersion:
      return query_internal::CompareVersions(value, argument.text);
    default:
      return query_internal::CompareValues(value, argument.text);
  }
}

// Calls `test` with each value the subject has on the instance until one
// passes, and says whether one did. A subject can be absent (no values): an
// attribute the instance lacks, a task group on an instance without tasks, an
// agent version or EC2 id never reported. task:group has one value per task,
// so its conditions hold when any task's group satisfies them.
template <typename Test>
bool AnyValue(const Condition& condition, const InstanceFacts& instance, const Test& test) {
  switch (condition.subject) {
    case Subject::kAgentConnected:
      return test(instance.agent_connected ? "true" : "false");
    case Subject::kAgentVersion:
      return !instance.agent_version.empty() && test(instance.agent_version);
    case Subject::kAttribute: {
      auto it = instance.attributes.find(condition.attribute_name);
      return it != instance.attributes.end() && test(it->second);
    }
    case Subject::kEc2InstanceId:
      return !instance.ec2_instance_id.empty() && test(instance.ec2_instance_id);
    case Subject::kRegisteredAt:
    case Subject::kRunningTasksCount:
      // Compared through their numeric fields in Compare; the text is unused.
      return test(std::string_view());
    case Subject::kTaskGroup:
      for (const std::string& group : instance.task_groups) {
        if (test(group)) return true;
      }
      return false;
  }
  return false;
}

// The condition without its negation.
bool PositiveHolds(const Condition& condition, const InstanceFacts& instance) {
  if (condition.op == Operator::kExists) {
    return AnyValue(condition, instance, [](std::string_view) { return true; });
  }
  if (condition.op == Operator::kMatches) {
    return AnyValue(condition, instance,
                    [&](std::string_view value) { return condition.pattern->Matches(value); });
  }
  return AnyValue(condition, instance, [&](std::string_view value) {
    for (const Argument& argument : condition.arguments) {
      if (Holds(condition.op, Compare(condition, instance, value, argument))) return true;
    }
    return false;
  });
}

bool Evaluate(const Query::Node& node, const InstanceFacts& instance) {
  switch (node.kind) {
    case Query::Node::Kind::kAnd:
      for (const auto& child : node.children) {
        if (!Evaluate(*child, instance)) return false;
      }
      return true;
    case Query::Node::Kind::kOr:
      for (const auto& child : node.children) {
        if (Evaluate(*child, instance)) return true;
      }
      return false;
    case Query::Node::Kind::kNot:
      return !Evaluate(*node.children.front(), instance);
    case Query::Node::Kind::kCondition:
      // Negated operators are the negation of the positive form, so an
      // absent attribute gives != true, !in true, !exists true, !~ true, and
      // "task:group != x" means no task of the instance is in group x.
      return PositiveHolds(node.condition, instance) != node.condition.negated;
  }
  return false;
}

bool ReadsTasks(const Query::Node& node) {
  if (node.kind == Query::Node::Kind::kCondition) {
    return node.condition.subject == Subject::kRunningTasksCount ||
           node.condition.subject == Subject::kTaskGroup;
  }
  for (const auto& child : node.children) {
    if (ReadsTasks(*child)) return true;
  }
  return false;
}

}  // namespace

StatusOr<Query> Query::Parse(std::string_view text) {
  StatusOr<std::unique_ptr<const Node>> root = query_internal::ParseQueryTree(text);
  if (!root.ok()) return root.status();
  return Query(std::string(text), std::shared_ptr<const Node>(std::move(root).value()));
}

bool Query::Matches(const InstanceFacts& instance) const { return Evaluate(*root_, instance); }

bool Query::DependsOnTasks() const { return ReadsTasks(*root_); }

const std::string& Query::text() const { return text_; }

Query::Query(std::string text, std::shared_ptr<const Node> root)
    : text_(std::move(text)), root_(std::move(root)) {}

}  // namespace berth::scheduler
