// Network namespaces the agent makes for containers that do not share the
// host's network: each held by a bind mount of its nsfs file (as `ip netns
// add` holds one), so that it outlives the agent, the container's restarts
// and the agent's restarts, and runc joins it by path. The agent listens
// inside it on loopback, which is how a container with no other network
// reaches its task metadata and credentials endpoints.
//
// Needs root (CAP_SYS_ADMIN). Each call runs on a short-lived thread of its
// own, so the agent's other threads stay in the host's namespace.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace berth::agent {

// A new network namespace with its loopback up, held at path (an empty
// file is made there). An existing namespace at path is kept as it is.
Status CreateNetworkNamespace(const std::string& path);

// A TCP socket bound to 127.0.0.1:port inside the namespace held at path,
// listening; the caller owns it.
StatusOr<int> ListenInNetworkNamespace(const std::string& path, uint16_t port);

// Unmounts and removes path; a path that is not there is not an error.
Status RemoveNetworkNamespace(const std::string& path);

// Whether path holds a network namespace (an nsfs bind mount).
bool IsNetworkNamespace(const std::string& path);

}  // namespace berth::agent
