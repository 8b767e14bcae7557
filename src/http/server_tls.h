// The certificate and key a TLS listener presents, read from PEM files and
// read again by Reload (berth server and agent do so on SIGHUP):
// connections accepted after a reload get the new pair, those already open
// keep theirs. TLS 1.2 and later only. One ServerTls may serve several
// listeners (the API and registry ports), so one reload switches them all.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"

namespace boost::asio::ssl {
class context;
}

namespace berth::http {

// Thread-safe.
class ServerTls {
 public:
  // cert_file: the certificate, then the intermediates of its chain (PEM);
  // key_file: its private key (PEM, unencrypted). Fails with one line
  // naming the file and what is wrong with it, or that they do not match.
  static StatusOr<std::shared_ptr<ServerTls>> Load(std::string cert_file, std::string key_file);

  // Reads both files again. On error the pair in use stays and the error
  // is returned.
  Status Reload();

  // The certificate in use, for logs: "serial=..., subject=..., notAfter=...".
  std::string Describe() const;

  // What the server accepts new connections with (server.cc).
  std::shared_ptr<boost::asio::ssl::context> Current() const;

  ServerTls(std::string cert_file, std::string key_file)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

 private:
  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;  // guarded by mu_
  std::string description_;                             // guarded by mu_
};

// On SIGHUP: reloads tls and logs the certificate now served, or why the
// one in use stays; with tls null, that there is nothing to reload.
void ReloadServerTls(ServerTls* tls);

}  // namespace berth::http
