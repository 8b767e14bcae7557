// Prometheus /metrics for the server and the agent: the process registry's
// families and collectors, in the text exposition format.
//
// Where it is served and who may read it (--metrics-listen):
//   - on the API address (the default): GET /metrics needs
//     "Authorization: Bearer <token>", the token in <data>/metrics-token
//     (created at first start, mode 0600);
//   - alone on a separate loopback address: no token (only local processes
//     reach it). A separate address that is not loopback is refused at
//     start, since the metrics would then be open to the network.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/metrics.h"
#include "common/status.h"
#include "http/message.h"

namespace berth::http {

// The token file's name in the data directory.
inline constexpr std::string_view kMetricsTokenFile = "metrics-token";

// Reads the token at path, or creates it (0600, 32 random bytes in hex)
// when absent.
StatusOr<std::string> EnsureMetricsToken(const std::string& path);

// How --metrics-listen is to be served: nullopt when on the API address;
// else the separate address. InvalidArgument (one line) for a value that is
// not host:port or a separate address that is not loopback.
StatusOr<std::optional<std::string>> SeparateMetricsAddress(const std::string& metrics_listen,
                                                            const std::string& api_listen);

// Thread-safe.
class MetricsEndpoint {
 public:
  // token: required as a bearer token; nullopt: none required.
  MetricsEndpoint(metrics::Registry& registry, std::optional<std::string> token)
      : registry_(registry), token_(std::move(token)) {}

  // GET /metrics.
  static bool Accepts(const Request& request);
  void Handle(Request&& request, Responder respond);

 private:
  metrics::Registry& registry_;
  std::optional<std::string> token_;
};

}  // namespace berth::http
