// `berth exec TASK [--container NAME] [-i] [-t] -- CMD...`: runs a command
// (or a shell, with -it) inside a task's running container, through the
// server's /berth/v1/exec WebSocket (http/exec_protocol.h), and exits with
// the command's exit code.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/client_verb.h"
#include "http/exec_protocol.h"
#include "http/query_string.h"
#include "model/json_util.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

constexpr int kDialSeconds = 30;
constexpr size_t kStdinPiece = 32 * 1024;

struct ExecCommandOptions {
  ServerClientOptions server;
  std::string cluster = "default";
  std::string task;       // id or ARN
  std::string container;  // default: the only or the essential container
  bool stdin = false;
  bool tty = false;
  std::vector<std::string> command;
};

// The container to run in when --container is not given: the task's only
// container, else its only essential one (from the task definition).
StatusOr<std::string> DefaultContainer(awsjson::Client& client, const ExecCommandOptions& options) {
  auto reply = CallEcs(client, "DescribeTasks",
                       json::object{{"cluster", options.cluster},
                                    {"tasks", json::array{json::string(options.task)}}});
  if (!reply.ok()) return reply.status();
  const json::array& tasks = model::ArrayOr(*reply, "tasks");
  if (tasks.empty()) return NotFound("not found in cluster " + options.cluster);
  const json::object& task = model::AsObject(tasks[0]);
  const json::array& containers = model::ArrayOr(task, "containers");
  if (containers.size() == 1) {
    return std::string(model::StringOr(model::AsObject(containers[0]), "name", ""));
  }
  auto definition =
      CallEcs(client, "DescribeTaskDefinition",
              json::object{{"taskDefinition",
                            json::string(model::StringOr(task, "taskDefinitionArn", ""))}});
  if (!definition.ok()) return definition.status();
  std::vector<std::string> essential, all;
  const json::object* described = model::ObjectAt(*definition, "taskDefinition");
  if (described == nullptr) return Internal("DescribeTaskDefinition: no taskDefinition in reply");
  for (const json::value& c : model::ArrayOr(*described, "containerDefinitions")) {
    const json::object& def = model::AsObject(c);
    std::string name(model::StringOr(def, "name", ""));
    all.push_back(name);
    const json::value* flag = def.if_contains("essential");
    if (flag == nullptr || !flag->is_bool() || flag->as_bool()) essential.push_back(name);
  }
  if (essential.size() == 1) return essential[0];
  std::string names;
  for (const std::string& n : all) names += (names.empty() ? "" : ", ") + n;
  return InvalidArgument("has several containers (" + names +
                         "); choose one with --container NAME");
}

// The terminal in raw mode while the session runs, restored on every way
// out: the destructor, and SIGTERM / SIGHUP / SIGQUIT (which would
// otherwise leave the shell unusable).
struct termios saved_termios;
std::atomic<bool> raw_mode{false};

void RestoreTerminal() {
  if (raw_mode.exchange(false)) tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
}

void RestoreAndDie(int sig) {
  RestoreTerminal();
  signal(sig, SIG_DFL);
  raise(sig);
}

class RawTerminal {
 public:
  RawTerminal() {
    if (tcgetattr(STDIN_FILENO, &saved_termios) != 0) return;
    struct termios raw = saved_termios;
    cfmakeraw(&raw);
    for (int sig : {SIGTERM, SIGHUP, SIGQUIT}) signal(sig, RestoreAndDie);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)  // keeps what was typed ahead
      raw_mode.store(true);
  }
  ~RawTerminal() { RestoreTerminal(); }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
};

// SIGWINCH wakes the input thread through a pipe.
int winch_pipe[2] = {-1, -1};
void OnWinch(int) {
  int saved = errno;
  if (winch_pipe[1] >= 0) (void)!write(winch_pipe[1], "w", 1);
  errno = saved;
}

std::optional<http::TerminalSize> TerminalSizeOf(int fd) {
  struct winsize ws = {};
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return std::nullopt;
  return http::TerminalSize{ws.ws_col, ws.ws_row};
}

// Sends stdin (with -i) and terminal resizes (with -t) until stop_fd is
// readable. At the end of stdin, says so (the close frame) and goes on
// watching resizes.
void ForwardInput(http::WebSocket& socket, const ExecCommandOptions& options, int stop_fd) {
  bool reading = options.stdin;
  std::vector<char> buffer(kStdinPiece);
  while (true) {
    std::vector<pollfd> fds = {{stop_fd, POLLIN, 0}, {winch_pipe[0], POLLIN, 0}};
    if (reading) fds.push_back({STDIN_FILENO, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents != 0) return;
    if (fds[1].revents != 0) {
      char drain[64];
      (void)!read(winch_pipe[0], drain, sizeof(drain));
      if (auto size = TerminalSizeOf(STDOUT_FILENO)) {
        if (!socket.Write(http::EncodeExecResize(*size)).ok()) return;
      }
    }
    if (reading && fds[2].revents != 0) {
      ssize_t n = read(STDIN_FILENO, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        reading = false;
        if (!socket.Write(http::EncodeExecCloseStdin()).ok()) return;
        continue;
      }
      if (!socket
               .Write(http::EncodeExecFrame(http::ExecChannel::kStdin,
                                            std::string_view(buffer.data(), n)))
               .ok()) {
        return;
      }
    }
  }
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Prints the output until the status frame or the end of the connection:
// the command's exit code, or why there is none.
StatusOr<int> ReceiveOutput(http::WebSocket& socket) {
  std::optional<http::ExecStatus> status;
  while (true) {
    auto message = socket.Read();
    if (!message.ok()) break;
    auto frame = http::DecodeExecFrame(*message);
    if (!frame.ok()) continue;
    if (frame->channel == http::ExecChannel::kStdout) WriteAll(STDOUT_FILENO, frame->payload);
    if (frame->channel == http::ExecChannel::kStderr) WriteAll(STDERR_FILENO, frame->payload);
    if (frame->channel == http::ExecChannel::kStatus) {
      auto decoded = http::DecodeExecStatus(frame->payload);
      if (!decoded.ok()) return decoded.status();
      status = *decoded;
      break;
    }
  }
  socket.Close();
  if (!status) return Unavailable("the connection closed before the command ended");
  if (!status->exit_code) return FailedPrecondition(status->error);
  return *status->exit_code;
}

StatusOr<int> RunExec(const ExecCommandOptions& options) {
  if (options.command.empty()) {
    return InvalidArgument("no command: give it after --, e.g. berth exec TASK -- sh");
  }
  auto client = ConnectToServer(options.server, kDialSeconds);
  if (!client.ok()) return client.status();
  std::string container = options.container;
  if (container.empty()) {
    auto chosen = DefaultContainer(**client, options);
    if (!chosen.ok()) return chosen.status().WithContext("task " + options.task);
    container = *chosen;
  }
  http::ExecOptions exec{options.command, options.tty, options.stdin};
  std::string target = "/berth/v1/exec?cluster=" + http::EncodeQueryValue(options.cluster) +
                       "&task=" + http::EncodeQueryValue(options.task) +
                       "&container=" + http::EncodeQueryValue(container) + "&" +
                       http::EncodeExecQuery(exec);
  auto socket = (*client)->OpenWebSocket(target, kDialSeconds);
  if (!socket.ok()) return socket.status();

  bool terminal = options.tty && isatty(STDIN_FILENO);
  std::optional<RawTerminal> raw;
  if (terminal) raw.emplace();
  if (pipe2(winch_pipe, O_CLOEXEC) != 0) return Internal("pipe: " + std::string(strerror(errno)));
  int stop[2];
  if (pipe2(stop, O_CLOEXEC) != 0) return Internal("pipe: " + std::string(strerror(errno)));
  if (options.tty) {
    signal(SIGWINCH, OnWinch);
    OnWinch(SIGWINCH);  // the first size
  }
  std::thread input([&] { ForwardInput(**socket, options, stop[0]); });
  StatusOr<int> result = ReceiveOutput(**socket);
  (void)!write(stop[1], "s", 1);
  input.join();
  signal(SIGWINCH, SIG_DFL);
  for (int fd : {stop[0], stop[1], winch_pipe[0], winch_pipe[1]}) close(fd);
  winch_pipe[0] = winch_pipe[1] = -1;
  return result;
}

}  // namespace

Verb AddExecCommand(CLI::App& parent) {
  auto options = std::make_shared<ExecCommandOptions>();
  auto* cmd = parent.add_subcommand(
      "exec", "run a command (or a shell with -it) inside a task's running container");
  cmd->footer(
      "Example:\n"
      "  berth exec 3f2a9c1e -- cat /etc/hostname\n"
      "  berth exec 3f2a9c1e --container trainer -it -- sh\n"
      "Exits with the command's exit code; only user keys may exec (not instance keys).");
  cmd->add_option("task", options->task, "task id or ARN")->required();
  cmd->add_option("command", options->command, "the command and its arguments, after --");
  cmd->add_option("--container", options->container,
                  "container name (default: the only container, or the essential one)");
  cmd->add_flag("-i,--stdin", options->stdin, "send this terminal's input to the command");
  cmd->add_flag("-t,--tty", options->tty, "give the command a terminal (with -i: -it for a shell)");
  cmd->add_option("--cluster", options->cluster, "cluster")->capture_default_str();
  AddServerClientOptions(*cmd, options->server);
  return {"exec", cmd, [options] { return RunExec(*options); }};
}

}  // namespace berth::cli
