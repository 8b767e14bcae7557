// ECS attribute rules (custom attributes on container instances).
#pragma once

#include <boost/json/array.hpp>

namespace berth::server::api {

// Names 1-128 of letters, digits, '-', '_', '/', '\' and '.'; values 1-128
// of those plus '@', ':' and inner spaces. With need_target, each attribute
// must name its targetId and a targetType of "container-instance" (if any).
// Throws InvalidParameterException.
void ValidateAttributes(const boost::json::array& attributes, bool need_target);

}  // namespace berth::server::api
