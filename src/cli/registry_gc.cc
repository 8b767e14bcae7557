#include "cli/registry_gc.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "cli/client_credentials.h"
#include "http/client.h"
#include "http/sigv4.h"

namespace berth::cli {

int RegistryGc(const RegistryGcOptions& options) {
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "berth registry gc: %s\n", message.c_str());
    return 1;
  };
  auto endpoint = ParseHttpEndpoint(options.endpoint);
  if (!endpoint.ok()) return fail(endpoint.status().message());
  auto creds = ClientCredentials(options.credentials_file);
  if (!creds.ok()) return fail(creds.status().message());

  http::Request request;
  request.method = "POST";
  request.target = "/berth/v1/registry/gc";
  request.headers.emplace_back("host", endpoint->host_header);
  request.headers.emplace_back("content-type", "application/json");
  request.body = "{\"minAgeSeconds\":" + std::to_string(options.min_age_seconds) + "}";
  http::SignSigV4(request, *creds, "us-east-1", "berth", std::time(nullptr));
  auto client = http::Client::Create(endpoint->host, endpoint->port, 3600);
  auto response = client->Do(request);
  if (!response.ok()) return fail(response.status().message());
  if (response->status != 200) {
    return fail("server answered " + std::to_string(response->status) + ": " + response->body);
  }
  std::printf("%s\n", response->body.c_str());
  return 0;
}

}  // namespace berth::cli
