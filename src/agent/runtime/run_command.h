// Runs a program and collects its output: how the runtime talks to runc.
// Internal to berth_agent_runtime.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::agent {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

// argv[0] is a path or a name on PATH. Fails only when it cannot be run.
StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv);

// "runc" -> "/usr/sbin/runc" (conmon execs the runtime by path).
StatusOr<std::string> FindProgram(const std::string& name);

// Closes every descriptor from `first` up: in a forked child, before exec,
// so the child holds nothing of the agent's.
void CloseDescriptorsFrom(int first);

}  // namespace berth::agent
