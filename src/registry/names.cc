#include "registry/names.h"

namespace berth::registry {

namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool IsValidComponent(std::string_view c) {
  size_t i = 0;
  auto alnum_run = [&] {
    size_t start = i;
    while (i < c.size() && IsLowerAlnum(c[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < c.size()) {
    // A separator: ".", "_", "__" or one or more "-".
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnum_run()) return false;
  }
  return true;
}

}  // namespace

bool IsValidRepositoryName(std::string_view name) {
  if (name.size() < kMinRepositoryNameLength || name.size() > kMaxRepositoryNameLength) {
    return false;
  }
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view component = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!IsValidComponent(component)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag[0])) return false;
  for (char c : tag.substr(1)) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool WildcardMatches(std::string_view pattern, std::string_view text) {
  // The classic greedy match: on a mismatch, the last '*' takes one more
  // character. Each step moves t forward or rewinds to a later start.
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace berth::registry
