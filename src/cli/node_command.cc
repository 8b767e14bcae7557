// `berth node ls|show|drain|activate`: the cluster's container instances;
// show lists the node's Neuron, GPU and EFA devices with the task holding
// each (DescribeContainerInstances, ListTasks, DescribeTasks,
// UpdateContainerInstancesState).
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cli/client_verb.h"
#include "cli/views.h"
#include "model/json_util.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

// The failures member as one message: "ARN: REASON (DETAIL)".
Status Failed(const json::object& reply, const std::string& what) {
  const json::array& failures = model::ArrayOr(reply, "failures");
  if (failures.empty()) return Status::Ok();
  const json::object& f = model::AsObject(failures[0]);
  std::string reason(model::StringOr(f, "reason", "failed"));
  if (reason == "MISSING") return NotFound(what + ": not found");
  std::string detail(model::StringOr(f, "detail", ""));
  return FailedPrecondition(what + ": " + reason + (detail.empty() ? "" : " (" + detail + ")"));
}

StatusOr<json::object> DescribeNodes(awsjson::Client& client, const std::string& cluster,
                                     json::array ids) {
  return CallEcs(client, "DescribeContainerInstances",
                 json::object{{"cluster", cluster}, {"containerInstances", std::move(ids)}});
}

Status ListNodes(awsjson::Client& client, const ClientVerbOptions& options) {
  auto list = CallEcs(client, "ListContainerInstances", json::object{{"cluster", options.cluster}});
  if (!list.ok()) return list.status();
  json::array arns = model::ArrayOr(*list, "containerInstanceArns");
  json::object described{{"containerInstances", json::array{}}, {"failures", json::array{}}};
  if (!arns.empty()) {
    auto reply = DescribeNodes(client, options.cluster, arns);
    if (!reply.ok()) return reply.status();
    described = std::move(*reply);
  }
  return PrintReply(options, described,
                    [&] { PrintTable(NodeRows(model::ArrayOr(described, "containerInstances"))); });
}

Status ShowNode(awsjson::Client& client, const ClientVerbOptions& options, const std::string& id) {
  auto reply = DescribeNodes(client, options.cluster, json::array{json::string(id)});
  if (!reply.ok()) return reply.status();
  if (Status failed = Failed(*reply, "node " + id); !failed.ok()) return failed;
  const json::array& instances = model::ArrayOr(*reply, "containerInstances");
  if (instances.empty()) return NotFound("node " + id + ": not found");
  const json::object& instance = model::AsObject(instances[0]);
  auto listed = CallEcs(
      client, "ListTasks",
      json::object{{"cluster", options.cluster},
                   {"containerInstance", model::StringOr(instance, "containerInstanceArn", id)}});
  if (!listed.ok()) return listed.status();
  json::array tasks;
  if (json::array arns = model::ArrayOr(*listed, "taskArns"); !arns.empty()) {
    auto described = CallEcs(client, "DescribeTasks",
                             json::object{{"cluster", options.cluster}, {"tasks", arns}});
    if (!described.ok()) return described.status();
    tasks = model::ArrayOr(*described, "tasks");
  }
  return PrintReply(options, json::object{{"containerInstance", instance}, {"tasks", tasks}}, [&] {
    Print(FormatFields(NodeFields(instance)));
    if (!model::ArrayOr(instance, "platformDevices").empty()) {
      Print("\n");
      PrintTable(NodeDeviceRows(instance, tasks));
    }
    if (!tasks.empty()) {
      Print("\n");
      PrintTable(TaskRows(tasks));
    }
  });
}

Status SetNodeState(awsjson::Client& client, const ClientVerbOptions& options,
                    const std::string& id, const std::string& state) {
  auto reply = CallEcs(client, "UpdateContainerInstancesState",
                       json::object{{"cluster", options.cluster},
                                    {"containerInstances", json::array{json::string(id)}},
                                    {"status", state}});
  if (!reply.ok()) return reply.status();
  if (Status failed = Failed(*reply, "node " + id); !failed.ok()) return failed;
  return PrintReply(options, *reply,
                    [&] { PrintTable(NodeRows(model::ArrayOr(*reply, "containerInstances"))); });
}

}  // namespace

std::vector<Verb> AddNodeCommands(CLI::App& parent) {
  auto* noun = AddNoun(parent, "node", "list and show a cluster's nodes, drain or activate one");
  std::vector<Verb> verbs;
  auto ls = std::make_shared<ClientVerbOptions>();
  verbs.push_back(AddClientVerb(*noun, "ls", "list the cluster's nodes",
                                "berth node ls --cluster training", ls,
                                [ls](awsjson::Client& client) { return ListNodes(client, *ls); }));

  auto show = std::make_shared<ClientVerbOptions>();
  auto show_id = std::make_shared<std::string>();
  Verb v = AddClientVerb(
      *noun, "show", "show a node, its devices with the task holding each, and its tasks",
      "berth node show --cluster training 0f3c...", show,
      [show, show_id](awsjson::Client& client) { return ShowNode(client, *show, *show_id); });
  v.command->add_option("node", *show_id, "the node's container instance id or ARN")->required();
  verbs.push_back(std::move(v));

  for (auto [verb, description, state] :
       {std::tuple{"drain", "drain a node: its service tasks move elsewhere, nothing new starts",
                   "DRAINING"},
        std::tuple{"activate", "make a drained node take tasks again", "ACTIVE"}}) {
    auto options = std::make_shared<ClientVerbOptions>();
    auto id = std::make_shared<std::string>();
    std::string s = state;
    Verb change = AddClientVerb(*noun, verb, description,
                                std::string("berth node ") + verb + " --cluster training 0f3c...",
                                options, [options, id, s](awsjson::Client& client) {
                                  return SetNodeState(client, *options, *id, s);
                                });
    change.command->add_option("node", *id, "the node's container instance id or ARN")->required();
    verbs.push_back(std::move(change));
  }
  return verbs;
}

}  // namespace berth::cli
