// How the command line's client verbs find what to sign with and where to
// send it, the way the aws CLI does.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "common/status.h"
#include "http/sigv4.h"

namespace berth::cli {

// The first key of credentials_file when given, else AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (which `berth dev` prints).
StatusOr<http::SigV4Credentials> ClientCredentials(const std::string& credentials_file);

// "http://host:port" -> (host, port) and the Host header value.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string host_header;
};
StatusOr<Endpoint> ParseHttpEndpoint(const std::string& endpoint);

}  // namespace berth::cli
