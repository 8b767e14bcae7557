// `berth task ls|show|run|stop`: a cluster's tasks, over ListTasks,
// DescribeTasks, RunTask and StopTask; `run --wait` follows the task to its end.
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/client_verb.h"
#include "cli/log_stream.h"
#include "cli/pull_progress.h"
#include "cli/task_wait.h"
#include "cli/views.h"
#include "http/query_string.h"
#include "model/json_util.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

constexpr size_t kDescribeTasksBatch = 100;

Status ListTasks(awsjson::Client& client, const ClientVerbOptions& options, bool stopped) {
  auto arns = ListAll(client, awsjson::kEcsTargetPrefix, "ListTasks",
                      json::object{{"cluster", options.cluster},
                                   {"desiredStatus", stopped ? "STOPPED" : "RUNNING"}},
                      "taskArns");
  if (!arns.ok()) return arns.status();
  auto described = DescribeAll(client, "DescribeTasks", json::object{{"cluster", options.cluster}},
                               "tasks", *arns, kDescribeTasksBatch, "tasks");
  if (!described.ok()) return described.status();
  return PrintReply(options, *described,
                    [&] { PrintTable(TaskRows(model::ArrayOr(*described, "tasks"))); });
}

void PrintTask(const json::object& task) {
  Print(FormatFields(TaskFields(task)));
  Print("\n");
  PrintTable(ContainerRows(task));
}

Status ShowTask(awsjson::Client& client, const ClientVerbOptions& options, const std::string& id) {
  auto reply =
      CallEcs(client, "DescribeTasks",
              json::object{{"cluster", options.cluster}, {"tasks", json::array{json::string(id)}}});
  if (!reply.ok()) return reply.status();
  const json::array& tasks = model::ArrayOr(*reply, "tasks");
  if (tasks.empty()) return NotFound("task " + id + ": not found in cluster " + options.cluster);
  return PrintReply(options, *reply, [&] { PrintTask(model::AsObject(tasks[0])); });
}

Status StopTask(awsjson::Client& client, const ClientVerbOptions& options, const std::string& id,
                const std::string& reason) {
  json::object input{{"cluster", options.cluster}, {"task", id}};
  if (!reason.empty()) input["reason"] = reason;
  auto reply = CallEcs(client, "StopTask", input);
  if (!reply.ok()) return reply.status();
  return PrintReply(options, *reply, [&] {
    if (const json::object* task = model::ObjectAt(*reply, "task")) PrintTask(*task);
  });
}

constexpr auto kPollInterval = std::chrono::seconds(1);

struct RunOptions {
  std::string definition;
  int count = 1;
  bool wait = false;
};

// The task as DescribeTasks has it now.
StatusOr<json::object> DescribeTask(awsjson::Client& client, const std::string& cluster,
                                    const std::string& arn) {
  auto reply =
      CallEcs(client, "DescribeTasks",
              json::object{{"cluster", cluster}, {"tasks", json::array{json::string(arn)}}});
  if (!reply.ok()) return reply.status();
  const json::array& tasks = model::ArrayOr(*reply, "tasks");
  if (tasks.empty()) return NotFound("task " + arn + ": not found in cluster " + cluster);
  return model::AsObject(tasks[0]);
}

// The task's image pulls so far, from its agent; nothing when they cannot
// be read (the task is not placed yet, its agent is unreachable): the bars
// are a help, not a reason to stop following.
json::object ReadPulls(awsjson::Client& client, const std::string& cluster,
                       const std::string& arn) {
  auto reply = client.Send("GET", "/berth/v1/pulls?cluster=" + http::EncodeQueryValue(cluster) +
                                      "&task=" + http::EncodeQueryValue(arn));
  if (!reply.ok() || reply->status != 200) return {};
  boost::system::error_code ec;
  json::value body = json::parse(reply->body, ec);
  return !ec && body.is_object() ? body.get_object() : json::object{};
}

// Polls the task until its lastStatus is until (or STOPPED), printing a line
// per status it passes through, and the image pulls while it is PENDING;
// last is the status printed before.
StatusOr<json::object> WaitForStatus(awsjson::Client& client, const std::string& cluster,
                                     const std::string& arn, std::string_view until,
                                     std::string& last, PullProgressView& pulls) {
  while (true) {
    auto task = DescribeTask(client, cluster, arn);
    if (!task.ok()) return task.status();
    std::string status(model::StringOr(*task, "lastStatus", ""));
    // A pull quicker than a poll is shown whole, once, before RUNNING.
    if (status == "RUNNING" && status != last) pulls.Show(ReadPulls(client, cluster, arn));
    if (status != last) {
      Print(status + "\n");
      std::fflush(stdout);
      last = status;
    }
    if (status == "PENDING") pulls.Show(ReadPulls(client, cluster, arn));
    if (status == until || status == "STOPPED") return task;
    std::this_thread::sleep_for(kPollInterval);
  }
}

// `task run --wait`: prints the task's statuses up to RUNNING, then its first
// essential container's output, and exits with that container's exit code.
Status FollowTask(awsjson::Client& client, ClientVerbOptions& options, const json::object& task) {
  std::string arn(model::StringOr(task, "taskArn", ""));
  auto described =
      CallEcs(client, "DescribeTaskDefinition",
              json::object{{"taskDefinition", model::StringOr(task, "taskDefinitionArn", "")}});
  if (!described.ok()) return described.status();
  const json::object* definition = model::ObjectAt(*described, "taskDefinition");
  std::string container = definition ? EssentialContainer(*definition) : "";
  if (container.empty())
    return FailedPrecondition("the task definition has no essential container");
  Print("task " + std::string(ArnTail(arn)) + "\n");
  std::string last;
  TableStyle style = StdoutTableStyle();
  PullProgressView pulls(style.width > 0, style.width);
  auto now = WaitForStatus(client, options.cluster, arn, "RUNNING", last, pulls);
  if (!now.ok()) return now.status();
  if (model::StringOr(*now, "lastStatus", "") != "STOPPED") {
    Status streamed = StreamLogs(client, options.cluster, arn, container, true);
    if (!streamed.ok()) return streamed.WithContext("container " + container);
    now = WaitForStatus(client, options.cluster, arn, "STOPPED", last, pulls);
    if (!now.ok()) return now.status();
  }
  TaskExit exit = ExitOf(*now, container);
  if (exit.code != 0 && !exit.reason.empty()) {
    std::fprintf(stderr, "%s\n", exit.reason.c_str());
  }
  options.exit_status = exit.code;
  return Status::Ok();
}

Status RunTask(awsjson::Client& client, ClientVerbOptions& options, const RunOptions& run) {
  if (run.wait && run.count != 1)
    return InvalidArgument("--wait follows one task: not with --count");
  if (run.wait && options.json()) {
    return InvalidArgument("--wait prints the task's output: not with --output json");
  }
  auto reply = CallEcs(
      client, "RunTask",
      json::object{
          {"cluster", options.cluster}, {"taskDefinition", run.definition}, {"count", run.count}});
  if (!reply.ok()) return reply.status();
  const json::array& failures = model::ArrayOr(*reply, "failures");
  if (model::ArrayOr(*reply, "tasks").empty() && !failures.empty()) {
    const json::object& f = model::AsObject(failures[0]);
    return FailedPrecondition("RunTask: " + std::string(model::StringOr(f, "reason", "failed")) +
                              " " + std::string(model::StringOr(f, "detail", "")));
  }
  const json::array& tasks = model::ArrayOr(*reply, "tasks");
  if (run.wait && !tasks.empty()) return FollowTask(client, options, model::AsObject(tasks[0]));
  return PrintReply(options, *reply, [&] { PrintTable(TaskRows(tasks)); });
}

}  // namespace

std::vector<Verb> AddTaskCommands(CLI::App& parent) {
  auto* noun = AddNoun(parent, "task", "list, show, run and stop a cluster's tasks");
  std::vector<Verb> verbs;

  auto ls = std::make_shared<ClientVerbOptions>();
  auto stopped = std::make_shared<bool>(false);
  Verb list = AddClientVerb(
      *noun, "ls", "list the cluster's tasks", "berth task ls --cluster training --stopped", ls,
      [ls, stopped](awsjson::Client& client) { return ListTasks(client, *ls, *stopped); });
  list.command->add_flag("--stopped", *stopped, "the stopped tasks instead of the live ones");
  verbs.push_back(std::move(list));

  auto show = std::make_shared<ClientVerbOptions>();
  auto id = std::make_shared<std::string>();
  Verb describe =
      AddClientVerb(*noun, "show", "show a task and its containers (exit codes, devices)",
                    "berth task show --cluster training 8d2f...", show,
                    [show, id](awsjson::Client& client) { return ShowTask(client, *show, *id); });
  describe.command->add_option("task", *id, "task id or ARN")->required();
  verbs.push_back(std::move(describe));

  auto run_options = std::make_shared<ClientVerbOptions>();
  auto run = std::make_shared<RunOptions>();
  Verb start = AddClientVerb(
      *noun, "run", "run tasks of a task definition (RunTask); --wait: follow one to its end",
      "berth task run --cluster training --count 2 bert-training:3", run_options,
      [run_options, run](awsjson::Client& client) { return RunTask(client, *run_options, *run); });
  start.command->add_option("taskdef", run->definition, "FAMILY, FAMILY:REVISION or ARN")
      ->required();
  start.command->add_option("--count", run->count, "how many tasks")
      ->check(CLI::Range(1, 10))
      ->capture_default_str();
  start.command->add_flag("--wait", run->wait,
                          "print its statuses, follow its essential container's output and "
                          "exit with that container's exit code");
  verbs.push_back(std::move(start));

  auto stop = std::make_shared<ClientVerbOptions>();
  auto stop_id = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  Verb halt = AddClientVerb(*noun, "stop", "stop a task",
                            "berth task stop --cluster training 8d2f... --reason done", stop,
                            [stop, stop_id, reason](awsjson::Client& client) {
                              return StopTask(client, *stop, *stop_id, *reason);
                            });
  halt.command->add_option("task", *stop_id, "task id or ARN")->required();
  halt.command->add_option("--reason", *reason, "why (the task's stoppedReason)");
  verbs.push_back(std::move(halt));
  return verbs;
}

}  // namespace berth::cli
