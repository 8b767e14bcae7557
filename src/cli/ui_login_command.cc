// `berth ui-login`: asks a server for a one-time login URL to its dashboard
// (POST /berth/v1/ui/login-tokens, signed as the user) and prints it.
#include <boost/json/parse.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/client_credentials.h"
#include "cli/verbs.h"

namespace berth::cli {

namespace {

constexpr int kTimeoutSeconds = 30;

Status RunUiLogin(const ServerClientOptions& options) {
  auto client = ConnectToServer(options, kTimeoutSeconds);
  if (!client.ok()) return client.status();
  auto reply = (*client)->Send("POST", "/berth/v1/ui/login-tokens", "");
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return awsjson::ErrorFromReply(*reply);
  boost::system::error_code ec;
  auto body = boost::json::parse(reply->body, ec);
  const boost::json::value* url =
      !ec && body.is_object() ? body.as_object().if_contains("loginUrl") : nullptr;
  if (url == nullptr || !url->is_string()) {
    return Internal("the server's reply has no loginUrl: " + reply->body);
  }
  std::printf("%s\n", url->as_string().c_str());
  return Status::Ok();
}

}  // namespace

Verb AddUiLoginCommand(CLI::App& parent) {
  auto options = std::make_shared<ServerClientOptions>();
  auto* cmd = parent.add_subcommand(
      "ui-login",
      "print a one-time URL that logs this user in to the server's dashboard (/ui/); "
      "it works once, within 10 minutes");
  cmd->footer("Example:\n  berth ui-login --endpoint http://127.0.0.1:8080");
  AddServerClientOptions(*cmd, *options);
  return {"ui-login", cmd, [options] { return ExitStatusOf(RunUiLogin(*options)); }};
}

}  // namespace berth::cli
