// The RegisterContainerInstance request that describes this node.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "agent/agent.h"
#include "agent/devices/node_devices.h"

namespace berth::agent {

inline constexpr const char* kAgentVersion = "0.1.0";

// Resources (CPU units, MEMORY MiB, reserved PORTS and PORTS_UDP with the
// agent's own port), attributes (ecs.os-type, ecs.cpu-architecture,
// ecs.instance-type, ecs.availability-zone and the --attribute ones),
// platformDevices (NEURON_DEVICE with connectedTo, GPU), versionInfo, and
// the ARN from an earlier registration so that it is re-used.
// Fails on a malformed --attribute.
StatusOr<boost::json::object> RegistrationRequest(const AgentConfig& config,
                                                  const NodeDevices& devices,
                                                  const std::string& previous_arn,
                                                  uint16_t agent_port);

}  // namespace berth::agent
