// `berth service ls|show|create|update|rm`: a cluster's services, with their
// deployments and recent events (ListServices, DescribeServices,
// CreateService, UpdateService, DeleteService).
#include <memory>
#include <string>
#include <vector>

#include "cli/client_verb.h"
#include "cli/service_input.h"
#include "cli/views.h"
#include "model/json_util.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

constexpr size_t kDescribeServicesBatch = 10;
constexpr size_t kRecentEvents = 10;

Status ListServices(awsjson::Client& client, const ClientVerbOptions& options) {
  auto arns = ListAll(client, awsjson::kEcsTargetPrefix, "ListServices",
                      json::object{{"cluster", options.cluster}}, "serviceArns");
  if (!arns.ok()) return arns.status();
  auto described =
      DescribeAll(client, "DescribeServices", json::object{{"cluster", options.cluster}},
                  "services", *arns, kDescribeServicesBatch, "services");
  if (!described.ok()) return described.status();
  return PrintReply(options, *described,
                    [&] { PrintTable(ServiceRows(model::ArrayOr(*described, "services"))); });
}

void PrintService(const json::object& service) {
  Print(FormatFields(ServiceFields(service)));
  Print("\nDeployments:\n");
  PrintTable(DeploymentRows(service));
  if (!model::ArrayOr(service, "events").empty()) {
    Print("\nRecent events:\n");
    PrintTable(EventRows(service, kRecentEvents));
  }
}

Status ShowService(awsjson::Client& client, const ClientVerbOptions& options,
                   const std::string& name) {
  auto reply = CallEcs(
      client, "DescribeServices",
      json::object{{"cluster", options.cluster}, {"services", json::array{json::string(name)}}});
  if (!reply.ok()) return reply.status();
  const json::array& services = model::ArrayOr(*reply, "services");
  if (services.empty()) {
    return NotFound("service " + name + ": not found in cluster " + options.cluster);
  }
  return PrintReply(options, *reply, [&] { PrintService(model::AsObject(services[0])); });
}

// CreateService or UpdateService with input, printing the service as
// `service show` does.
Status ChangeService(awsjson::Client& client, const ClientVerbOptions& options,
                     std::string_view operation, const StatusOr<json::object>& input) {
  if (!input.ok()) return input.status();
  auto reply = CallEcs(client, operation, *input);
  if (!reply.ok()) return reply.status();
  return PrintReply(options, *reply, [&] {
    if (const json::object* service = model::ObjectAt(*reply, "service")) PrintService(*service);
  });
}

Status RemoveService(awsjson::Client& client, const ClientVerbOptions& options,
                     const std::string& name, bool force) {
  auto reply =
      CallEcs(client, "DeleteService",
              json::object{{"cluster", options.cluster}, {"service", name}, {"force", force}});
  if (!reply.ok()) return reply.status();
  return PrintReply(options, *reply, [&] {
    if (const json::object* service = model::ObjectAt(*reply, "service")) {
      Print(FormatFields(ServiceFields(*service)));
    }
  });
}

}  // namespace

std::vector<Verb> AddServiceCommands(CLI::App& parent) {
  auto* noun =
      AddNoun(parent, "service", "list, show, create, update and remove a cluster's services");
  std::vector<Verb> verbs;

  auto ls = std::make_shared<ClientVerbOptions>();
  verbs.push_back(AddClientVerb(
      *noun, "ls", "list the cluster's services", "berth service ls --cluster training", ls,
      [ls](awsjson::Client& client) { return ListServices(client, *ls); }));

  auto show = std::make_shared<ClientVerbOptions>();
  auto name = std::make_shared<std::string>();
  Verb describe = AddClientVerb(
      *noun, "show", "show a service, its deployments and recent events",
      "berth service show --cluster training inference", show,
      [show, name](awsjson::Client& client) { return ShowService(client, *show, *name); });
  describe.command->add_option("service", *name, "service name or ARN")->required();
  verbs.push_back(std::move(describe));

  auto create = std::make_shared<ClientVerbOptions>();
  auto created = std::make_shared<ServiceFlags>();
  Verb add = AddClientVerb(
      *noun, "create", "create a service (CreateService)",
      "berth service create --cluster training inference --task-definition bert-serve:2 "
      "--desired-count 3 --circuit-breaker --rollback",
      create, [create, created](awsjson::Client& client) {
        return ChangeService(client, *create, "CreateService",
                             CreateServiceInput(create->cluster, *created));
      });
  add.command->add_option("service", created->name, "service name")->required();
  add.command->add_option("--task-definition", created->task_definition,
                          "FAMILY, FAMILY:REVISION or ARN");
  add.command->add_option("--desired-count", created->desired_count, "how many tasks (default 1)");
  add.command->add_option("--scheduling-strategy", created->scheduling_strategy,
                          "REPLICA (default) or DAEMON (one task per node)");
  add.command->add_option("--max-percent", created->max_percent,
                          "deployments: at most this % of the desired count running");
  add.command->add_option("--min-healthy-percent", created->min_healthy_percent,
                          "deployments: at least this % of the desired count running");
  add.command->add_flag("--circuit-breaker", created->circuit_breaker,
                        "fail a deployment whose tasks keep failing to start");
  add.command->add_flag("--rollback", created->rollback,
                        "with --circuit-breaker: roll a failed deployment back");
  verbs.push_back(std::move(add));

  auto update = std::make_shared<ClientVerbOptions>();
  auto updated = std::make_shared<ServiceFlags>();
  Verb change = AddClientVerb(
      *noun, "update", "change a service's task definition or count, or redeploy it",
      "berth service update --cluster training inference --task-definition bert-serve:3", update,
      [update, updated](awsjson::Client& client) {
        return ChangeService(client, *update, "UpdateService",
                             UpdateServiceInput(update->cluster, *updated));
      });
  change.command->add_option("service", updated->name, "service name or ARN")->required();
  change.command->add_option("--task-definition", updated->task_definition,
                             "deploy this FAMILY, FAMILY:REVISION or ARN");
  change.command->add_option("--desired-count", updated->desired_count, "how many tasks");
  change.command->add_flag("--force-new-deployment", updated->force_new_deployment,
                           "replace the tasks even when nothing changed");
  verbs.push_back(std::move(change));

  auto rm = std::make_shared<ClientVerbOptions>();
  auto rm_name = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  Verb remove = AddClientVerb(*noun, "rm", "remove a service (--force: even while it has tasks)",
                              "berth service rm --cluster training --force inference", rm,
                              [rm, rm_name, force](awsjson::Client& client) {
                                return RemoveService(client, *rm, *rm_name, *force);
                              });
  remove.command->add_option("service", *rm_name, "service name or ARN")->required();
  remove.command->add_flag("--force", *force, "scale it to zero and remove it at once");
  verbs.push_back(std::move(remove));
  return verbs;
}

}  // namespace berth::cli
