#include "cli/registry_gc.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "common/credentials_file.h"
#include "http/client.h"
#include "http/endpoint.h"
#include "http/sigv4.h"

namespace berth::cli {

namespace {

StatusOr<http::SigV4Credentials> FindCredentials(const RegistryGcOptions& options) {
  if (!options.credentials_file.empty()) {
    auto keys = ReadCredentialsFile(options.credentials_file);
    if (!keys.ok()) return keys.status();
    if (keys->empty()) return InvalidArgument(options.credentials_file + ": no access key");
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

}  // namespace

int RegistryGc(const RegistryGcOptions& options) {
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "berth registry gc: %s\n", message.c_str());
    return 1;
  };
  std::string_view endpoint = options.endpoint;
  if (!endpoint.starts_with("http://")) return fail("--endpoint must start with http://");
  auto host_port = http::SplitHostPort(endpoint.substr(7));
  if (!host_port.ok()) return fail(host_port.status().message());
  auto creds = FindCredentials(options);
  if (!creds.ok()) return fail(creds.status().message());

  http::Request request;
  request.method = "POST";
  request.target = "/berth/v1/registry/gc";
  request.headers.emplace_back("host", std::string(endpoint.substr(7)));
  request.headers.emplace_back("content-type", "application/json");
  request.body = "{\"minAgeSeconds\":" + std::to_string(options.min_age_seconds) + "}";
  http::SignSigV4(request, *creds, "us-east-1", "berth", std::time(nullptr));
  auto client = http::Client::Create(host_port->first, host_port->second, 3600);
  auto response = client->Do(request);
  if (!response.ok()) return fail(response.status().message());
  if (response->status != 200) {
    return fail("server answered " + std::to_string(response->status) + ": " + response->body);
  }
  std::printf("%s\n", response->body.c_str());
  return 0;
}

}  // namespace berth::cli
