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

// Where a client verb's server is, what it signs with and, for https, what
// it trusts: --endpoint (AWS_ENDPOINT_URL), --credentials and --ca-bundle
// (AWS_CA_BUNDLE, as the aws CLI), on cmd.
struct ServerClientOptions {
  std::string endpoint = "http://127.0.0.1:8080";
  std::string credentials_file;
  std::string ca_bundle;  // extra trusted CA certificates (PEM) for https
};
void AddServerClientOptions(CLI::App& cmd, ServerClientOptions& options);

// A client for options.endpoint ("http://host:port" or https, trusting the
// system's CAs and options.ca_bundle) signing with
// ClientCredentials(options.credentials_file) for the region AWS_REGION or
// AWS_DEFAULT_REGION names.
StatusOr<std::unique_ptr<awsjson::Client>> ConnectToServer(const ServerClientOptions& options,
                                                           int timeout_seconds);

}  // namespace berth::cli
