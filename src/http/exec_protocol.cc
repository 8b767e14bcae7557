#include "http/exec_protocol.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <limits>

#include "http/query_string.h"

namespace berth::http {

namespace json = boost::json;

namespace {

constexpr size_t kMaxCommandArgs = 4096;

StatusOr<bool> FlagParameter(const std::map<std::string, std::string, std::less<>>& query,
                             std::string_view name) {
  auto it = query.find(name);
  if (it == query.end() || it->second == "false") return false;
  if (it->second == "true") return true;
  return InvalidArgument(std::string(name) + " must be true or false, got '" + it->second + "'");
}

}  // namespace

std::string EncodeExecQuery(const ExecOptions& options) {
  json::array command;
  for (const std::string& arg : options.command) command.emplace_back(arg);
  return "command=" + EncodeQueryValue(json::serialize(command)) +
         "&tty=" + (options.tty ? "true" : "false") +
         "&stdin=" + (options.stdin ? "true" : "false");
}

StatusOr<ExecOptions> DecodeExecQuery(
    const std::map<std::string, std::string, std::less<>>& query) {
  ExecOptions options;
  auto command = query.find("command");
  if (command == query.end()) {
    return InvalidArgument("command is required (a JSON array of strings)");
  }
  json::error_code ec;
  json::value v = json::parse(command->second, ec);
  if (ec || !v.is_array() || v.as_array().empty() || v.as_array().size() > kMaxCommandArgs) {
    return InvalidArgument("command must be a JSON array of 1 to " +
                           std::to_string(kMaxCommandArgs) + " strings");
  }
  for (const json::value& arg : v.as_array()) {
    if (!arg.is_string()) return InvalidArgument("command must be a JSON array of strings");
    if (arg.as_string().find('\0') != json::string::npos) {
      return InvalidArgument("command arguments cannot hold NUL");
    }
    options.command.emplace_back(arg.as_string());
  }
  if (options.command[0].empty()) return InvalidArgument("command's first word is empty");
  auto tty = FlagParameter(query, "tty");
  if (!tty.ok()) return tty.status();
  auto stdin = FlagParameter(query, "stdin");
  if (!stdin.ok()) return stdin.status();
  options.tty = *tty;
  options.stdin = *stdin;
  return options;
}

std::string EncodeExecFrame(ExecChannel channel, std::string_view payload) {
  std::string message;
  message.reserve(payload.size() + 1);
  message.push_back(static_cast<char>(channel));
  message.append(payload);
  return message;
}

StatusOr<ExecFrame> DecodeExecFrame(std::string_view message) {
  if (message.empty()) return InvalidArgument("exec frame: empty message");
  auto channel = static_cast<ExecChannel>(static_cast<uint8_t>(message[0]));
  switch (channel) {
    case ExecChannel::kStdin:
    case ExecChannel::kStdout:
    case ExecChannel::kStderr:
    case ExecChannel::kStatus:
    case ExecChannel::kResize:
    case ExecChannel::kClose:
      return ExecFrame{channel, message.substr(1)};
  }
  return InvalidArgument("exec frame: unknown channel " +
                         std::to_string(static_cast<uint8_t>(message[0])));
}

namespace {

StatusOr<json::object> ParseObject(std::string_view what, std::string_view payload) {
  json::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return InvalidArgument(std::string(what) + ": not a JSON object");
  return std::move(v.as_object());
}

std::optional<int64_t> IntAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= std::numeric_limits<int64_t>::max()) {
    return static_cast<int64_t>(v->as_uint64());
  }
  return std::nullopt;
}

}  // namespace

std::string EncodeExecStatus(const ExecStatus& status) {
  json::object o;
  if (status.exit_code) {
    o["exitCode"] = *status.exit_code;
  } else {
    o["error"] = status.error;
  }
  return EncodeExecFrame(ExecChannel::kStatus, json::serialize(o));
}

StatusOr<ExecStatus> DecodeExecStatus(std::string_view payload) {
  auto o = ParseObject("exec status", payload);
  if (!o.ok()) return o.status();
  ExecStatus status;
  if (auto code = IntAt(*o, "exitCode")) {
    if (*code < 0 || *code > 255) return InvalidArgument("exec status: exitCode out of range");
    status.exit_code = static_cast<int>(*code);
    return status;
  }
  const json::value* error = o->if_contains("error");
  if (error == nullptr || !error->is_string()) {
    return InvalidArgument("exec status: neither exitCode nor error");
  }
  status.error = std::string(error->as_string());
  return status;
}

std::string EncodeExecResize(TerminalSize size) {
  return EncodeExecFrame(
      ExecChannel::kResize,
      json::serialize(json::object{{"Width", size.columns}, {"Height", size.rows}}));
}

StatusOr<TerminalSize> DecodeExecResize(std::string_view payload) {
  auto o = ParseObject("exec resize", payload);
  if (!o.ok()) return o.status();
  auto width = IntAt(*o, "Width"), height = IntAt(*o, "Height");
  constexpr int64_t kMax = std::numeric_limits<uint16_t>::max();
  if (!width || !height || *width < 0 || *height < 0 || *width > kMax || *height > kMax) {
    return InvalidArgument("exec resize: Width and Height must be whole numbers up to 65535");
  }
  return TerminalSize{static_cast<uint16_t>(*width), static_cast<uint16_t>(*height)};
}

std::string EncodeExecCloseStdin() {
  return EncodeExecFrame(ExecChannel::kClose, std::string_view("\0", 1));
}

}  // namespace berth::http
