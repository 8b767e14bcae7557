#include "cli/client_credentials.h"

#include <cstdlib>

#include "common/credentials_file.h"
#include "http/endpoint.h"

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

StatusOr<Endpoint> ParseHttpEndpoint(const std::string& endpoint) {
  std::string_view rest = endpoint;
  if (!rest.starts_with("http://"))
    return InvalidArgument("endpoint must start with http://: " + endpoint);
  rest.remove_prefix(7);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  auto hp = http::SplitHostPort(rest);
  if (!hp.ok()) return hp.status().WithContext("endpoint " + endpoint);
  return Endpoint{hp->first, hp->second, std::string(rest)};
}

}  // namespace berth::cli
