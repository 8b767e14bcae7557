// `berth server`: the control plane (ECS and ECR APIs, registry) until
// SIGINT or SIGTERM.
#include <memory>

#include "cli/daemon_flags.h"
#include "cli/verbs.h"
#include "server/server.h"

namespace berth::cli {

Verb AddServerCommand(CLI::App& parent) {
  auto config = std::make_shared<server::ServerConfig>();
  config->data_dir = "/var/lib/berth";
  auto* cmd = parent.add_subcommand("server", "run the control plane (ECS API)");
  AddServerFlags(cmd, *config);
  return {"server", cmd, [config]() -> StatusOr<int> { return server::RunServer(*config); }};
}

}  // namespace berth::cli
