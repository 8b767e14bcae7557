// `berth gang [NAME]`: the cluster's gangs, or one gang with its attempts
// and where each rank ran, how it stands and why it stopped (GET
// /berth/v1/gangs, signed like the AWS APIs). --json prints the reply.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/client_credentials.h"
#include "cli/gang_format.h"
#include "cli/verbs.h"
#include "http/query_string.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

struct GangOptions {
  ServerClientOptions server;
  std::string cluster = "default";
  std::string gang;  // empty: list the cluster's gangs
  bool json = false;
};

Status RunGang(const GangOptions& options) {
  auto client = ConnectToServer(options.server.endpoint, options.server.credentials_file, 30);
  if (!client.ok()) return client.status();
  std::string target = "/berth/v1/gangs?cluster=" + http::EncodeQueryValue(options.cluster);
  if (!options.gang.empty()) target += "&gang=" + http::EncodeQueryValue(options.gang);
  auto reply = (*client)->Send("GET", target);
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return awsjson::ErrorFromReply(*reply);
  boost::system::error_code ec;
  json::value body = json::parse(reply->body, ec);
  if (ec || !body.is_object()) return Internal("the server's reply is not a JSON object");
  std::string text;
  if (options.json) {
    text = json::serialize(body) + "\n";
  } else if (options.gang.empty()) {
    const json::value* gangs = body.as_object().if_contains("gangs");
    text =
        FormatGangList(gangs != nullptr && gangs->is_array() ? gangs->get_array() : json::array{});
  } else {
    const json::value* gang = body.as_object().if_contains("gang");
    if (gang == nullptr || !gang->is_object()) return Internal("the reply has no gang");
    text = FormatGang(gang->get_object());
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return Status::Ok();
}

}  // namespace

Verb AddGangCommand(CLI::App& parent) {
  auto options = std::make_shared<GangOptions>();
  auto* cmd = parent.add_subcommand(
      "gang", "show a gang (its attempts and ranks), or list the cluster's gangs");
  cmd->add_option("name", options->gang, "the gang's name (its berth:gang tag)");
  cmd->add_option("--cluster", options->cluster, "cluster")->capture_default_str();
  cmd->add_flag("--json", options->json, "print the server's JSON reply");
  AddServerClientOptions(*cmd, options->server);
  return {"gang", cmd, [options] { return ExitStatusOf(RunGang(*options)); }};
}

}  // namespace berth::cli
