// GET /berth/v1/exec?cluster=C&task=T&container=NAME&command=[...]&tty=B&stdin=B,
// signed by a user (instance credentials are refused: berth has no IAM, and
// the keys that may stop a task are the users' keys) and asking for a
// WebSocket: `berth exec`. The task must be RUNNING and so must the
// container; else, and for every other refusal, the reply is an ordinary
// JSON 1.1 error, as /berth/v1/logs gives. Then the server opens
// GET /berth/v1/agent/exec on the agent that runs the task (its joined
// endpoint, signed with that instance's credential, see log_forwarding.h),
// and only once the agent accepted does it accept the client's upgrade (an
// agent's refusal reaches the client as the agent's reply). From then on it
// copies messages both ways (http/exec_protocol.h frames; from the client
// only stdin, resize and close) until either side closes, then closes the
// other.
//
// Each session has a thread per direction, never an I/O thread; at most
// kMaxSessions at once (like LogForwarder's cap), as an interactive shell may
// stay open for hours. Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "http/message.h"
#include "http/sigv4.h"
#include "server/access_policy.h"
#include "server/api/ecs_api.h"
#include "server/log_forwarding.h"

namespace berth::server {

class ExecRelay {
 public:
  static constexpr int kMaxSessions = 256;
  static constexpr int kAgentDialSeconds = 15;

  ExecRelay(api::EcsApi& ecs, http::SecretLookup secrets, const Clock& clock, AgentAccess agents,
            const AccessPolicy& access)
      : ecs_(ecs),
        secrets_(std::move(secrets)),
        clock_(clock),
        agents_(std::move(agents)),
        access_(access) {}

  // True for requests to /berth/v1/exec.
  static bool Accepts(const http::Request& request);
  void Handle(http::Request&& request, http::Responder respond);

 private:
  api::EcsApi& ecs_;
  http::SecretLookup secrets_;
  const Clock& clock_;
  const AgentAccess agents_;
  const AccessPolicy& access_;
  InFlightCap sessions_{kMaxSessions};
};

}  // namespace berth::server
