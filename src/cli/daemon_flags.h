// Flags that two daemons share, defined once: the server's (`berth server`
// and `berth dev`) and the agent's (`berth agent`, and `berth dev` with the
// "agent-" prefix). Every flag also reads a BERTH_* environment variable;
// names, variables, defaults and help are what users script against.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "agent/agent.h"
#include "server/server.h"

namespace berth::cli {

// Binds cmd's flags to config, which must outlive parsing.
void AddServerFlags(CLI::App* cmd, server::ServerConfig& config);

// prefix "" gives --cluster and BERTH_CLUSTER; "agent-" gives
// --agent-cluster and BERTH_AGENT_CLUSTER.
void AddAgentFlags(CLI::App* cmd, agent::AgentConfig& config, const std::string& prefix);

}  // namespace berth::cli
