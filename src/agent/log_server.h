// Serves container logs to the server (which forwards them to `berth logs`),
// and `berth exec` sessions (exec_session.h), on the agent's address:
//   GET /berth/v1/agent/logs?task=ID&container=NAME&offset=N&waitSeconds=S
// signed with this instance's credential. The body is the container's
// output from byte `offset` of its log file; X-Berth-Log-Offset says where
// to go on; X-Berth-Log-Complete: true says the container has exited for
// good and everything was sent (a container its restart policy may start
// again has not: its next run appends to the same log). With nothing new yet, the reply waits up to
// S seconds (at most 20) for output.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/runtime/container_runtime.h"
#include "common/status.h"
#include "http/sigv4.h"

namespace berth::agent {

class LogServer {
 public:
  // credentials: returns the instance credential (it changes on re-join).
  // may_restart: whether an exited container of a task may yet be
  // restarted (TaskWorker::MayRestart); thread-safe.
  using MayRestart = std::function<bool(const std::string& task_id, const std::string& container)>;
  static StatusOr<std::unique_ptr<LogServer>> Start(
      const std::string& listen, ContainerRuntime& runtime,
      std::function<http::SigV4Credentials()> credentials, MayRestart may_restart);
  virtual ~LogServer() = default;
  virtual uint16_t port() const = 0;
  virtual void Stop() = 0;  // waits for requests in flight
};

}  // namespace berth::agent
