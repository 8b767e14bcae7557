// GET /berth/v1/logs?cluster=C&task=T&container=NAME&offset=N&waitSeconds=S,
// signed by a user: forwarded to the log server of the agent that runs the
// task (GET /berth/v1/agent/logs on the endpoint it joined with), signed
// with that instance's credential. The agent's status, body and
// X-Berth-Log-Offset / X-Berth-Log-Complete headers come back unchanged.
//
// GET /berth/v1/pulls?cluster=C&task=T, signed by a user, goes the same way
// to GET /berth/v1/agent/pulls: the task's image pulls layer by layer.
//
// Each forward runs on a thread of its own (it may wait up to waitSeconds
// for output), never on an I/O thread; at most kMaxInFlight at once.
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "awsjson/client.h"
#include "common/clock.h"
#include "http/message.h"
#include "http/sigv4.h"
#include "http/tls_options.h"
#include "server/api/ecs_api.h"

namespace berth::server {

// What the server reaches agents with: the key their instance credentials
// derive from, and the CA certificates (PEM) trusted for agents serving TLS
// besides the system's (--agent-ca-file; empty: the system's only).
struct AgentAccess {
  std::string agent_key;
  std::string ca_file;
};

// How the server reaches the agent that runs a task (for logs and exec):
// the endpoint it joined with (agent_endpoint.h), over TLS when it said
// https://, and requests signed with that instance's credential.
// kUnavailable when the recorded endpoint is not [https://]HOST:PORT.
struct AgentTarget {
  std::string host;
  uint16_t port = 0;
  http::TlsOptions tls;
  awsjson::Signer signer;
};
StatusOr<AgentTarget> TargetAgent(const api::EcsApi::LogSource& source, const AgentAccess& access);

// A cap on what runs at once on threads of its own (log reads, exec
// sessions). Thread-safe; a slot may outlive the cap (threads left running
// at exit).
class InFlightCap {
 public:
  explicit InFlightCap(int max) : max_(max) {}
  // A slot while fewer than max are taken, else nullptr. Dropping the last
  // copy frees it.
  std::shared_ptr<void> Take();

 private:
  const int max_;
  std::shared_ptr<std::atomic<int>> taken_ = std::make_shared<std::atomic<int>>(0);
};

class LogForwarder {
 public:
  static constexpr int kMaxInFlight = 256;
  static constexpr int kMaxWaitSeconds = 25;

  LogForwarder(api::EcsApi& ecs, http::SecretLookup secrets, const Clock& clock, AgentAccess agents)
      : ecs_(ecs), secrets_(std::move(secrets)), clock_(clock), agents_(std::move(agents)) {}

  // True for requests to /berth/v1/logs and /berth/v1/pulls.
  static bool Accepts(const http::Request& request);
  void Handle(http::Request&& request, http::Responder respond);

 private:
  api::EcsApi& ecs_;
  http::SecretLookup secrets_;
  const Clock& clock_;
  const AgentAccess agents_;
  InFlightCap in_flight_{kMaxInFlight};
};

}  // namespace berth::server
