// Query strings of the berth endpoints that are not AWS JSON (the agent
// channel, logs): parsing with percent-decoding, and encoding one value.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace berth::server {

// name -> value, percent-decoded ('+' is a space, as forms send it); the
// first of repeated names wins.
std::map<std::string, std::string, std::less<>> ParseQueryString(std::string_view query);

// RFC 3986: everything but unreserved characters as %XX.
std::string EncodeQueryValue(std::string_view value);

}  // namespace berth::server
