#include "server/leader_forwarder.h"

#include <thread>
#include <unordered_set>
#include <utility>

#include "awsjson/endpoint.h"
#include "common/ids.h"
#include "http/client.h"
#include "http/endpoint.h"

namespace berth::server {

namespace {

// Held agent polls and event reads wait up to a minute or two at the leader.
constexpr int kRelayTimeoutSeconds = 330;

// Headers of one hop, which the relay sets itself.
bool HopByHop(std::string_view name) {
  static const std::unordered_set<std::string_view> names = {
      "connection", "content-length", "transfer-encoding", "keep-alive", "expect", "upgrade"};
  return names.contains(name);
}

}  // namespace

void LeaderForwarder::Forward(http::Request&& request, const std::string& leader,
                              http::Responder respond) {
  auto unavailable = [&respond](const std::string& message) {
    respond(awsjson::ErrorResponse("ServiceUnavailableException", message, NewUuid(), 503));
  };
  if (request.Header(kForwardedHeader) != nullptr) {
    return unavailable("this berth server does not lead; the servers are electing a leader");
  }
  auto host_port = http::SplitHostPort(leader);
  if (!host_port.ok()) return unavailable("leader address '" + leader + "' is not HOST:PORT");
  if (request.body_sink) {
    return unavailable("uploads go to the leader's registry (" + leader + "), not through " +
                       self_);
  }
  if (in_flight_->fetch_add(1) >= kMaxInFlight) {
    in_flight_->fetch_sub(1);
    return unavailable("too many requests relayed to the leader; retry");
  }
  http::Request relayed;
  relayed.method = std::move(request.method);
  relayed.target = std::move(request.target);
  relayed.body = std::move(request.body);
  for (auto& [name, value] : request.headers) {
    if (!HopByHop(name)) relayed.headers.emplace_back(std::move(name), std::move(value));
  }
  relayed.headers.emplace_back(std::string(kForwardedHeader), self_);
  std::thread([relayed = std::move(relayed), leader, host = host_port->first,
               port = host_port->second, in_flight = in_flight_,
               respond = std::move(respond)]() mutable {
    auto client = http::Client::Create(host, port, kRelayTimeoutSeconds);
    auto reply = client->Do(relayed);
    in_flight->fetch_sub(1);
    if (!reply.ok()) {
      return respond(awsjson::ErrorResponse(
          "ServiceUnavailableException",
          "the leader " + leader + " did not answer: " + reply.status().message(), NewUuid(), 503));
    }
    http::Response out;
    out.status = reply->status;
    out.body = std::move(reply->body);
    for (auto& [name, value] : reply->headers) {
      if (!HopByHop(name)) out.headers.emplace_back(std::move(name), std::move(value));
    }
    respond(std::move(out));
  }).detach();
}

}  // namespace berth::server
