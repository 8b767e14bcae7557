#include "scheduler/query_pattern.h"

#include <algorithm>
#include <cctype>

namespace berth::scheduler::query_internal {
namespace {

std::bitset<256> Single(unsigned char c) {
  std::bitset<256> set;
  set.set(c);
  return set;
}

// The set for \d \w \s (and their negations \D \W \S); false for any other
// letter, which is then taken literally like Java's \. or \*.
bool ShorthandClass(char letter, std::bitset<256>* set) {
  std::bitset<256> s;
  switch (std::tolower(static_cast<unsigned char>(letter))) {
    case 'd':
      for (int c = '0'; c <= '9'; ++c) s.set(c);
      break;
    case 'w':
      for (int c = 0; c < 128; ++c) {
        if (std::isalnum(c) || c == '_') s.set(c);
      }
      break;
    case 's':
      for (char c : std::string_view(" \t\n\v\f\r")) s.set(static_cast<unsigned char>(c));
      break;
    default:
      return false;
  }
  *set = std::isupper(static_cast<unsigned char>(letter)) ? ~s : s;
  return true;
}

bool IsEscapableLiteral(char c) { return !std::isalnum(static_cast<unsigned char>(c)); }

// One member of a [...] class at pattern[*i], escapes resolved; advances *i.
// Returns false at the end of the pattern; sets *shorthand for \d and kin.
bool ReadClassMember(std::string_view pattern, size_t* i, unsigned char* member,
                     std::bitset<256>* shorthand, bool* is_shorthand) {
  *is_shorthand = false;
  if (*i >= pattern.size()) return false;
  if (pattern[*i] != '\\') {
    *member = static_cast<unsigned char>(pattern[(*i)++]);
    return true;
  }
  if (*i + 1 >= pattern.size()) return false;
  *is_shorthand = ShorthandClass(pattern[*i + 1], shorthand);
  *member = static_cast<unsigned char>(pattern[*i + 1]);
  *i += 2;
  return true;
}

// A class from its '[' at pattern[*i] to its ']', leaving *i on the ']'.
// A ']' first in the class is a member, as in Java; a backwards range
// ("[z-a]") is empty rather than an error.
bool ParseClass(std::string_view pattern, size_t* i, std::bitset<256>* out) {
  size_t at = *i + 1;
  const bool negate = at < pattern.size() && pattern[at] == '^';
  if (negate) ++at;
  std::bitset<256> set;
  bool first = true;
  while (true) {
    if (at >= pattern.size()) return false;
    if (pattern[at] == ']' && !first) break;
    first = false;
    unsigned char low = 0;
    std::bitset<256> shorthand;
    bool is_shorthand = false;
    if (!ReadClassMember(pattern, &at, &low, &shorthand, &is_shorthand)) return false;
    if (is_shorthand) {
      set |= shorthand;
      continue;
    }
    if (at + 1 < pattern.size() && pattern[at] == '-' && pattern[at + 1] != ']') {
      ++at;
      unsigned char high = 0;
      if (!ReadClassMember(pattern, &at, &high, &shorthand, &is_shorthand)) return false;
      for (int b = low; b <= high; ++b) set.set(b);
    } else {
      set.set(low);
    }
  }
  *i = at;
  *out = negate ? ~set : set;
  return true;
}

}  // namespace

bool QueryPattern::Compile(std::string_view pattern, QueryPattern* out, size_t* error_offset,
                           std::string* error) {
  auto fail = [&](size_t at, std::string message) {
    *error_offset = at;
    *error = std::move(message);
    return false;
  };
  std::vector<Item> items;
  bool last_repeated = false;  // so that "a**" is refused, as Java refuses it
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    switch (c) {
      case '*':
      case '+':
      case '?': {
        if (items.empty() && c == '*') {
          // The wildcard courtesy: a leading '*' is ".*".
          items.push_back({std::bitset<256>().set(), Repeat::kAnyNumber});
          last_repeated = true;
          continue;
        }
        if (items.empty() || last_repeated) {
          return fail(i, std::string("'") + c + "' has nothing to repeat");
        }
        if (c == '+') {
          // x+ is x followed by x*.
          items.push_back({items.back().accepts, Repeat::kAnyNumber});
        } else {
          items.back().repeat = c == '*' ? Repeat::kAnyNumber : Repeat::kOptional;
        }
        last_repeated = true;
        continue;
      }
      case '^':
        if (i != 0) return fail(i, "'^' is only supported at the start of a pattern");
        continue;
      case '$':
        if (i + 1 != pattern.size()) {
          return fail(i, "'$' is only supported at the end of a pattern");
        }
        continue;
      case '(':
      case ')':
      case '|':
      case '{':
      case '}':
        return fail(i, std::string("'") + c +
                           "' is not supported in patterns (use . * + ? [] and \\ escapes)");
      case '.':
        items.push_back({std::bitset<256>().set(), Repeat::kOnce});
        break;
      case '\\': {
        if (i + 1 == pattern.size()) return fail(i, "'\\' at the end of a pattern");
        const char next = pattern[++i];
        std::bitset<256> set;
        if (!ShorthandClass(next, &set)) {
          if (!IsEscapableLiteral(next)) {
            return fail(i - 1, std::string("unsupported escape '\\") + next + "'");
          }
          set = Single(static_cast<unsigned char>(next));
        }
        items.push_back({set, Repeat::kOnce});
        break;
      }
      case '[': {
        std::bitset<256> set;
        const size_t open = i;
        if (!ParseClass(pattern, &i, &set)) return fail(open, "'[' without a closing ']'");
        items.push_back({set, Repeat::kOnce});
        break;
      }
      default:
        items.push_back({Single(static_cast<unsigned char>(c)), Repeat::kOnce});
        break;
    }
    last_repeated = false;
  }
  out->items_ = std::move(items);
  return true;
}

bool QueryPattern::Matches(std::string_view value) const {
  // The items form a chain of NFA states; `live[k]` says the first k items
  // can have matched the value read so far. Optional and repeated items can
  // be skipped, so each step closes over those skips going forward.
  const size_t n = items_.size();
  std::vector<char> live(n + 1, 0), next(n + 1, 0);
  auto close = [&](std::vector<char>& states) {
    for (size_t k = 0; k < n; ++k) {
      if (states[k] && items_[k].repeat != Repeat::kOnce) states[k + 1] = 1;
    }
  };
  live[0] = 1;
  close(live);
  for (unsigned char c : value) {
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (size_t k = 0; k < n; ++k) {
      if (!live[k] || !items_[k].accepts.test(c)) continue;
      next[items_[k].repeat == Repeat::kAnyNumber ? k : k + 1] = 1;
      any = true;
    }
    if (!any) return false;
    close(next);
    live.swap(next);
  }
  return live[n] != 0;
}

}  // namespace berth::scheduler::query_internal
