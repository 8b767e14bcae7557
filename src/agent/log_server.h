// The agent's HTTP server, which the berth server calls on behalf of users:
//   GET /berth/v1/agent/logs?task=ID&container=NAME&offset=N&waitSeconds=S
// signed with this instance's credential. The body is the container's
// output from byte `offset` of its log file; X-Berth-Log-Offset says where
// to go on; X-Berth-Log-Complete: true says the container has exited for
// good and everything was sent (a container its restart policy may start
// again has not: its next run appends to the same log). With nothing new yet, the reply waits up to
// S seconds (at most 20) for output.
//   GET /berth/v1/agent/pulls?task=ID, signed the same way: the task's image
// pulls layer by layer (PullBoard::Read), for `berth task run --wait`.
//   GET /berth/v1/agent/exec?task=ID&container=NAME&command=[...]&tty=B&stdin=B,
// signed the same way: a `berth exec` session over a WebSocket
// (exec_session.h).
//   GET /metrics: the agent's Prometheus metrics (pulls, layer throughput,
// container starts, health checks), with "Authorization: Bearer <token>",
// the token in the agent's <data>/metrics-token.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/pull_board.h"
#include "agent/runtime/container_runtime.h"
#include "common/status.h"
#include "http/server_tls.h"
#include "http/sigv4.h"

namespace berth::agent {

class LogServer {
 public:
  // credentials: returns the instance credential (it changes on re-join).
  // may_still_run: whether a container of a task that the runtime shows
  // exited or does not have (yet) may still run: not started yet, or
  // restarted by its policy (TaskWorker::MayStillRun); thread-safe.
  using MayStillRun = std::function<bool(const std::string& task_id, const std::string& container)>;
  // pulls outlives the server. tls: serve https with it (null: plain http).
  static StatusOr<std::unique_ptr<LogServer>> Start(
      const std::string& listen, std::shared_ptr<http::ServerTls> tls, ContainerRuntime& runtime,
      std::function<http::SigV4Credentials()> credentials, MayStillRun may_still_run,
      const PullBoard& pulls, std::string metrics_token);
  virtual ~LogServer() = default;
  virtual uint16_t port() const = 0;
  virtual void Stop() = 0;  // waits for requests in flight
};

}  // namespace berth::agent
