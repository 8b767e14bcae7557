// Query strings and percent-encoding, for every endpoint that reads or
// writes a query: the registry, the agent channel, logs, and the clients.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace berth::http {

// Decodes %XX escapes (and nothing else: '+' stays, as paths use it).
// nullopt on a malformed escape or an escaped NUL.
std::optional<std::string> PercentDecode(std::string_view text);

// name -> value, percent-decoded ('+' is a space, as forms send it); the
// first of repeated names wins.
std::map<std::string, std::string, std::less<>> ParseQueryString(std::string_view query);

// A parameter that must be a non-negative whole number (an offset, a wait in
// seconds): its value, or nullopt for anything else ("", "-1", "3s", "1e3").
std::optional<uint64_t> ParseQueryCount(std::string_view text);

// RFC 3986: everything but unreserved characters as %XX.
std::string EncodeQueryValue(std::string_view value);

}  // namespace berth::http
