// `berth gang ls` and `berth gang show NAME`: the cluster's gangs, or one
// gang with its attempts and where each rank ran, how it stands and why it
// stopped (GET /berth/v1/gangs, signed like the AWS APIs). `berth gang
// [NAME] [--json]`, the older spelling, does the same.
#include <boost/json/parse.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/client_verb.h"
#include "cli/gang_format.h"
#include "http/query_string.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

// Prints the cluster's gangs (gang empty) or the one gang.
Status PrintGangs(awsjson::Client& client, const std::string& cluster, const std::string& gang,
                  bool as_json) {
  std::string target = "/berth/v1/gangs?cluster=" + http::EncodeQueryValue(cluster);
  if (!gang.empty()) target += "&gang=" + http::EncodeQueryValue(gang);
  auto reply = client.Send("GET", target);
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return awsjson::ErrorFromReply(*reply);
  boost::system::error_code ec;
  json::value body = json::parse(reply->body, ec);
  if (ec || !body.is_object()) return Internal("the server's reply is not a JSON object");
  if (!as_json && !gang.empty()) {
    const json::value* one = body.as_object().if_contains("gang");
    if (one == nullptr || !one->is_object()) return Internal("the reply has no gang");
  }
  return PrintReply(as_json, body, [&] {
    if (gang.empty()) {
      const json::value* gangs = body.as_object().if_contains("gangs");
      Print(FormatGangList(gangs != nullptr && gangs->is_array() ? gangs->get_array()
                                                                 : json::array{}));
    } else {
      Print(FormatGang(body.as_object().at("gang").get_object()));
    }
  });
}

struct GangOptions {
  ServerClientOptions server;
  std::string cluster = "default";
  std::string gang;  // empty: list the cluster's gangs
  bool json = false;
};

}  // namespace

std::vector<Verb> AddGangCommands(CLI::App& parent) {
  auto options = std::make_shared<GangOptions>();
  auto* cmd = parent.add_subcommand(
      "gang", "show a gang (its attempts and ranks), or list the cluster's gangs");
  cmd->footer(
      "Example:\n  berth gang ls --cluster training\n  berth gang show --cluster "
      "training llama");
  cmd->add_option("name", options->gang, "the gang's name (its berth:gang tag)");
  cmd->add_option("--cluster", options->cluster, "cluster")->capture_default_str();
  cmd->add_flag("--json", options->json, "print the server's JSON reply");
  AddServerClientOptions(*cmd, options->server);

  std::vector<Verb> verbs;
  auto ls = std::make_shared<ClientVerbOptions>();
  verbs.push_back(AddClientVerb(
      *cmd, "ls", "list the cluster's gangs", "berth gang ls --cluster training", ls,
      [ls](awsjson::Client& client) { return PrintGangs(client, ls->cluster, "", ls->json()); }));
  auto show = std::make_shared<ClientVerbOptions>();
  auto name = std::make_shared<std::string>();
  Verb one = AddClientVerb(*cmd, "show", "show a gang: its attempts, ranks and queue position",
                           "berth gang show --cluster training llama", show,
                           [show, name](awsjson::Client& client) {
                             return PrintGangs(client, show->cluster, *name, show->json());
                           });
  one.command->add_option("name", *name, "the gang's name (its berth:gang tag)")->required();
  verbs.push_back(std::move(one));

  // Last: `berth gang ls` also sets this command.
  verbs.push_back({"gang", cmd, [options]() -> StatusOr<int> {
                     auto client = ConnectToServer(options->server, 30);
                     if (!client.ok()) return client.status();
                     return ExitStatusOf(
                         PrintGangs(**client, options->cluster, options->gang, options->json));
                   }});
  return verbs;
}

}  // namespace berth::cli
