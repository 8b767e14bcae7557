// ASCII case helpers for header names; HTTP field names are ASCII tokens, so
// locale-aware functions would be both slower and wrong here.
#pragma once

#include <string>
#include <string_view>

namespace berth::http {

inline char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline void ToLowerInPlace(std::string& s) {
  for (char& c : s) c = ToLowerAscii(c);
}

inline std::string ToLower(std::string_view s) {
  std::string out(s);
  ToLowerInPlace(out);
  return out;
}

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) return false;
  }
  return true;
}

}  // namespace berth::http
