// The protocol of `berth exec`: what the upgrade request asks for (its
// query parameters), and the messages sent over the WebSocket, in the framing of
// Kubernetes' exec protocol (v4.channel.k8s.io, with v5's stdin close):
// each binary message starts with one byte naming its stream.
//
//   0 stdin    client -> container, raw bytes
//   1 stdout   container -> client, raw bytes
//   2 stderr   container -> client, raw bytes (not used with a terminal)
//   3 status   container -> client, last message: {"exitCode": N} or {"error": "..."}
//   4 resize   client -> container: {"Width": cols, "Height": rows}
//   255 close  client -> container, payload one byte 0: stdin has ended
//
// Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::http {

// What to run: the query parameters command (a JSON array of strings, the
// argv), tty and stdin ("true" or "false", default false).
struct ExecOptions {
  std::vector<std::string> command;
  bool tty = false;
  bool stdin = false;
};
// "command=...&tty=...&stdin=..." (percent-encoded), to follow other parameters after '&'.
std::string EncodeExecQuery(const ExecOptions& options);
// From a parsed query (ParseQueryString). InvalidArgument names the parameter.
StatusOr<ExecOptions> DecodeExecQuery(const std::map<std::string, std::string, std::less<>>& query);

enum class ExecChannel : uint8_t {
  kStdin = 0,
  kStdout = 1,
  kStderr = 2,
  kStatus = 3,
  kResize = 4,
  kClose = 255,
};

struct ExecFrame {
  ExecChannel channel = ExecChannel::kStdin;
  std::string_view payload;  // points into the message decoded
};

std::string EncodeExecFrame(ExecChannel channel, std::string_view payload);
// InvalidArgument for an empty message or an unknown channel.
StatusOr<ExecFrame> DecodeExecFrame(std::string_view message);

// How the command ended: its exit code, or why it could not run or go on.
struct ExecStatus {
  std::optional<int> exit_code;
  std::string error;  // set when exit_code is not
};
std::string EncodeExecStatus(const ExecStatus& status);  // a whole kStatus frame
StatusOr<ExecStatus> DecodeExecStatus(std::string_view payload);

struct TerminalSize {
  uint16_t columns = 0;
  uint16_t rows = 0;
};
std::string EncodeExecResize(TerminalSize size);  // a whole kResize frame
StatusOr<TerminalSize> DecodeExecResize(std::string_view payload);

// A whole kClose frame for stdin.
std::string EncodeExecCloseStdin();

}  // namespace berth::http
