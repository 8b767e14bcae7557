#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace berth {

namespace {

constexpr std::string_view kAuditLogger = "berth-audit";

// The level's name, or "audit" for the audit logger's lines. The audit
// logger writes through the same sink, and a sink has one pattern: a
// pattern of its own would drop the level from every line after the first
// audit record.
class LevelOrAudit : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const spdlog::string_view_t name =
        std::string_view(msg.logger_name.data(), msg.logger_name.size()) == kAuditLogger
            ? spdlog::string_view_t("audit")
            : spdlog::level::to_string_view(msg.level);
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelOrAudit>();
  }
};

spdlog::logger& Logger() {
  static auto logger = [] {
    auto l = spdlog::stderr_color_mt("berth");
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<LevelOrAudit>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%*%$ %v");
    l->set_formatter(std::move(formatter));
    return l;
  }();
  return *logger;
}

// Values with spaces or quotes are quoted so that lines stay machine-readable.
std::string Format(std::string_view msg, std::initializer_list<LogField> fields) {
  std::string line(msg);
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    if (value.empty() || value.find_first_of(" \"=\t\n") != std::string::npos) {
      line += '"';
      for (char c : value) {
        if (c == '"' || c == '\\') line += '\\';
        if (c == '\n') {
          line += "\\n";
          continue;
        }
        line += c;
      }
      line += '"';
    } else {
      line += value;
    }
  }
  return line;
}

}  // namespace

void LogInfo(std::string_view msg, std::initializer_list<LogField> fields) {
  if (Logger().should_log(spdlog::level::info)) Logger().info(Format(msg, fields));
}
void LogWarn(std::string_view msg, std::initializer_list<LogField> fields) {
  if (Logger().should_log(spdlog::level::warn)) Logger().warn(Format(msg, fields));
}
void LogError(std::string_view msg, std::initializer_list<LogField> fields) {
  if (Logger().should_log(spdlog::level::err)) Logger().error(Format(msg, fields));
}
void LogDebug(std::string_view msg, std::initializer_list<LogField> fields) {
  if (Logger().should_log(spdlog::level::debug)) Logger().debug(Format(msg, fields));
}

void LogAudit(std::string_view access_key_id, std::string_view operation, std::string_view resource,
              std::string_view result) {
  // Not subject to the level: the record of who changed what is kept at
  // --log-level warn too. Its own level name keeps it apart from info lines.
  static auto audit = [] {
    auto l = std::make_shared<spdlog::logger>(std::string(kAuditLogger), Logger().sinks().begin(),
                                              Logger().sinks().end());
    l->set_level(spdlog::level::info);
    return l;
  }();
  std::string line = Format("", {{"key", std::string(access_key_id)},
                                 {"operation", std::string(operation)},
                                 {"resource", std::string(resource)},
                                 {"result", std::string(result)}});
  audit->info(std::string_view(line).substr(1));  // after the separator
}

void SetLogLevel(std::string_view level) {
  if (level == "debug") Logger().set_level(spdlog::level::debug);
  if (level == "info") Logger().set_level(spdlog::level::info);
  if (level == "warn") Logger().set_level(spdlog::level::warn);
  if (level == "error") Logger().set_level(spdlog::level::err);
}

}  // namespace berth
