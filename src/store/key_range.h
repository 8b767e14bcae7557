// Key ranges for prefix scans, shared by the store backends.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth::store {

// The smallest key greater than every key that starts with prefix, comparing
// bytes as unsigned (memcmp order, which is SQLite's BINARY collation and
// etcd's key order). nullopt when there is none: prefix is empty or all 0xff.
//
// A prefix scan is then the half-open range [prefix, PrefixEnd(prefix)), which
// an index answers directly; LIKE 'a/%' would not use it and treats '_' and
// '%' in keys as wildcards.
inline std::optional<std::string> PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::nullopt;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

}  // namespace berth::store
