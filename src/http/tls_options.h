// What a client needs to speak HTTPS (Client) or WSS (DialWebSocket): plain
// values, no OpenSSL or Asio types.
#pragma once

#include <string>

namespace berth::http {

// The server's certificate is verified against the system's trust store
// (OpenSSL's default paths: /etc/ssl/certs) plus ca_file, and against the
// name or IP address connected to (SNI is sent for names).
struct TlsOptions {
  bool enabled = false;
  std::string ca_file;      // extra trusted CA certificates (PEM); empty: system store only
  std::string server_name;  // name to verify and send as SNI; empty: the host connected to
  // A client certificate (PEM, with its chain) and its private key (PEM),
  // for servers that require one (etcd with --client-cert-auth). Both or
  // neither.
  std::string cert_file;
  std::string key_file;
  // When the server answers the handshake with something that is not TLS
  // (a plain HTTP server: "wrong version number", or a close), speak plain
  // HTTP to it from then on, as Docker does with its insecure registries.
  // Never after a certificate error. For loopback registries only.
  bool fall_back_to_plain = false;
};

}  // namespace berth::http
