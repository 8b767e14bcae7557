// The argument of =~ / matches and !~ / not_matches.
//
// ECS reads these arguments as Java regular expressions matched against the
// whole value ("attribute:ecs.instance-type =~ t2.*"). The scheduler links
// only berth_common, so this is a small subset compiled for matching in time
// proportional to pattern length times value length, with no backtracking
// and no recursion, whatever the pattern:
//
//   x      a literal character        \x   x literally (\. \* \\ ...)
//   .      any character              \d \w \s and \D \W \S
//   [a-z]  a class, [^...] negated    ^ first, $ last: accepted, no effect
//   x* x+ x?                           repeat the previous item
//
// A '*' with nothing before it matches any run of characters, so a wildcard
// such as "*.large" means what its writer meant. Groups, alternation and
// {n,m} are refused with their position rather than matched differently
// from ECS.
#pragma once

#include <bitset>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace berth::scheduler::query_internal {

class QueryPattern {
 public:
  // On failure returns false and sets *error_offset (0-based, into pattern)
  // and *error to what is wrong there.
  static bool Compile(std::string_view pattern, QueryPattern* out, size_t* error_offset,
                      std::string* error);

  // True when all of value matches. Thread-safe.
  bool Matches(std::string_view value) const;

 private:
  enum class Repeat { kOnce, kAnyNumber, kOptional };
  struct Item {
    std::bitset<256> accepts;  // the bytes this item matches
    Repeat repeat = Repeat::kOnce;
  };
  std::vector<Item> items_;
};

}  // namespace berth::scheduler::query_internal
