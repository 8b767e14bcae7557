// The RegisterContainerInstance request that describes this node.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "agent/agent.h"
#include "agent/devices/node_devices.h"

namespace berth::agent {

inline constexpr const char* kAgentVersion = "0.1.0";
// The attribute with the node's address; the server reads it as
// planner::kAddressAttribute (src/planner/gang_environment.h).
inline constexpr std::string_view kAddressAttribute = "berth.address";

// Resources (CPU units, MEMORY MiB, reserved PORTS and PORTS_UDP with the
// agent's own port), attributes (ecs.os-type, ecs.cpu-architecture,
// ecs.instance-type, ecs.availability-zone, berth.address with node_address
// unless it is empty, and the --attribute ones), platformDevices
// (NEURON_DEVICE with connectedTo, GPU, EFA), versionInfo, and the ARN from an
// earlier registration so that it is re-used. Fails on a malformed
// --attribute, one naming berth.address (that is --address), and a
// node_address that is not an IP address.
StatusOr<boost::json::object> RegistrationRequest(const AgentConfig& config,
                                                  const NodeDevices& devices,
                                                  const std::string& previous_arn,
                                                  uint16_t agent_port,
                                                  const std::string& node_address);

// The node address to register: config.address, else the local address
// this node reaches config.server from (http::LocalAddressToward). Empty,
// with a warning logged, when that cannot be found: the node then registers
// no berth.address, and gangs placed on it are told no address for it.
std::string NodeAddress(const AgentConfig& config);

}  // namespace berth::agent
