// For the libFuzzer targets (*_fuzz.cc) only: reading the input and checking
// properties. A failed check aborts, which libFuzzer reports as a crash and
// keeps the input that caused it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace berth::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The text before the first '\n' and the text after it; (text, "") when there
// is no '\n'. Targets whose input has several parts take them line by line.
inline std::pair<std::string_view, std::string_view> SplitLine(std::string_view text) {
  size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return {text, {}};
  return {text.substr(0, newline), text.substr(newline + 1)};
}

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, condition);
  std::abort();
}

}  // namespace berth::fuzz

// A property every input must keep (unlike assert, also with NDEBUG).
#define BERTH_FUZZ_CHECK(condition) \
  ((condition) ? (void)0 : ::berth::fuzz::CheckFailed(__FILE__, __LINE__, #condition))
