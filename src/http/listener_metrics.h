// The Prometheus series of one HTTP listener (label listener="api",
// "registry", "agent", ...): its open connections, those refused at accept
// by a limit, and those the server closed for taking too long over a
// request head or for failing the TLS handshake.
#pragma once

#include <string>

#include "common/metrics.h"

namespace berth::http {

struct ListenerMetrics {
  explicit ListenerMetrics(const std::string& listener);

  metrics::Gauge& open;  // berth_http_open_connections
  metrics::Counter&
      refused_connections;  // berth_http_connections_refused_total{limit="connections"}
  metrics::Counter& refused_per_address;  // ...{limit="connections_per_address"}
  metrics::Counter&
      header_timeouts;  // berth_http_connections_closed_total{reason="header_timeout"}
  metrics::Counter& tls_handshake_failures;  // ...{reason="tls_handshake"}
};

}  // namespace berth::http
