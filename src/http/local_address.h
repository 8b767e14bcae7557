// IP addresses of this host: checking that text is one, and finding the one
// this host reaches another host from. For `berth agent --address`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::http {

// Whether text is an IPv4 or IPv6 address ("10.0.0.5", "fd00::5"), not a
// name.
bool IsIpAddress(std::string_view text);

// The local address this host reaches host:port from: the source address
// the kernel's routing picks for it, found by connecting a UDP socket (no
// packet is sent, nothing need listen there). For a server on the loopback,
// the loopback. Unavailable when host does not resolve or no route leads
// there.
StatusOr<std::string> LocalAddressToward(const std::string& host, uint16_t port);

}  // namespace berth::http
