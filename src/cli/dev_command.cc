// `berth dev`: server, registry and one node agent in one process with an
// embedded store; without root, the APIs only.
#include <unistd.h>

#include <memory>

#include "agent/agent.h"
#include "cli/daemon_flags.h"
#include "cli/verbs.h"
#include "common/log.h"
#include "server/server.h"

namespace berth::cli {

namespace {

struct DevOptions {
  server::ServerConfig server;
  agent::AgentConfig agent;
  bool no_agent = false;
};

// Starts the agent once the server knows its endpoint and key; the server
// calls what this returns when it stops.
std::function<void()> StartEmbeddedAgent(agent::AgentConfig& config, const std::string& endpoint,
                                         const AccessKey& key) {
  config.server = endpoint;
  auto started = agent::Agent::Start(config, {key.id, key.secret});
  if (!started.ok()) {
    LogError("node agent not started", {{"error", started.status().message()}});
    return {};
  }
  std::shared_ptr<agent::Agent> running = std::move(*started);
  return [running] { running->Stop(); };
}

int RunDev(DevOptions& options) {
  if (!options.no_agent) {
    if (geteuid() != 0) {
      LogWarn("the node agent needs root (mounts, runc); berth dev serves the APIs only");
    } else {
      if (options.agent.data_dir.empty())
        options.agent.data_dir = options.server.data_dir + "/agent";
      options.server.start_embedded_agent = [&options](const std::string& endpoint,
                                                       const AccessKey& key) {
        return StartEmbeddedAgent(options.agent, endpoint, key);
      };
    }
  }
  return server::RunServer(options.server);
}

}  // namespace

Verb AddDevCommand(CLI::App& parent) {
  auto options = std::make_shared<DevOptions>();
  options->server.data_dir = "./.berth";
  options->server.dev = true;
  options->server.create_repository_on_push = true;
  options->agent.data_dir.clear();  // DATA/agent
  options->agent.listen = "127.0.0.1:0";
  // Any free port (kept in the agent's data folder), so that several
  // berth dev can run on one machine.
  options->agent.metadata_listen = "127.0.0.1:0";

  auto* cmd = parent.add_subcommand("dev", "run everything in one process with an embedded store");
  AddServerFlags(cmd, options->server);
  AddAgentFlags(cmd, options->agent, "agent-");
  cmd->add_flag("--no-agent", options->no_agent, "serve the APIs only, without the node agent");
  return {"dev", cmd, [options]() -> StatusOr<int> { return RunDev(*options); }};
}

}  // namespace berth::cli
