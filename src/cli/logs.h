// `berth logs [-f] TASK [--container NAME]`: prints a container's output,
// read through the server from the agent that runs it; with -f it follows
// the output until the container exits.
#pragma once

#include <string>

namespace berth::cli {

struct LogsOptions {
  std::string endpoint = "http://127.0.0.1:8080";
  std::string credentials_file;
  std::string cluster = "default";
  std::string task;       // id or ARN
  std::string container;  // default: the task's first container
  bool follow = false;
};

int Logs(const LogsOptions& options);

}  // namespace berth::cli
