// The endpoint an agent joins with (agentEndpoint): "HOST:PORT" for an
// agent serving plain HTTP, "https://HOST:PORT" for one serving TLS
// (`berth agent --tls-cert`). The server calls it for logs, pulls and exec,
// verifying a TLS agent's certificate for HOST against the system's trust
// store and `berth server --agent-ca-file`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::server {

struct AgentEndpoint {
  std::string host;
  uint16_t port = 0;
  bool tls = false;
  std::string authority;  // "HOST:PORT" as written: what requests to it carry as Host
};

// kInvalidArgument unless endpoint is [http://|https://]HOST:PORT with a
// host and a port other than 0.
StatusOr<AgentEndpoint> ParseAgentEndpoint(std::string_view endpoint);

}  // namespace berth::server
