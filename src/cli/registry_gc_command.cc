// `berth registry gc`: asks a running server to remove the blobs that no
// manifest references, and prints what it removed (the server's JSON).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/client_credentials.h"
#include "cli/verbs.h"

namespace berth::cli {

namespace {

// A collection walks every blob; it may take long on a large registry.
constexpr int kGcTimeoutSeconds = 3600;

struct RegistryGcOptions {
  ServerClientOptions server;
  int64_t min_age_seconds = 3600;  // blobs uploaded or found present more recently stay
};

Status RunRegistryGc(const RegistryGcOptions& options) {
  auto client = ConnectToServer(options.server, kGcTimeoutSeconds);
  if (!client.ok()) return client.status();
  auto reply =
      (*client)->Send("POST", "/berth/v1/registry/gc",
                      "{\"minAgeSeconds\":" + std::to_string(options.min_age_seconds) + "}");
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return awsjson::ErrorFromReply(*reply);
  std::printf("%s\n", reply->body.c_str());
  return Status::Ok();
}

}  // namespace

Verb AddRegistryGcCommand(CLI::App& registry) {
  auto options = std::make_shared<RegistryGcOptions>();
  auto* cmd = registry.add_subcommand("gc", "remove blobs that no manifest references");
  cmd->add_option("--min-age", options->min_age_seconds,
                  "seconds: blobs uploaded or found present more recently stay, so that "
                  "pushes in progress keep their layers")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  AddServerClientOptions(*cmd, options->server);
  return {"registry gc", cmd, [options] { return ExitStatusOf(RunRegistryGc(*options)); }};
}

}  // namespace berth::cli
