#include "agent/server_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <ctime>

#include "http/endpoint.h"

namespace berth::agent {

namespace json = boost::json;

StatusOr<std::unique_ptr<ServerClient>> ServerClient::Create(std::string_view endpoint,
                                                             http::SigV4Credentials credentials,
                                                             int timeout_seconds) {
  if (!endpoint.starts_with("http://")) {
    return InvalidArgument("server endpoint must start with http://: " + std::string(endpoint));
  }
  std::string host_port(endpoint.substr(7));
  while (!host_port.empty() && host_port.back() == '/') host_port.pop_back();
  auto hp = http::SplitHostPort(host_port);
  if (!hp.ok()) return hp.status().WithContext("server endpoint " + std::string(endpoint));
  auto client = http::Client::Create(hp->first, hp->second, timeout_seconds);
  return std::unique_ptr<ServerClient>(
      new ServerClient(std::move(host_port), std::move(client), std::move(credentials)));
}

void ServerClient::SetCredentials(http::SigV4Credentials credentials) {
  std::lock_guard lock(mu_);
  credentials_ = std::move(credentials);
}

http::SigV4Credentials ServerClient::credentials() const {
  std::lock_guard lock(mu_);
  return credentials_;
}

StatusOr<json::value> ServerClient::CallEcs(std::string_view operation, const json::value& input) {
  return CallJson("ecs", "AmazonEC2ContainerServiceV20141113." + std::string(operation), input);
}

StatusOr<json::value> ServerClient::CallEcr(std::string_view operation, const json::value& input) {
  return CallJson("ecr", "AmazonEC2ContainerRegistry_V20150921." + std::string(operation), input);
}

StatusOr<json::value> ServerClient::CallJson(std::string_view service, std::string_view target,
                                             const json::value& input) {
  http::Request request;
  request.method = "POST";
  request.target = "/";
  request.headers = {{"host", host_port_},
                     {"content-type", "application/x-amz-json-1.1"},
                     {"x-amz-target", std::string(target)}};
  request.body = json::serialize(input);
  std::string op(target.substr(target.find('.') + 1));
  std::lock_guard lock(mu_);
  http::SignSigV4(request, credentials_, "us-east-1", service, std::time(nullptr));
  auto response = client_->Do(request);
  if (!response.ok()) return response.status().WithContext(op);
  json::error_code ec;
  json::value body = json::parse(response->body.empty() ? "{}" : response->body, ec);
  if (ec)
    return Unavailable(op + ": server answered " + std::to_string(response->status) +
                       " with a body that is not JSON");
  if (response->status != 200) {
    std::string type, message;
    if (body.is_object()) {
      if (auto* t = body.as_object().if_contains("__type"); t && t->is_string())
        type = t->as_string();
      if (auto* m = body.as_object().if_contains("message"); m && m->is_string())
        message = m->as_string();
    }
    Status status(
        response->status >= 500 ? StatusCode::kUnavailable : StatusCode::kFailedPrecondition,
        type + ": " + message);
    return status.WithContext(op);
  }
  return body;
}

StatusOr<http::Response> ServerClient::Send(std::string_view method, std::string_view target,
                                            std::string body) {
  http::Request request;
  request.method = std::string(method);
  request.target = std::string(target);
  request.headers = {{"host", host_port_}};
  if (!body.empty()) request.headers.emplace_back("content-type", "application/json");
  request.body = std::move(body);
  std::lock_guard lock(mu_);
  http::SignSigV4(request, credentials_, "us-east-1", "ecs", std::time(nullptr));
  auto response = client_->Do(request);
  if (!response.ok())
    return response.status().WithContext(std::string(method) + " " + std::string(request.Path()));
  return response;
}

}  // namespace berth::agent
