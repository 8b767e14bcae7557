// "host:port" strings as used by --listen and Client: parsing and printing,
// with IPv6 literals in brackets ("[::1]:8080").
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace berth::http {

// Splits "host:port", "[v6]:port" or ":port" (host empty: every interface).
inline StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view s) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return InvalidArgument("want host:port");
  std::string_view host = s.substr(0, colon);
  std::string_view port_text = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return InvalidArgument("IPv6 addresses are written in brackets: [::1]:8080");
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return InvalidArgument("bad port \"" + std::string(port_text) + "\"");
  }
  return std::pair<std::string, uint16_t>(std::string(host), static_cast<uint16_t>(port));
}

// The inverse of SplitHostPort for a non-empty host.
inline std::string FormatEndpoint(std::string_view host, uint16_t port) {
  std::string out;
  bool v6 = host.find(':') != std::string_view::npos;
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace berth::http
