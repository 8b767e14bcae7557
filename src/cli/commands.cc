#include "cli/commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "agent/agent.h"
#include "cli/client_credentials.h"
#include "cli/logs.h"
#include "cli/registry_gc.h"
#include "common/log.h"
#include "common/stop_signals.h"
#include "server/server.h"

namespace berth::cli {

namespace {

constexpr const char* kVersion = "0.1.0";

// Flags shared by `berth server` and `berth dev`; each also reads BERTH_*.
void AddServerFlags(CLI::App* cmd, server::ServerConfig& config) {
  cmd->add_option("--listen", config.listen, "address to serve on, host:port")
      ->envname("BERTH_LISTEN")
      ->capture_default_str();
  cmd->add_option("--data", config.data_dir, "data directory (store, keys)")
      ->envname("BERTH_DATA")
      ->capture_default_str();
  cmd->add_option("--store", config.store, "store: sqlite:PATH (default sqlite:DATA/berth.db)")
      ->envname("BERTH_STORE");
  cmd->add_option("--credentials", config.credentials_file,
                  "AWS shared-credentials file with the access keys (default DATA/credentials)")
      ->envname("BERTH_CREDENTIALS");
  cmd->add_option("--threads", config.threads, "HTTP I/O threads")
      ->envname("BERTH_THREADS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--registry-listen", config.registry_listen,
                  "also serve the registry (/v2/) alone on this host:port")
      ->envname("BERTH_REGISTRY_LISTEN");
  cmd->add_option("--registry-address", config.registry_address,
                  "host:port clients use to reach the registry (default: the bound address)")
      ->envname("BERTH_REGISTRY_ADDRESS");
  cmd->add_option("--agent-heartbeat-timeout", config.agent_heartbeat_timeout_seconds,
                  "seconds without a poll after which an agent's instance is agentConnected=false")
      ->envname("BERTH_AGENT_HEARTBEAT_TIMEOUT")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd->add_flag("--create-repository-on-push,!--no-create-repository-on-push",
                config.create_repository_on_push,
                "create a missing repository when an image is pushed to it")
      ->envname("BERTH_CREATE_REPOSITORY_ON_PUSH")
      ->capture_default_str();
}

// Flags of `berth agent`; with prefix "agent-" they configure the agent
// inside `berth dev`.
void AddAgentFlags(CLI::App* cmd, agent::AgentConfig& config, const std::string& prefix) {
  std::string env = prefix.empty() ? "BERTH_" : "BERTH_AGENT_";
  auto name = [&](const char* flag) { return "--" + prefix + flag; };
  auto var = [&](const char* suffix) { return env + suffix; };
  cmd->add_option(name("cluster"), config.cluster, "cluster to join")
      ->envname(var("CLUSTER"))
      ->capture_default_str();
  cmd->add_option(name("device-root"), config.device_root,
                  "read /dev, /sys and /proc under this folder (a fake device tree for tests)")
      ->envname(var("DEVICE_ROOT"))
      ->capture_default_str();
  cmd->add_option(name("instance-type"), config.instance_type, "ecs.instance-type attribute")
      ->envname(var("INSTANCE_TYPE"));
  cmd->add_option(name("availability-zone"), config.availability_zone,
                  "ecs.availability-zone attribute")
      ->envname(var("AVAILABILITY_ZONE"));
  cmd->add_option(name("attribute"), config.attributes, "custom attribute name=value (repeatable)");
  cmd->add_option(name("memory-reserve"), config.memory_reserve_mib,
                  "MiB of memory kept back from tasks")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option(name("plain-http-registry"), config.plain_http_registries,
                  "registry host:port spoken to over http (repeatable); others get https, "
                  "loopback ones plain http when they do not speak TLS");
  cmd->add_option(name("registry-ca-file"), config.registry_ca_file,
                  "extra CA certificates (PEM) trusted for https registries, besides the "
                  "system's (/etc/ssl/certs)")
      ->envname(var("REGISTRY_CA_FILE"));
  cmd->add_option(name("registry-auth-file"), config.registry_auth_file,
                  "credentials for other registries, Docker config.json format (as `skopeo "
                  "login --authfile` writes)")
      ->envname(var("REGISTRY_AUTH_FILE"));
  cmd->add_option(name("retention"), config.retention_seconds,
                  "seconds the bundles, upper folders and logs of stopped tasks are kept")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option(name("runtime"), config.runc,
                  "OCI runtime conmon starts containers with: runc, crun, or a path")
      ->envname(var("RUNTIME"))
      ->capture_default_str();
  cmd->add_option(name("seccomp-profile"), config.seccomp_profile,
                  "default seccomp profile (containers-common JSON); empty for none")
      ->capture_default_str();
}

// `berth agent`: runs until SIGINT or SIGTERM; the containers keep running.
int RunAgent(const agent::AgentConfig& config, const std::string& credentials_file) {
  BlockStopSignals();  // before any thread starts
  auto join = ClientCredentials(credentials_file);
  if (!join.ok()) {
    LogError("berth agent cannot start", {{"error", "join key: " + join.status().message()}});
    return 1;
  }
  auto agent = agent::Agent::Start(config, *join);
  if (!agent.ok()) {
    LogError("berth agent cannot start", {{"error", agent.status().message()}});
    return 1;
  }
  LogInfo("agent stopping", {{"signal", WaitForStopSignal()}});
  (*agent)->Stop();
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"berth: an ECS-compatible orchestrator for accelerator clusters"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->envname("BERTH_LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  server::ServerConfig server_config;
  server_config.data_dir = "/var/lib/berth";
  auto* server_cmd = app.add_subcommand("server", "run the control plane (ECS API)");
  AddServerFlags(server_cmd, server_config);

  server::ServerConfig dev_config;
  dev_config.data_dir = "./.berth";
  dev_config.dev = true;
  dev_config.create_repository_on_push = true;
  auto* dev_cmd = app.add_subcommand("dev", "run everything in one process with an embedded store");
  AddServerFlags(dev_cmd, dev_config);

  agent::AgentConfig dev_agent;
  dev_agent.data_dir.clear();  // DATA/agent
  dev_agent.listen = "127.0.0.1:0";
  bool dev_no_agent = false;
  AddAgentFlags(dev_cmd, dev_agent, "agent-");
  dev_cmd->add_flag("--no-agent", dev_no_agent, "serve the APIs only, without the node agent");

  agent::AgentConfig agent_config;
  std::string agent_credentials;
  auto* agent_cmd =
      app.add_subcommand("agent", "run the node agent: join a cluster, run its tasks");
  agent_cmd->add_option("--server", agent_config.server, "the server's API endpoint")
      ->envname("BERTH_SERVER")
      ->capture_default_str();
  agent_cmd->add_option("--data", agent_config.data_dir, "agent data folder")
      ->envname("BERTH_DATA")
      ->capture_default_str();
  agent_cmd
      ->add_option("--listen", agent_config.listen, "address the agent serves container logs on")
      ->envname("BERTH_AGENT_LISTEN")
      ->capture_default_str();
  agent_cmd
      ->add_option("--advertise", agent_config.advertise,
                   "host:port the server reaches the agent at (default: the bound address)")
      ->envname("BERTH_AGENT_ADVERTISE");
  agent_cmd
      ->add_option("--credentials", agent_credentials,
                   "AWS shared-credentials file with the join key (default: AWS_ACCESS_KEY_ID "
                   "and AWS_SECRET_ACCESS_KEY)")
      ->envname("BERTH_CREDENTIALS");
  AddAgentFlags(agent_cmd, agent_config, "");

  LogsOptions logs_options;
  auto* logs_cmd = app.add_subcommand("logs", "print a task's container output");
  logs_cmd->add_option("task", logs_options.task, "task id or ARN")->required();
  logs_cmd->add_flag("-f,--follow", logs_options.follow,
                     "follow the output until the container exits");
  logs_cmd->add_option("--container", logs_options.container,
                       "container name (default: the first)");
  logs_cmd->add_option("--cluster", logs_options.cluster, "cluster")->capture_default_str();
  logs_cmd->add_option("--endpoint", logs_options.endpoint, "the server's API endpoint")
      ->envname("AWS_ENDPOINT_URL")
      ->capture_default_str();
  logs_cmd->add_option("--credentials", logs_options.credentials_file,
                       "AWS shared-credentials file (default: AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY)");

  auto* version_cmd = app.add_subcommand("version", "print the version");

  auto* registry_cmd = app.add_subcommand("registry", "manage the image registry");
  registry_cmd->require_subcommand(1);
  RegistryGcOptions gc_options;
  auto* gc_cmd = registry_cmd->add_subcommand("gc", "remove blobs that no manifest references");
  gc_cmd->add_option("--endpoint", gc_options.endpoint, "the server's API endpoint")
      ->envname("AWS_ENDPOINT_URL")
      ->capture_default_str();
  gc_cmd
      ->add_option("--min-age", gc_options.min_age_seconds,
                   "seconds: blobs uploaded or found present more recently stay, so that "
                   "pushes in progress keep their layers")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  gc_cmd->add_option("--credentials", gc_options.credentials_file,
                     "AWS shared-credentials file (default: AWS_ACCESS_KEY_ID and "
                     "AWS_SECRET_ACCESS_KEY)");

  CLI11_PARSE(app, argc, argv);
  SetLogLevel(log_level);
  if (*server_cmd) return server::RunServer(server_config);
  if (*dev_cmd) {
    if (!dev_no_agent) {
      if (geteuid() != 0) {
        LogWarn("the node agent needs root (mounts, runc); berth dev serves the APIs only");
      } else {
        if (dev_agent.data_dir.empty()) dev_agent.data_dir = dev_config.data_dir + "/agent";
        dev_config.start_embedded_agent = [&dev_agent](
                                              const std::string& endpoint,
                                              const AccessKey& key) -> std::function<void()> {
          dev_agent.server = endpoint;
          auto started = agent::Agent::Start(dev_agent, {key.id, key.secret});
          if (!started.ok()) {
            LogError("node agent not started", {{"error", started.status().message()}});
            return {};
          }
          std::shared_ptr<agent::Agent> running = std::move(*started);
          return [running] { running->Stop(); };
        };
      }
    }
    return server::RunServer(dev_config);
  }
  if (*agent_cmd) return RunAgent(agent_config, agent_credentials);
  if (*logs_cmd) return Logs(logs_options);
  if (*gc_cmd) return RegistryGc(gc_options);
  if (*version_cmd) {
    std::printf("berth %s\n", kVersion);
    return 0;
  }
  return 2;
}

}  // namespace berth::cli
