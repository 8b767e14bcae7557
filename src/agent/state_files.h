// Reading the agent's small JSON files (instance.json, a task's
// assignment.json and state.json) and the field reads every part of the
// agent does on JSON. They are written with Env::WriteFileAtomically.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::agent {

// The string member key of o, or "" when it is absent or not a string.
std::string_view StringField(const boost::json::object& o, std::string_view key);

// The file's contents, or nullopt when it cannot be read.
std::optional<std::string> ReadWholeFile(const std::string& path);

// The file as a JSON object, or nullopt when it is missing or not one.
std::optional<boost::json::object> ReadJsonObject(const std::string& path);

}  // namespace berth::agent
