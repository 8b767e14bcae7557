// HTTP messages as plain values, free of Beast types, so that handlers and
// their tests include nothing heavy.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path plus "?query", not decoded
  Headers headers;     // names lowercased, in the order received
  std::string body;
  std::string remote_address;  // peer "ip:port"; empty for client-side requests

  // First header with this (lowercase) name, or nullptr.
  const std::string* Header(std::string_view lowercase_name) const;
  std::string_view Path() const;   // target before '?'
  std::string_view Query() const;  // target after '?', or empty
};

struct Response {
  int status = 200;
  Headers headers;  // Content-Length is set by the server from body
  std::string body;

  const std::string* Header(std::string_view lowercase_name) const;
  // Replaces every header of this name (compared case-insensitively) with
  // one entry, stored lowercase; appends it if there was none.
  void SetHeader(std::string name, std::string value);
};

// Sends the response for one request. Call it exactly once, from any thread;
// the reply is written on the connection's own executor.
using Responder = std::function<void(Response)>;

// Serves one request. It may reply before returning or later (for example
// once a write is durable), through the Responder.
using Handler = std::function<void(Request&&, Responder)>;

}  // namespace berth::http
