// The server's gauges that are read from the ECS state at scrape time
// (tasks, instances, devices) rather than mirrored in counters.
#pragma once

#include "common/metrics.h"
#include "server/agent_channel.h"
#include "server/api/ecs_api.h"

namespace berth::server {

// Writes the ECS state's gauges (tasks, instances, devices) and the agent
// channel's open polls at each scrape, for as long as it lives.
metrics::ScopedCollector CollectServerState(metrics::Registry& registry, const api::EcsApi& ecs,
                                            AgentChannel& agents);

}  // namespace berth::server
