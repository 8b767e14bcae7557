// `berth cluster ls|show|create|rm`: the clusters, over ListClusters,
// DescribeClusters, CreateCluster and DeleteCluster.
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

Status ListClusters(awsjson::Client& client, const ClientVerbOptions& options) {
  auto list = CallEcs(client, "ListClusters", json::object{});
  if (!list.ok()) return list.status();
  json::array arns = model::ArrayOr(*list, "clusterArns");
  json::object described{{"clusters", json::array{}}, {"failures", json::array{}}};
  if (!arns.empty()) {
    auto reply = CallEcs(client, "DescribeClusters", json::object{{"clusters", arns}});
    if (!reply.ok()) return reply.status();
    described = std::move(*reply);
  }
  return PrintReply(options, described,
                    [&] { PrintTable(ClusterRows(model::ArrayOr(described, "clusters"))); });
}

Status ShowCluster(awsjson::Client& client, const ClientVerbOptions& options,
                   const std::string& name) {
  auto reply = CallEcs(client, "DescribeClusters",
                       json::object{{"clusters", json::array{json::string(name)}}});
  if (!reply.ok()) return reply.status();
  const json::array& clusters = model::ArrayOr(*reply, "clusters");
  if (clusters.empty()) return NotFound("cluster " + name + ": not found");
  return PrintReply(options, *reply,
                    [&] { Print(FormatFields(ClusterFields(model::AsObject(clusters[0])))); });
}

// CreateCluster or DeleteCluster, printing what the cluster is now.
Status ChangeCluster(awsjson::Client& client, const ClientVerbOptions& options,
                     std::string_view operation, const std::string& name) {
  // CreateCluster names it clusterName, DeleteCluster cluster.
  std::string_view key = operation == "CreateCluster" ? "clusterName" : "cluster";
  auto reply = CallEcs(client, operation, json::object{{key, name}});
  if (!reply.ok()) return reply.status();
  return PrintReply(options, *reply, [&] {
    if (const json::object* cluster = model::ObjectAt(*reply, "cluster")) {
      Print(FormatFields(ClusterFields(*cluster)));
    }
  });
}

}  // namespace

std::vector<Verb> AddClusterCommands(CLI::App& parent) {
  auto* noun = AddNoun(parent, "cluster", "list, show, create and remove clusters");
  std::vector<Verb> verbs;
  auto ls = std::make_shared<ClientVerbOptions>();
  verbs.push_back(AddClientVerb(
      *noun, "ls", "list the clusters", "berth cluster ls --output json", ls,
      [ls](awsjson::Client& client) { return ListClusters(client, *ls); }, false));

  for (auto [verb, description, example, operation] :
       {std::tuple{"show", "show a cluster", "berth cluster show training", ""},
        std::tuple{"create", "create a cluster", "berth cluster create training", "CreateCluster"},
        std::tuple{"rm", "remove a cluster (it must have no nodes, tasks or services)",
                   "berth cluster rm training", "DeleteCluster"}}) {
    auto options = std::make_shared<ClientVerbOptions>();
    auto name = std::make_shared<std::string>();
    std::string op = operation;
    Verb v = AddClientVerb(
        *noun, verb, description, example, options,
        [options, name, op](awsjson::Client& client) {
          if (op.empty()) return ShowCluster(client, *options, *name);
          return ChangeCluster(client, *options, op, *name);
        },
        false);
    v.command->add_option("name", *name, "the cluster's name")->required();
    verbs.push_back(std::move(v));
  }
  return verbs;
}

}  // namespace berth::cli
