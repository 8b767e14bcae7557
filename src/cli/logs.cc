#include "cli/logs.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <ctime>

#include "cli/client_credentials.h"
#include "http/client.h"
#include "http/query_string.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

constexpr int kFollowWaitSeconds = 15;

// The task's first container, from DescribeTasks.
StatusOr<std::string> FirstContainer(http::Client& client, const Endpoint& endpoint,
                                     const http::SigV4Credentials& creds,
                                     const LogsOptions& options) {
  http::Request request;
  request.method = "POST";
  request.target = "/";
  request.headers = {{"host", endpoint.host_header},
                     {"content-type", "application/x-amz-json-1.1"},
                     {"x-amz-target", "AmazonEC2ContainerServiceV20141113.DescribeTasks"}};
  request.body = json::serialize(json::object{{"cluster", options.cluster},
                                              {"tasks", json::array{json::string(options.task)}}});
  http::SignSigV4(request, creds, "us-east-1", "ecs", std::time(nullptr));
  auto response = client.Do(request);
  if (!response.ok()) return response.status().WithContext("DescribeTasks");
  json::error_code ec;
  auto body = json::parse(response->body, ec);
  if (ec || !body.is_object()) return Internal("DescribeTasks: reply is not JSON");
  if (response->status != 200) return InvalidArgument("DescribeTasks: " + response->body);
  const auto& tasks = body.as_object().at("tasks").as_array();
  if (tasks.empty())
    return NotFound("task " + options.task + " not found in cluster " + options.cluster);
  const auto& containers = tasks[0].as_object().at("containers").as_array();
  if (containers.empty()) return NotFound("task " + options.task + " has no containers");
  return std::string(containers[0].as_object().at("name").as_string());
}

}  // namespace

int Logs(const LogsOptions& options) {
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "berth logs: %s\n", message.c_str());
    return 1;
  };
  auto endpoint = ParseHttpEndpoint(options.endpoint);
  if (!endpoint.ok()) return fail(endpoint.status().message());
  auto creds = ClientCredentials(options.credentials_file);
  if (!creds.ok()) return fail(creds.status().message());
  auto client = http::Client::Create(endpoint->host, endpoint->port, kFollowWaitSeconds + 30);
  std::string container = options.container;
  if (container.empty()) {
    auto first = FirstContainer(*client, *endpoint, *creds, options);
    if (!first.ok()) return fail(first.status().message());
    container = *first;
  }
  uint64_t offset = 0;
  while (true) {
    http::Request request;
    request.method = "GET";
    request.target = "/berth/v1/logs?cluster=" + http::EncodeQueryValue(options.cluster) +
                     "&task=" + http::EncodeQueryValue(options.task) +
                     "&container=" + http::EncodeQueryValue(container) +
                     "&offset=" + std::to_string(offset) +
                     "&waitSeconds=" + std::to_string(options.follow ? kFollowWaitSeconds : 0);
    request.headers = {{"host", endpoint->host_header}};
    http::SignSigV4(request, *creds, "us-east-1", "ecs", std::time(nullptr));
    auto response = client->Do(request);
    if (!response.ok()) return fail(response.status().message());
    if (response->status != 200) {
      json::error_code ec;
      auto body = json::parse(response->body, ec);
      if (!ec && body.is_object() && body.as_object().contains("message")) {
        return fail(std::string(body.as_object().at("message").as_string()));
      }
      return fail("server answered " + std::to_string(response->status) + ": " + response->body);
    }
    std::fwrite(response->body.data(), 1, response->body.size(), stdout);
    std::fflush(stdout);
    const std::string* next = response->Header("x-berth-log-offset");
    const std::string* complete = response->Header("x-berth-log-complete");
    uint64_t next_offset = next ? std::stoull(*next) : offset;
    if (complete && *complete == "true") return 0;
    // Without -f, stop once what exists now has been printed.
    if (!options.follow && next_offset == offset) return 0;
    offset = next_offset;
  }
}

}  // namespace berth::cli
