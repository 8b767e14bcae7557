#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/registry_gc.h"
#include "common/log.h"
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
  cmd->add_flag("--create-repository-on-push,!--no-create-repository-on-push",
                config.create_repository_on_push,
                "create a missing repository when an image is pushed to it")
      ->envname("BERTH_CREATE_REPOSITORY_ON_PUSH")
      ->capture_default_str();
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
  if (*dev_cmd) return server::RunServer(dev_config);
  if (*gc_cmd) return RegistryGc(gc_options);
  if (*version_cmd) {
    std::printf("berth %s\n", kVersion);
    return 0;
  }
  return 2;
}

}  // namespace berth::cli
