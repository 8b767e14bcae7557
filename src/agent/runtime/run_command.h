// Runs a program and collects its output: how the runtime talks to runc.
// Internal to berth_agent_runtime.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::agent {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
  bool timed_out = false;  // killed because it ran past RunLimits::timeout_millis
};

struct RunLimits {
  int64_t timeout_millis = -1;  // < 0: wait as long as it runs
  // Called once when the timeout passes, before the program itself is
  // SIGKILLed: for what the program started elsewhere (runc exec's process
  // in the container).
  std::function<void()> on_timeout;
};

// argv[0] is a path or a name on PATH. Fails only when it cannot be run.
StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, const RunLimits& limits);
inline StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv) {
  return RunCommand(argv, RunLimits{});
}

// "runc" -> "/usr/sbin/runc" (conmon execs the runtime by path).
StatusOr<std::string> FindProgram(const std::string& name);

// Closes every descriptor from `first` up: in a forked child, before exec,
// so the child holds nothing of the agent's.
void CloseDescriptorsFrom(int first);

}  // namespace berth::agent
