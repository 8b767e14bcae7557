#include "http/listener_metrics.h"

namespace berth::http {

namespace {

metrics::Family<metrics::Gauge>& OpenConnections() {
  static auto& f = metrics::DefaultRegistry().AddGauge(
      "berth_http_open_connections",
      "Connections a listener has accepted and not yet closed (refused ones not counted).",
      {"listener"});
  return f;
}

metrics::Family<metrics::Counter>& Refused() {
  static auto& f = metrics::DefaultRegistry().AddCounter(
      "berth_http_connections_refused_total",
      "Connections answered 503 and closed at accept because a limit was reached: "
      "limit=\"connections\" (--max-connections) or \"connections_per_address\" "
      "(--max-connections-per-address).",
      {"listener", "limit"});
  return f;
}

metrics::Family<metrics::Counter>& Closed() {
  static auto& f = metrics::DefaultRegistry().AddCounter(
      "berth_http_connections_closed_total",
      "Connections the server closed on its own: reason=\"header_timeout\" (a request head, or "
      "the TLS handshake, not received within --header-timeout; 408 when part of it came) or "
      "\"tls_handshake\" (the handshake failed: an old protocol version, a client that does not "
      "trust the certificate, not TLS at all).",
      {"listener", "reason"});
  return f;
}

}  // namespace

ListenerMetrics::ListenerMetrics(const std::string& listener)
    : open(OpenConnections().With({listener})),
      refused_connections(Refused().With({listener, "connections"})),
      refused_per_address(Refused().With({listener, "connections_per_address"})),
      header_timeouts(Closed().With({listener, "header_timeout"})),
      tls_handshake_failures(Closed().With({listener, "tls_handshake"})) {}

}  // namespace berth::http
