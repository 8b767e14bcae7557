// Structured logging: one line per event, "msg key=value key=value".
//
//   LogInfo("server listening", {{"addr", addr}, {"store", path}});
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace berth {

using LogField = std::pair<std::string_view, std::string>;

void LogInfo(std::string_view msg, std::initializer_list<LogField> fields = {});
void LogWarn(std::string_view msg, std::initializer_list<LogField> fields = {});
void LogError(std::string_view msg, std::initializer_list<LogField> fields = {});
void LogDebug(std::string_view msg, std::initializer_list<LogField> fields = {});

// "debug", "info", "warn" or "error"; unknown names leave the level as it is.
void SetLogLevel(std::string_view level);

}  // namespace berth
