// Turns cluster query text into the syntax tree that Query evaluates,
// checking everything that can be checked without an instance: subjects,
// operators allowed for each subject, dates, numbers and patterns.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "common/status.h"
#include "scheduler/query_node.h"

namespace berth::scheduler::query_internal {

// ECS refuses longer expressions; the limit also bounds every loop below.
inline constexpr size_t kMaxQueryLength = 2000;

// Parentheses and 'not's nested deeper than this are refused, so that the
// recursive parser and evaluator use a small, fixed amount of stack.
inline constexpr int kMaxQueryDepth = 64;

// InvalidArgument "position N: ..." (1-based byte offset) for the first error.
StatusOr<std::unique_ptr<const Query::Node>> ParseQueryTree(std::string_view text);

}  // namespace berth::scheduler::query_internal
