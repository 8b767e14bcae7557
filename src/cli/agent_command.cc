// `berth agent`: joins a cluster and runs its tasks until SIGINT or SIGTERM;
// the containers keep running after it stops.
#include <memory>
#include <mutex>

#include "agent/agent.h"
#include "cli/client_credentials.h"
#include "cli/daemon_flags.h"
#include "cli/verbs.h"
#include "common/log.h"
#include "common/reload_signal.h"
#include "common/stop_signals.h"

namespace berth::cli {

namespace {

struct AgentOptions {
  agent::AgentConfig config;
  std::string credentials_file;  // the join key; else AWS_ACCESS_KEY_ID/...
};

int RunAgent(const AgentOptions& options) {
  BlockStopSignals();  // before any thread starts
  // SIGHUP reloads the listener's certificate; caught from before the
  // listener opens, so it never ends an agent already reachable. The
  // handler outlives this function: it finds the agent through `running`,
  // under a lock that keeps the agent from going while it reloads.
  static std::mutex running_mu;
  static agent::Agent* running = nullptr;
  HandleReloadSignal([] {
    std::lock_guard lock(running_mu);
    if (running != nullptr) running->ReloadTls();
  });
  auto join = ClientCredentials(options.credentials_file);
  if (!join.ok()) {
    LogError("berth agent cannot start", {{"error", "join key: " + join.status().message()}});
    return 1;
  }
  auto agent = agent::Agent::Start(options.config, *join);
  if (!agent.ok()) {
    LogError("berth agent cannot start", {{"error", agent.status().message()}});
    return 1;
  }
  {
    std::lock_guard lock(running_mu);
    running = agent->get();
  }
  LogInfo("agent stopping", {{"signal", WaitForStopSignal()}});
  {
    std::lock_guard lock(running_mu);
    running = nullptr;
  }
  (*agent)->Stop();
  return 0;
}

}  // namespace

Verb AddAgentCommand(CLI::App& parent) {
  auto options = std::make_shared<AgentOptions>();
  agent::AgentConfig& config = options->config;
  auto* cmd = parent.add_subcommand("agent", "run the node agent: join a cluster, run its tasks");
  cmd->add_option("--server", config.server,
                  "the server's API endpoint; several, comma-separated, for a highly available "
                  "control plane (the agent moves to the next when one stops answering)")
      ->envname("BERTH_SERVER")
      ->capture_default_str();
  cmd->add_option("--data", config.data_dir, "agent data folder")
      ->envname("BERTH_DATA")
      ->capture_default_str();
  cmd->add_option("--listen", config.listen,
                  "address the agent serves container logs, pull progress and /metrics on")
      ->envname("BERTH_AGENT_LISTEN")
      ->capture_default_str();
  cmd->add_option("--advertise", config.advertise,
                  "host:port the server reaches the agent at (default: the bound address)")
      ->envname("BERTH_AGENT_ADVERTISE");
  cmd->add_option("--tls-cert", config.tls_cert_file,
                  "serve --listen over https with this certificate (PEM, followed by its "
                  "intermediates; read again on SIGHUP); it must name the advertised host")
      ->envname("BERTH_AGENT_TLS_CERT");
  cmd->add_option("--tls-key", config.tls_key_file,
                  "private key (PEM) of --tls-cert (read again on SIGHUP)")
      ->envname("BERTH_AGENT_TLS_KEY");
  cmd->add_option("--server-ca-file", config.server_ca_file,
                  "CA certificates (PEM) trusted, besides the system's, for an https --server "
                  "(and for registries, unless --registry-ca-file is given)")
      ->envname("BERTH_SERVER_CA_FILE");
  cmd->add_option("--credentials", options->credentials_file,
                  "AWS shared-credentials file with the join key (default: AWS_ACCESS_KEY_ID "
                  "and AWS_SECRET_ACCESS_KEY)")
      ->envname("BERTH_CREDENTIALS");
  AddAgentFlags(cmd, config, "");
  return {"agent", cmd, [options]() -> StatusOr<int> { return RunAgent(*options); }};
}

}  // namespace berth::cli
