// A follower's way to serve: every request is relayed to the leader as it
// came (method, target, headers, the Host header and so the SigV4 signature
// unchanged, body), and the leader's reply is relayed back, as Nomad's
// followers forward RPCs. The leader checks the signature and decides.
//
// Thread-safe. Each relay runs on a thread of its own, because agent polls
// and log reads are held by the leader for seconds. Replies are relayed
// whole (buffered here); request bodies too, but a layer upload, which may
// be larger than any buffer, streams through (StreamTo).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "http/message.h"
#include "http/tls_options.h"

namespace berth::server {

class LeaderForwarder {
 public:
  // Marks a relayed request: a server that is not the leader either answers
  // it 503 rather than relaying it again (no loops while the servers disagree
  // on who leads).
  static constexpr std::string_view kForwardedHeader = "x-berth-forwarded-by";

  // leader_tls: how to reach the leader; enabled when the servers serve
  // https (--tls-cert), the leader then verified for its address.
  explicit LeaderForwarder(std::string self, http::TlsOptions leader_tls = {})
      : self_(std::move(self)), leader_tls_(std::move(leader_tls)) {}

  // Relays request to leader ("host:port"). A leader that cannot be reached
  // gets the client a 503 ServiceUnavailableException, which SDKs retry.
  // A request whose body went to a sink from StreamTo is finished here.
  void Forward(http::Request&& request, const std::string& leader, http::Responder respond);

  // For ServerOptions::stream_body: a body too large to buffer (a layer
  // upload) is relayed to leader as it arrives, through a bounded buffer;
  // Forward then sends the leader's reply back.
  std::shared_ptr<http::BodySink> StreamTo(const http::Request& head, const std::string& leader);

 private:
  static constexpr int kMaxInFlight = 4096;
  const std::string self_;
  const http::TlsOptions leader_tls_;
  std::shared_ptr<std::atomic<int>> in_flight_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace berth::server
