// ECS rules for a task definition's volumes that the shapes cannot express:
// one kind of volume each; Docker volumes of the `local` driver with options
// the node agent can mount; EFS file systems mounted as plain NFS. Part of
// ValidateTaskDefinition (task_definition.h).
#pragma once

#include <boost/json/fwd.hpp>
#include <optional>
#include <string>

#include "model/service_model.h"

namespace berth::model {

// Checks volumes[index] (path "volumes[index]"); a ClientException naming
// the field, or nullopt. What depends on the node (an EFS file system's
// address, where a bind's folder lies) is the agent's to check.
std::optional<ApiError> CheckTaskVolume(const boost::json::object& volume, const std::string& path);

}  // namespace berth::model
