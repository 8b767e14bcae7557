#include "server/agent_endpoint.h"

#include "http/endpoint.h"

namespace berth::server {

StatusOr<AgentEndpoint> ParseAgentEndpoint(std::string_view endpoint) {
  AgentEndpoint out;
  std::string_view authority = endpoint;
  if (authority.starts_with("https://")) {
    out.tls = true;
    authority.remove_prefix(8);
  } else if (authority.starts_with("http://")) {
    authority.remove_prefix(7);
  }
  auto host_port = http::SplitHostPort(authority);
  if (!host_port.ok() || host_port->first.empty() || host_port->second == 0) {
    return InvalidArgument("agent endpoint '" + std::string(endpoint) +
                           "' is not [https://]HOST:PORT" +
                           (host_port.ok() ? "" : ": " + host_port.status().message()));
  }
  out.host = host_port->first;
  out.port = host_port->second;
  out.authority = std::string(authority);
  return out;
}

}  // namespace berth::server
