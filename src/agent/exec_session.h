// One `berth exec` session on the node: a command run inside a running
// container with `runc exec`, its streams relayed over a WebSocket in the
// frames of http/exec_protocol.h. The agent serves it at
//   GET /berth/v1/agent/exec?task=ID&container=NAME&command=[...]&tty=B&stdin=B
// (a WebSocket upgrade signed with the instance credential, beside the log
// server), which the server opens for a user's `berth exec`.
//
// Without a terminal the command's stdin, stdout and stderr are pipes.
// With one (tty), runc is given a pseudo-terminal of its own as its stdio:
// `runc exec --tty` relays that to the terminal it makes for the process
// and passes its size on (the kernel tells runc with SIGWINCH when the
// agent sets the size on its side). runc's --console-socket, which would
// hand the process's terminal over directly, works only with --detach,
// and a detached process is no longer runc's child, so its exit code would
// be lost.
//
// Without a terminal runc relays the command's output to its end (EOF), so
// a background process that keeps stdout open keeps the session open too,
// as with docker exec.
//
// The session ends when the command exits (its exit code goes out as the
// status frame, then the socket is closed) or when the socket closes first
// (the process and runc are killed: no exec process outlives its session).
#pragma once

#include <string>

#include "agent/runtime/container_runtime.h"
#include "http/exec_protocol.h"
#include "http/websocket.h"

namespace berth::agent {

struct ExecSessionSpec {
  std::string task_id;       // for the log lines
  std::string container;     // the container's name in the task
  std::string container_id;  // the runtime's id
  http::ExecOptions options;
};

// Runs the session to its end on the calling thread (it starts one more of
// its own for the output). Failures to start go to the client as an error
// status frame. Logs the start and the end.
void RunExecSession(ContainerRuntime& runtime, const ExecSessionSpec& spec,
                    http::WebSocket& socket);

}  // namespace berth::agent
