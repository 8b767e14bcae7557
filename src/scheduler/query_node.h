// The syntax tree of a parsed cluster query: what the parser produces and the
// evaluator walks. Internal to the scheduler; callers use Query.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/query.h"
#include "scheduler/query_pattern.h"
#include "scheduler/query_values.h"

namespace berth::scheduler::query_internal {

enum class Subject {
  kAgentConnected,
  kAgentVersion,
  kAttribute,
  kEc2InstanceId,
  kRegisteredAt,
  kRunningTasksCount,
  kTaskGroup,
};

// The positive operators. not_equals, not_exists, not_in and not_matches are
// stored as their positive form with Condition::negated set, so that "absent"
// gives the documented answers (== false, != true) by one rule.
enum class Operator {
  kEquals,
  kGreater,
  kGreaterEqual,
  kLess,
  kLessEqual,
  kExists,
  kIn,
  kMatches,
};

// One argument, converted when parsed so that evaluation never fails.
struct Argument {
  std::string text;                // agentConnected arguments are lower-cased
  std::optional<Timestamp> time;   // registeredAt
  std::optional<int64_t> integer;  // runningTasksCount
};

struct Condition {
  Subject subject = Subject::kAttribute;
  std::string attribute_name;  // for Subject::kAttribute
  Operator op = Operator::kEquals;
  bool negated = false;
  std::vector<Argument> arguments;      // none for exists, several for in
  std::optional<QueryPattern> pattern;  // for matches
};

}  // namespace berth::scheduler::query_internal

namespace berth::scheduler {

struct Query::Node {
  enum class Kind { kAnd, kOr, kNot, kCondition };
  Kind kind = Kind::kCondition;
  // kAnd and kOr hold two or more children, kNot one. Chains of 'and' stay
  // one node, so the tree is only as deep as the parentheses and 'not's that
  // the parser's depth limit allows.
  std::vector<std::unique_ptr<const Node>> children;
  query_internal::Condition condition;  // for kCondition
};

}  // namespace berth::scheduler
