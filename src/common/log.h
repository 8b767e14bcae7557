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

// One audit record: who (the access key id; empty when unknown) did what
// (an ECS/ECR operation, a registry method and path, a berth endpoint) to
// which resource, with what result ("ok", an error type, an HTTP status).
// Every request that changes state is audited. Written whatever the level:
//   2026-12-07T12:00:00.000Z audit key=AKIA... operation=RunTask resource="cluster=c" result=ok
void LogAudit(std::string_view access_key_id, std::string_view operation, std::string_view resource,
              std::string_view result);

// "debug", "info", "warn" or "error"; unknown names leave the level as it is.
void SetLogLevel(std::string_view level);

}  // namespace berth
