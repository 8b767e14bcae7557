// How the command line's client verbs find what to sign with and where to
// send it, the way the aws CLI does.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "awsjson/client.h"
#include "common/status.h"
#include "http/sigv4.h"

namespace berth::cli {

// The first key of credentials_file when given, else AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (which `berth dev` prints).
StatusOr<http::SigV4Credentials> ClientCredentials(const std::string& credentials_file);

// A client for endpoint ("http://host:port" or https) signing with
// ClientCredentials(credentials_file) for the region AWS_REGION or
// AWS_DEFAULT_REGION names.
StatusOr<std::unique_ptr<awsjson::Client>> ConnectToServer(const std::string& endpoint,
                                                           const std::string& credentials_file,
                                                           int timeout_seconds);

// Where a client verb's server is and what it signs with: --endpoint
// (AWS_ENDPOINT_URL) and --credentials, on cmd.
struct ServerClientOptions {
  std::string endpoint = "http://127.0.0.1:8080";
  std::string credentials_file;
};
void AddServerClientOptions(CLI::App& cmd, ServerClientOptions& options);

}  // namespace berth::cli
