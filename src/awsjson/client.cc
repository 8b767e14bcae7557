#include "awsjson/client.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <ctime>

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
  return Status(code, "server answered " + std::to_string(reply.status) + ": " + reply.body);
}

StatusOr<std::unique_ptr<Client>> Client::Create(std::string_view endpoint,
                                                 http::SigV4Credentials credentials,
                                                 int timeout_seconds, ClientOptions options) {
  auto parsed = ParseEndpoint(endpoint);
  if (!parsed.ok()) return parsed.status();
  std::unique_ptr<http::Client> connection;
  if (parsed->tls) {
    http::TlsOptions tls;
    tls.enabled = true;
    tls.ca_file = options.ca_file;
    connection = http::Client::Create(parsed->host, parsed->port, timeout_seconds, std::move(tls));
  } else {
    connection = http::Client::Create(parsed->host, parsed->port, timeout_seconds);
  }
  std::string region = options.region.empty() ? RegionFromEnvironment() : options.region;
  return std::unique_ptr<Client>(new Client(std::move(*parsed), std::move(region),
                                            std::move(connection), std::move(credentials)));
}

void Client::SetCredentials(http::SigV4Credentials credentials) {
  std::lock_guard lock(mu_);
  credentials_ = std::move(credentials);
}

http::SigV4Credentials Client::credentials() const {
  std::lock_guard lock(mu_);
  return credentials_;
}

Signer Client::SignerNow() const { return Signer{host_header_, credentials_, region_}; }

StatusOr<json::value> Client::Call(std::string_view target_prefix, std::string_view operation,
                                   const json::value& input) {
  std::string op(operation);
  std::string body = json::serialize(input);
  StatusOr<http::Response> reply = [&] {
    std::lock_guard lock(mu_);
    return connection_->Do(
        SignerNow().JsonCall(target_prefix, op, std::move(body), std::time(nullptr)));
  }();
  if (!reply.ok()) return reply.status().WithContext(op);
  json::error_code ec;
  json::value output = json::parse(reply->body.empty() ? "{}" : reply->body, ec);
  if (ec) {
    return Unavailable(op + ": server answered " + std::to_string(reply->status) +
                       " with a body that is not JSON");
  }
  if (reply->status != 200) return ErrorFromReply(*reply).WithContext(op);
  return output;
}

StatusOr<http::Response> Client::Send(std::string_view method, std::string_view target,
                                      std::string body) {
  http::Request request;
  StatusOr<http::Response> reply = [&] {
    std::lock_guard lock(mu_);
    request = SignerNow().BerthRequest(method, target, std::move(body), std::time(nullptr));
    return connection_->Do(request);
  }();
  if (!reply.ok()) {
    return reply.status().WithContext(std::string(method) + " " + std::string(request.Path()));
  }
  return reply;
}

StatusOr<std::unique_ptr<http::WebSocket>> Client::OpenWebSocket(std::string_view target,
                                                                 int timeout_seconds) {
  http::Request request;
  {
    std::lock_guard lock(mu_);
    request = SignerNow().BerthRequest("GET", target, "", std::time(nullptr));
  }
  if (endpoint_.tls) {
    return FailedPrecondition("GET " + std::string(request.Path()) +
                              ": WebSocket over https is not supported yet; use an http endpoint");
  }
  http::Response refusal;
  auto socket =
      http::DialWebSocket(endpoint_.host, endpoint_.port, request, timeout_seconds, &refusal);
  if (socket.ok()) return socket;
  if (refusal.status != 0) return ErrorFromReply(refusal);
  return socket.status().WithContext("GET " + std::string(request.Path()));
}

}  // namespace berth::awsjson
