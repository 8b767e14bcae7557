// The regular expressions of AWS service models (the "pattern" of a string
// shape), matched against request values in time linear in their length.
//
// botocore patterns are Java regular expressions that the services apply to
// the whole value. std::regex backtracks: exponential time and deep recursion
// on patterns such as ECR's ^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$, so
// request input never reaches it. A Pattern is compiled to an NFA instead and
// simulated breadth-first (a Pike VM without captures).
//
// The subset the models use is supported: literals, '.', classes with ranges
// and negation, \d \D \s \S \w \W \p{..} \P{..}, groups ( ) (?: ),
// alternation, * + ? {n} {n,} {n,m} (lazy forms too) and ^ $. Anything else
// (lookaround, backreferences, flags, possessive quantifiers) fails to
// compile and the caller skips the check.
//
// Characters are UTF-8 code points. Outside ASCII the Unicode categories are
// not carried: a non-ASCII character matches every \p{..} and \P{..} and
// every negated class, never a plain class, \d, \s or \w. This errs on
// accepting, which is the safe side for a service that must take what
// real clients send.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::model {

class Pattern {
 public:
  // nullopt when pattern uses syntax outside the subset, or would compile to
  // an unreasonably large program (x{1000}{1000}).
  static std::optional<Pattern> Compile(std::string_view pattern);

  // True when all of text matches. Thread-safe; allocates only for programs
  // larger than a few hundred instructions.
  bool Matches(std::string_view text) const;

  const std::string& source() const { return source_; }

  // Internal, public only so that the compiler in pattern.cc can build them.
  struct CharSet {
    std::bitset<128> ascii;
    bool non_ascii = false;  // whether code points >= 0x80 belong to the set
  };
  enum class Op : uint8_t { kSet, kSplit, kJmp, kBegin, kEnd, kMatch };
  struct Inst {
    Op op;
    uint32_t x = 0;  // kSet: index into sets_; kSplit / kJmp: target
    uint32_t y = 0;  // kSplit: second target
  };

 private:
  Pattern() = default;

  std::string source_;
  std::vector<CharSet> sets_;
  std::vector<Inst> program_;
};

}  // namespace berth::model
