#include "awsjson/client.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "http/endpoint.h"

namespace berth::awsjson {

namespace json = boost::json;

namespace {

std::string_view SigningName(std::string_view target_prefix) {
  return target_prefix == kEcrTargetPrefix ? "ecr" : "ecs";
}

// The string at key in a JSON object, or empty.
std::string StringAt(const json::value& body, std::string_view key) {
  if (!body.is_object()) return {};
  const json::value* value = body.as_object().if_contains(key);
  return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

}  // namespace

std::string RegionFromEnvironment() {
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "us-east-1";
}

StatusOr<Endpoint> ParseEndpoint(std::string_view url) {
  Endpoint endpoint;
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
    endpoint.tls = true;
  } else {
    return InvalidArgument("endpoint must start with http:// or https://: " + std::string(url));
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return InvalidArgument("endpoint " + std::string(url) + ": no host");
  // No port: the last ':' is absent, or inside an IPv6 literal's brackets.
  size_t colon = rest.rfind(':');
  bool has_port =
      colon != std::string_view::npos && (rest.front() != '[' || rest.find(']') < colon);
  std::string with_port(rest);
  if (!has_port) with_port += endpoint.tls ? ":443" : ":80";
  auto hp = http::SplitHostPort(with_port);
  if (!hp.ok()) return hp.status().WithContext("endpoint " + std::string(url));
  endpoint.host = std::move(hp->first);
  endpoint.port = hp->second;
  endpoint.host_header = std::string(rest);
  return endpoint;
}

http::Request Signer::JsonCall(std::string_view target_prefix, std::string_view operation,
                               std::string body, int64_t now_epoch_seconds) const {
  http::Request request;
  request.method = "POST";
  request.target = "/";
  request.headers = {{"host", host_header},
                     {"content-type", "application/x-amz-json-1.1"},
                     {"x-amz-target", std::string(target_prefix) + "." + std::string(operation)}};
  request.body = std::move(body);
  http::SignSigV4(request, credentials, region, SigningName(target_prefix), now_epoch_seconds);
  return request;
}

http::Request Signer::BerthRequest(std::string_view method, std::string_view target,
                                   std::string body, int64_t now_epoch_seconds) const {
  http::Request request;
  request.method = std::string(method);
  request.target = std::string(target);
  request.headers = {{"host", host_header}};
  if (!body.empty()) request.headers.emplace_back("content-type", "application/json");
  request.body = std::move(body);
  http::SignSigV4(request, credentials, region, "ecs", now_epoch_seconds);
  return request;
}

Status ErrorFromReply(const http::Response& reply) {
  StatusCode code =
      reply.status >= 500 ? StatusCode::kUnavailable : StatusCode::kFailedPrecondition;
  json::error_code ec;
  json::value body = json::parse(reply.body, ec);
  if (!ec && body.is_object() &&
      (body.as_object().contains("__type") || body.as_object().contains("message"))) {
    return Status(code, StringAt(body, "__type") + ": " + StringAt(body, "message"));
  }
  std::string_view text = reply.body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return Status(code, "server answered " + std::to_string(reply.status) + ": " + std::string(text));
}

StatusOr<std::vector<Endpoint>> ParseEndpoints(std::string_view urls) {
  std::vector<Endpoint> endpoints;
  size_t start = 0;
  while (true) {
    size_t comma = urls.find(',', start);
    std::string_view one =
        urls.substr(start, comma == std::string_view::npos ? urls.npos : comma - start);
    auto parsed = ParseEndpoint(one);
    if (!parsed.ok()) return parsed.status();
    endpoints.push_back(std::move(*parsed));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return endpoints;
}

StatusOr<std::unique_ptr<Client>> Client::Create(std::string_view endpoint,
                                                 http::SigV4Credentials credentials,
                                                 int timeout_seconds, ClientOptions options) {
  auto parsed = ParseEndpoints(endpoint);
  if (!parsed.ok()) return parsed.status();
  std::vector<Server> servers;
  for (Endpoint& one : *parsed) {
    std::unique_ptr<http::Client> connection;
    if (one.tls) {
      http::TlsOptions tls;
      tls.enabled = true;
      tls.ca_file = options.ca_file;
      connection = http::Client::Create(one.host, one.port, timeout_seconds, std::move(tls));
    } else {
      connection = http::Client::Create(one.host, one.port, timeout_seconds);
    }
    std::string host_header = one.host_header;
    servers.push_back({std::move(host_header), std::move(one), std::move(connection)});
  }
  std::string region = options.region.empty() ? RegionFromEnvironment() : options.region;
  return std::unique_ptr<Client>(new Client(std::move(servers), std::move(region),
                                            std::move(credentials), std::move(options)));
}

Client::Client(std::vector<Server> servers, std::string region, http::SigV4Credentials credentials,
               ClientOptions options)
    : region_(std::move(region)),
      ca_file_(std::move(options.ca_file)),
      unavailable_retries_(options.unavailable_retries),
      first_retry_wait_(options.first_retry_wait),
      servers_(std::move(servers)),
      credentials_(std::move(credentials)) {}

Client::~Client() = default;

void Client::SetCredentials(http::SigV4Credentials credentials) {
  std::lock_guard lock(mu_);
  credentials_ = std::move(credentials);
}

http::SigV4Credentials Client::credentials() const {
  std::lock_guard lock(mu_);
  return credentials_;
}

std::string Client::host() const {
  std::lock_guard lock(mu_);
  return servers_[current_].host_header;
}

StatusOr<http::Response> Client::Do(const std::function<http::Request(const Signer&)>& sign) {
  std::lock_guard lock(mu_);
  StatusOr<http::Response> reply = Unavailable("no server");
  for (int retry = 0;; ++retry) {
    for (size_t tried = 0; tried < servers_.size(); ++tried) {
      if (tried > 0) current_ = (current_ + 1) % servers_.size();
      Server& server = servers_[current_];
      reply = server.connection->Do(sign(Signer{server.host_header, credentials_, region_}));
      // Gone: no connection, reset, timed out; or up without a leader (503).
      bool gone = !reply.ok() || reply->status == 503;
      if (!gone || servers_.size() == 1) break;
    }
    // Only a 503 is sent again: a server that refused it did not apply it,
    // where one that went away mid-call may have.
    bool refused = reply.ok() && reply->status == 503;
    if (!refused || retry >= unavailable_retries_) return reply;
    std::this_thread::sleep_for(first_retry_wait_ * (1 << std::min(retry, 10)));
  }
}

StatusOr<json::value> Client::Call(std::string_view target_prefix, std::string_view operation,
                                   const json::value& input) {
  std::string op(operation);
  std::string body = json::serialize(input);
  StatusOr<http::Response> reply = Do([&](const Signer& signer) {
    return signer.JsonCall(target_prefix, op, body, std::time(nullptr));
  });
  if (!reply.ok()) return reply.status().WithContext(op);
  json::error_code ec;
  json::value output = json::parse(reply->body.empty() ? "{}" : reply->body, ec);
  if (ec) {
    // A one-line text reason (an HTTP server's own refusal: a connection
    // limit) is worth showing; a proxy's HTML page is not.
    const std::string* type = reply->Header("content-type");
    if (reply->status != 200 && type != nullptr && type->starts_with("text/plain")) {
      return ErrorFromReply(*reply).WithContext(op);
    }
    return Unavailable(op + ": server answered " + std::to_string(reply->status) +
                       " with a body that is not JSON");
  }
  if (reply->status != 200) return ErrorFromReply(*reply).WithContext(op);
  return output;
}

StatusOr<http::Response> Client::Send(std::string_view method, std::string_view target,
                                      std::string body) {
  StatusOr<http::Response> reply = Do([&](const Signer& signer) {
    return signer.BerthRequest(method, target, body, std::time(nullptr));
  });
  if (!reply.ok()) {
    std::string_view path = target.substr(0, target.find('?'));
    return reply.status().WithContext(std::string(method) + " " + std::string(path));
  }
  return reply;
}

StatusOr<std::unique_ptr<http::WebSocket>> Client::OpenWebSocket(std::string_view target,
                                                                 int timeout_seconds) {
  http::Request request;
  Endpoint endpoint;
  {
    std::lock_guard lock(mu_);
    const Server& server = servers_[current_];
    endpoint = server.endpoint;
    request = Signer{server.host_header, credentials_, region_}.BerthRequest("GET", target, "",
                                                                             std::time(nullptr));
  }
  http::TlsOptions tls;
  tls.enabled = endpoint.tls;
  tls.ca_file = ca_file_;
  http::Response refusal;
  auto socket =
      http::DialWebSocket(endpoint.host, endpoint.port, request, timeout_seconds, &refusal, tls);
  if (socket.ok()) return socket;
  if (refusal.status != 0) return ErrorFromReply(refusal);
  return socket.status().WithContext("GET " + std::string(request.Path()));
}

}  // namespace berth::awsjson
