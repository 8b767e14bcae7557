// `berth service ls|show|rm`: a cluster's services, with their deployments
// and recent events (ListServices, DescribeServices, DeleteService).
#include <memory>
#include <string>
#include <vector>

#include "cli/client_verb.h"
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
  auto* noun = AddNoun(parent, "service", "list, show and remove a cluster's services");
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
