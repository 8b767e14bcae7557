#include "server/leader_forwarder.h"

#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>

#include "awsjson/endpoint.h"
#include "common/ids.h"
#include "http/byte_queue.h"
#include "http/client.h"
#include "http/endpoint.h"
#include "http/query_string.h"

namespace berth::server {

namespace {

// Held agent polls and event reads wait up to a minute or two at the leader.
constexpr int kRelayTimeoutSeconds = 330;
// What an upload may have on its way from the client to the leader.
constexpr size_t kRelayBufferBytes = 4 << 20;

// Headers of one hop, which the relay sets itself.
bool HopByHop(std::string_view name) {
  static const std::unordered_set<std::string_view> names = {
      "connection", "content-length", "transfer-encoding", "keep-alive", "expect", "upgrade"};
  return names.contains(name);
}

// request as the leader gets it: the same method, target, headers (Host and
// the signature included) and body, marked as relayed by self.
http::Request RelayedRequest(http::Request&& request, const std::string& self) {
  http::Request relayed;
  relayed.method = std::move(request.method);
  relayed.target = std::move(request.target);
  relayed.body = std::move(request.body);
  for (auto& [name, value] : request.headers) {
    if (!HopByHop(name)) relayed.headers.emplace_back(std::move(name), std::move(value));
  }
  relayed.headers.emplace_back(std::string(LeaderForwarder::kForwardedHeader), self);
  return relayed;
}

http::Response RelayedResponse(http::Response&& reply) {
  http::Response out;
  out.status = reply.status;
  out.body = std::move(reply.body);
  for (auto& [name, value] : reply.headers) {
    if (!HopByHop(name)) out.headers.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

// The sink the HTTP server writes an upload into (on its I/O thread, waiting
// while kRelayBufferBytes are on their way), read by the relay thread as the
// body of its request to the leader; Forward finishes it.
class RelayUpload : public http::BodySink {
 public:
  RelayUpload(http::Request head, const std::string& self, std::string leader,
              std::shared_ptr<std::atomic<int>> in_flight, http::TlsOptions tls)
      : pipe_(std::make_shared<http::ByteQueue>(kRelayBufferBytes)),
        state_(std::make_shared<State>()) {
    uint64_t length = http::Client::kChunked;
    if (const std::string* v = head.Header("content-length")) {
      if (auto n = http::ParseQueryCount(*v)) length = *n;
    }
    http::Request relayed = RelayedRequest(std::move(head), self);
    auto host_port = http::SplitHostPort(leader);
    if (!host_port.ok()) {
      in_flight->fetch_sub(1);
      pipe_->CloseRead(host_port.status());
      Answer(state_, Unavailable("leader address '" + leader + "' is not HOST:PORT"));
      return;
    }
    std::thread([pipe = pipe_, state = state_, relayed = std::move(relayed), length, leader,
                 host = host_port->first, port = host_port->second, in_flight, tls] {
      auto client = http::Client::Create(host, port, kRelayTimeoutSeconds, tls);
      http::ByteQueueSource body(*pipe);
      auto reply = client->Do(relayed, body, length, nullptr);
      // The rest of the body, if the leader answered before it all came,
      // is refused.
      pipe->CloseRead(reply.ok() ? Status(StatusCode::kAborted, "the leader answered")
                                 : reply.status());
      in_flight->fetch_sub(1);
      if (!reply.ok()) {
        return Answer(state, Unavailable("the leader " + leader +
                                         " did not answer: " + reply.status().message()));
      }
      Answer(state, RelayedResponse(std::move(*reply)));
    }).detach();
  }
  ~RelayUpload() override { pipe_->CloseWrite(Unavailable("the client's upload broke off")); }

  Status Write(std::string_view piece) override { return pipe_->Push(piece); }

  // The whole body arrived (or not: body_status); respond gets the leader's
  // reply.
  void Finish(const Status& body_status, http::Responder respond) {
    pipe_->CloseWrite(body_status);
    std::unique_lock lock(state_->mu);
    if (state_->reply) {
      auto reply = std::move(*state_->reply);
      lock.unlock();
      return Reply(std::move(reply), respond);
    }
    state_->respond = std::move(respond);
  }

 private:
  struct State {
    std::mutex mu;
    std::optional<StatusOr<http::Response>> reply;
    http::Responder respond;
  };
  static void Reply(StatusOr<http::Response> reply, const http::Responder& respond) {
    if (reply.ok()) return respond(std::move(*reply));
    respond(awsjson::ErrorResponse("ServiceUnavailableException", reply.status().message(),
                                   NewUuid(), 503));
  }
  // The leader answered (maybe before the body ended: an upload refused).
  static void Answer(const std::shared_ptr<State>& state, StatusOr<http::Response> reply) {
    std::unique_lock lock(state->mu);
    if (!state->respond) {
      state->reply = std::move(reply);
      return;
    }
    http::Responder respond = std::move(state->respond);
    lock.unlock();
    Reply(std::move(reply), respond);
  }

  std::shared_ptr<http::ByteQueue> pipe_;
  std::shared_ptr<State> state_;
};

}  // namespace

void LeaderForwarder::Forward(http::Request&& request, const std::string& leader,
                              http::Responder respond) {
  if (auto upload = std::dynamic_pointer_cast<RelayUpload>(request.body_sink)) {
    return upload->Finish(request.body_status, std::move(respond));
  }
  auto unavailable = [&respond](const std::string& message) {
    respond(awsjson::ErrorResponse("ServiceUnavailableException", message, NewUuid(), 503));
  };
  if (request.Header(kForwardedHeader) != nullptr) {
    return unavailable("this berth server does not lead; the servers are electing a leader");
  }
  auto host_port = http::SplitHostPort(leader);
  if (!host_port.ok()) return unavailable("leader address '" + leader + "' is not HOST:PORT");
  if (in_flight_->fetch_add(1) >= kMaxInFlight) {
    in_flight_->fetch_sub(1);
    return unavailable("too many requests relayed to the leader; retry");
  }
  std::thread([relayed = RelayedRequest(std::move(request), self_), leader, host = host_port->first,
               port = host_port->second, in_flight = in_flight_, tls = leader_tls_,
               respond = std::move(respond)]() mutable {
    auto client = http::Client::Create(host, port, kRelayTimeoutSeconds, tls);
    auto reply = client->Do(relayed);
    in_flight->fetch_sub(1);
    if (!reply.ok()) {
      return respond(awsjson::ErrorResponse(
          "ServiceUnavailableException",
          "the leader " + leader + " did not answer: " + reply.status().message(), NewUuid(), 503));
    }
    respond(RelayedResponse(std::move(*reply)));
  }).detach();
}

std::shared_ptr<http::BodySink> LeaderForwarder::StreamTo(const http::Request& head,
                                                          const std::string& leader) {
  if (head.Header(kForwardedHeader) != nullptr) return nullptr;  // answered 503 by Forward
  if (in_flight_->fetch_add(1) >= kMaxInFlight) {
    in_flight_->fetch_sub(1);
    return nullptr;  // buffered, and relayed (or refused) as any other request
  }
  return std::make_shared<RelayUpload>(http::Request(head), self_, leader, in_flight_, leader_tls_);
}

}  // namespace berth::server
