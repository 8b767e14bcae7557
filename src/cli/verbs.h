// The verbs of the command line. Each is one file (NAME_command.cc) that
// adds its subcommand with its own flags and says what runs it; commands.cc
// only builds the app from these and runs the verb argv chose.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::cli {

struct Verb {
  std::string name;   // as typed: "logs", "registry gc"; errors start "berth NAME: "
  CLI::App* command;  // the subcommand, owned by its parent CLI::App
  // Runs the verb once argv is parsed: the exit status, or an error that
  // commands.cc prints as one line and exits 1 for. Daemons (server, dev,
  // agent) log their own errors and return a status.
  std::function<StatusOr<int>()> run;
};

// A client verb's outcome as Verb::run returns it: exit status 0 when done.
inline StatusOr<int> ExitStatusOf(const Status& done) {
  if (!done.ok()) return done;
  return 0;
}

// Runs a parsed verb. Whatever goes wrong reaches the user as one line on
// stderr, "berth NAME: what happened", and exit status 1: a Status the verb
// returns, or an exception nothing below it caught.
int RunVerb(const Verb& verb);

// Each adds its subcommand to parent. The flags' values live as long as the
// returned Verb's run.
Verb AddServerCommand(CLI::App& parent);
Verb AddDevCommand(CLI::App& parent);
Verb AddAgentCommand(CLI::App& parent);
Verb AddLogsCommand(CLI::App& parent);
Verb AddExecCommand(CLI::App& parent);
Verb AddEventsCommand(CLI::App& parent);
Verb AddUiLoginCommand(CLI::App& parent);
Verb AddVersionCommand(CLI::App& parent);
Verb AddRegistryGcCommand(CLI::App& registry);  // under `berth registry`

// `berth NOUN VERB`: each adds its noun with its verbs (NOUN_command.cc),
// the more specific first: `berth gang ls` sets `gang` too.
std::vector<Verb> AddClusterCommands(CLI::App& parent);
std::vector<Verb> AddNodeCommands(CLI::App& parent);
std::vector<Verb> AddTaskDefinitionCommands(CLI::App& parent);
std::vector<Verb> AddTaskCommands(CLI::App& parent);
std::vector<Verb> AddServiceCommands(CLI::App& parent);
std::vector<Verb> AddGangCommands(CLI::App& parent);
std::vector<Verb> AddImageCommands(CLI::App& parent);

}  // namespace berth::cli
