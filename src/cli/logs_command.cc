// `berth logs [-f] TASK [--container NAME]`: prints a container's output,
// read through the server from the agent that runs it; with -f it follows
// the output until the container exits.
#include <memory>
#include <string>

#include "cli/client_credentials.h"
#include "cli/log_stream.h"
#include "cli/verbs.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

struct LogsOptions {
  ServerClientOptions server;
  std::string cluster = "default";
  std::string task;       // id or ARN
  std::string container;  // default: the task's first container
  bool follow = false;
};

// The task's first container, from DescribeTasks.
StatusOr<std::string> FirstContainer(awsjson::Client& client, const LogsOptions& options) {
  auto reply = client.Call(awsjson::kEcsTargetPrefix, "DescribeTasks",
                           json::object{{"cluster", options.cluster},
                                        {"tasks", json::array{json::string(options.task)}}});
  if (!reply.ok()) return reply.status();
  const json::value* tasks = reply->is_object() ? reply->as_object().if_contains("tasks") : nullptr;
  if (tasks == nullptr || !tasks->is_array()) return Internal("DescribeTasks: no tasks in reply");
  if (tasks->as_array().empty()) return NotFound("not found in cluster " + options.cluster);
  const auto& containers = tasks->as_array()[0].as_object().at("containers").as_array();
  if (containers.empty()) return NotFound("no containers");
  return std::string(containers[0].as_object().at("name").as_string());
}

Status RunLogs(const LogsOptions& options) {
  auto client = ConnectToServer(options.server, kLogFollowWaitSeconds + 30);
  if (!client.ok()) return client.status();
  std::string container = options.container;
  if (container.empty()) {
    auto first = FirstContainer(**client, options);
    if (!first.ok()) return first.status().WithContext("task " + options.task);
    container = *first;
  }
  return StreamLogs(**client, options.cluster, options.task, container, options.follow)
      .WithContext("task " + options.task);
}

}  // namespace

Verb AddLogsCommand(CLI::App& parent) {
  auto options = std::make_shared<LogsOptions>();
  auto* cmd = parent.add_subcommand("logs", "print a task's container output");
  cmd->add_option("task", options->task, "task id or ARN")->required();
  cmd->add_flag("-f,--follow", options->follow, "follow the output until the container exits");
  cmd->add_option("--container", options->container, "container name (default: the first)");
  cmd->add_option("--cluster", options->cluster, "cluster")->capture_default_str();
  AddServerClientOptions(*cmd, options->server);
  return {"logs", cmd, [options] { return ExitStatusOf(RunLogs(*options)); }};
}

}  // namespace berth::cli
