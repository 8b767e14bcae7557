#include "cli/client_credentials.h"

#include <cstdlib>

#include "common/credentials_file.h"

namespace berth::cli {

StatusOr<http::SigV4Credentials> ClientCredentials(const std::string& credentials_file) {
  if (!credentials_file.empty()) {
    auto keys = ReadCredentialsFile(credentials_file);
    if (!keys.ok()) return keys.status();
    if (keys->empty()) return InvalidArgument(credentials_file + ": no access key");
    return http::SigV4Credentials{keys->front().id, keys->front().secret};
  }
  const char* id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (id == nullptr || secret == nullptr) {
    return InvalidArgument(
        "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (berth dev prints "
        "them) or pass --credentials DATA/credentials");
  }
  return http::SigV4Credentials{id, secret};
}

StatusOr<std::unique_ptr<awsjson::Client>> ConnectToServer(const ServerClientOptions& options,
                                                           int timeout_seconds) {
  auto credentials = ClientCredentials(options.credentials_file);
  if (!credentials.ok()) return credentials.status();
  awsjson::ClientOptions client;
  client.ca_file = options.ca_bundle;
  // A server starting, electing a leader or over its connection limit
  // answers 503: waited out for about 4 s (0.25 + 0.5 + 1 + 2) before it
  // is shown, as the aws CLI retries it.
  client.unavailable_retries = 4;
  return awsjson::Client::Create(options.endpoint, std::move(*credentials), timeout_seconds,
                                 std::move(client));
}

void AddServerClientOptions(CLI::App& cmd, ServerClientOptions& options) {
  cmd.add_option("--endpoint", options.endpoint,
                 "the server's API endpoint; several, comma-separated, for a highly available "
                 "control plane")
      ->envname("AWS_ENDPOINT_URL")
      ->capture_default_str();
  cmd.add_option("--credentials", options.credentials_file,
                 "AWS shared-credentials file (default: AWS_ACCESS_KEY_ID and "
                 "AWS_SECRET_ACCESS_KEY)");
  cmd.add_option("--ca-bundle", options.ca_bundle,
                 "CA certificates (PEM) trusted, besides the system's, for an https endpoint")
      ->envname("AWS_CA_BUNDLE");
}

}  // namespace berth::cli
