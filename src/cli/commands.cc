#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/verbs.h"
#include "common/log.h"

namespace berth::cli {

int RunVerb(const Verb& verb) {
  std::string error;
  try {
    StatusOr<int> exit_status = verb.run();
    if (exit_status.ok()) return *exit_status;
    error = exit_status.status().message();
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unexpected error";
  }
  // One line, even when the message quotes a server's multi-line reply.
  for (char& c : error) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "berth %s: %s\n", verb.name.c_str(), error.c_str());
  return 1;
}

int Main(int argc, char** argv) {
  CLI::App app{"berth: an ECS-compatible orchestrator for accelerator clusters"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->envname("BERTH_LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  // In the order `berth --help` lists them.
  std::vector<Verb> verbs;
  verbs.push_back(AddServerCommand(app));
  verbs.push_back(AddDevCommand(app));
  verbs.push_back(AddAgentCommand(app));
  verbs.push_back(AddLogsCommand(app));
  verbs.push_back(AddExecCommand(app));
  for (auto add : {AddClusterCommands, AddNodeCommands, AddTaskDefinitionCommands, AddTaskCommands,
                   AddServiceCommands, AddGangCommands, AddImageCommands}) {
    for (Verb& verb : add(app)) verbs.push_back(std::move(verb));
  }
  verbs.push_back(AddEventsCommand(app));
  verbs.push_back(AddUiLoginCommand(app));
  verbs.push_back(AddVersionCommand(app));
  auto* registry = app.add_subcommand("registry", "manage the image registry");
  registry->require_subcommand(1);
  verbs.push_back(AddRegistryGcCommand(*registry));

  CLI11_PARSE(app, argc, argv);
  SetLogLevel(log_level);
  for (const Verb& verb : verbs) {
    if (*verb.command) return RunVerb(verb);
  }
  return 2;
}

}  // namespace berth::cli
