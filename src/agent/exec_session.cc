#include "agent/exec_session.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "agent/runtime/run_command.h"
#include "common/log.h"

namespace berth::agent {

namespace {

constexpr size_t kReadBytes = 32 * 1024;
constexpr int kPollMillis = 200;
constexpr auto kDrainTime = std::chrono::milliseconds(500);

// runc exec, started with its stdio on pipes or on a pseudo-terminal.
// Which descriptors are open: stdin_fd is the pipe's write end or the
// terminal's master (then the same as stdout_fd); stderr_fd is -1 with a
// terminal; stdin_fd is -1 when the client sends no input.
struct Child {
  pid_t pid = -1;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

Status Errno(const std::string& what) { return Internal(what + ": " + std::strerror(errno)); }

// In the child, before exec: only async-signal-safe calls.
[[noreturn]] void ExecChild(char* const* argv, int in, int out, int err, int tty) {
  if (tty >= 0) {
    setsid();
    ioctl(tty, TIOCSCTTY, 0);
    in = out = err = tty;
  }
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  CloseDescriptorsFrom(3);
  signal(SIGPIPE, SIG_DFL);
  execvp(argv[0], argv);
  _exit(127);
}

StatusOr<Child> Spawn(const std::vector<std::string>& args, const http::ExecOptions& options) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  Child child;
  if (options.tty) {
    int master = -1, slave = -1;
    if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return Errno("openpty");
    fcntl(master, F_SETFD, FD_CLOEXEC);
    child.pid = fork();
    if (child.pid == 0) ExecChild(argv.data(), -1, -1, -1, slave);
    close(slave);
    if (child.pid < 0) {
      close(master);
      return Errno("fork");
    }
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);  // WriteInput polls
    child.stdout_fd = master;
    child.stdin_fd = master;
    return child;
  }
  int in[2] = {-1, -1}, out[2], err[2];
  if (options.stdin) {
    if (pipe2(in, O_CLOEXEC) != 0) return Errno("pipe");
  } else {
    in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return Errno("pipe");
  child.pid = fork();
  if (child.pid == 0) ExecChild(argv.data(), in[0], out[1], err[1], -1);
  CloseFd(in[0]);
  CloseFd(out[1]);
  CloseFd(err[1]);
  child.stdin_fd = in[1];
  if (child.stdin_fd >= 0) fcntl(child.stdin_fd, F_SETFL, O_NONBLOCK);  // WriteInput polls
  child.stdout_fd = out[0];
  child.stderr_fd = err[0];
  if (child.pid < 0) {
    CloseFd(child.stdin_fd);
    CloseFd(child.stdout_fd);
    CloseFd(child.stderr_fd);
    return Errno("fork");
  }
  return child;
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

// The session's shared state: runc's pid is reaped once, under mu, so the
// kill on a client's disconnect never hits a reused pid.
class Session {
 public:
  Session(const ExecSessionSpec& spec, std::string pid_file, Child child, http::WebSocket& socket)
      : spec_(spec), pid_file_(std::move(pid_file)), child_(child), socket_(socket) {}

  ~Session() {
    CloseFd(child_.stderr_fd);
    if (child_.stdin_fd != child_.stdout_fd) CloseFd(child_.stdin_fd);
    CloseFd(child_.stdout_fd);
    std::error_code ec;
    std::filesystem::remove(pid_file_, ec);
  }

  // Runs the session; returns the exit code, or nullopt when the client left first.
  std::optional<int> Run() {
    std::thread output([this] { PumpOutput(); });
    while (true) {
      auto message = socket_.Read();
      if (!message.ok()) break;
      auto frame = http::DecodeExecFrame(*message);
      if (!frame.ok()) continue;
      switch (frame->channel) {
        case http::ExecChannel::kStdin:
          WriteInput(frame->payload);
          break;
        case http::ExecChannel::kClose:
          if (spec_.options.tty) {
            WriteInput("\x04");  // end of input, as a terminal types it
          } else if (child_.stdin_fd >= 0) {
            std::lock_guard lock(stdin_mu_);
            CloseFd(child_.stdin_fd);
          }
          break;
        case http::ExecChannel::kResize:
          if (auto size = http::DecodeExecResize(frame->payload); size.ok() && spec_.options.tty) {
            struct winsize ws = {};
            ws.ws_col = size->columns;
            ws.ws_row = size->rows;
            ioctl(child_.stdout_fd, TIOCSWINSZ, &ws);
          }
          break;
        default:
          break;
      }
    }
    // The socket is closed: by the output side after the exit, or by the
    // client (or a stopping agent), in which case the process goes now.
    KillUnlessExited();
    output.join();
    std::lock_guard lock(mu_);
    return client_left_ ? std::nullopt : exit_code_;
  }

 private:
  // Blocks while the process does not read, but gives up once it exited.
  void WriteInput(std::string_view data) {
    std::lock_guard lock(stdin_mu_);
    if (child_.stdin_fd < 0 || !spec_.options.stdin) return;
    while (!data.empty()) {
      struct pollfd p = {child_.stdin_fd, POLLOUT, 0};
      int ready = poll(&p, 1, kPollMillis);
      if (ready < 0 && errno != EINTR) return;
      if (ready <= 0) {
        if (exited_.load()) return;
        continue;
      }
      ssize_t n = write(child_.stdin_fd, data.data(), data.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return;  // the process closed its stdin
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Reaps runc if it has ended (wait: block until it has). Under mu_.
  bool ReapLocked(bool wait) {
    if (reaped_) return true;
    int status = 0;
    pid_t r;
    do {
      r = waitpid(child_.pid, &status, wait ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    reaped_ = true;
    exit_code_ = r == child_.pid ? ExitCodeOf(status) : 255;
    return true;
  }

  void KillUnlessExited() {
    std::lock_guard lock(mu_);
    if (ReapLocked(false)) return;
    client_left_ = true;
    std::ifstream in(pid_file_);
    int pid = 0;
    if (in >> pid && pid > 0) kill(pid, SIGKILL);
    kill(child_.pid, SIGKILL);
  }

  // Sends the output until the process has ended, then its exit code, and
  // closes the socket.
  void PumpOutput() {
    struct Stream {
      int fd;
      http::ExecChannel channel;
    };
    std::vector<Stream> streams = {{child_.stdout_fd, http::ExecChannel::kStdout}};
    if (child_.stderr_fd >= 0) streams.push_back({child_.stderr_fd, http::ExecChannel::kStderr});
    std::vector<char> buffer(kReadBytes);
    // Once runc is gone, what is left in the pipes is read for a moment
    // more, not to their end: a background process the command left may
    // hold them open (and go on writing).
    std::optional<std::chrono::steady_clock::time_point> drain_until;
    while (!streams.empty()) {
      auto now = std::chrono::steady_clock::now();
      if (!drain_until) {
        std::lock_guard lock(mu_);
        if (ReapLocked(false)) drain_until = now + kDrainTime;
      } else if (now >= *drain_until) {
        break;
      }
      std::vector<pollfd> fds;
      for (const Stream& s : streams) fds.push_back({s.fd, POLLIN, 0});
      int ready = poll(fds.data(), fds.size(), drain_until ? 0 : kPollMillis);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) break;
      if (ready == 0) {
        if (drain_until) break;  // runc is gone and nothing is left
        continue;
      }
      for (size_t i = fds.size(); i-- > 0;) {
        if (fds[i].revents == 0) continue;
        ssize_t n = read(fds[i].fd, buffer.data(), buffer.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) {  // end of output (EIO: a terminal whose other side closed)
          streams.erase(streams.begin() + static_cast<std::ptrdiff_t>(i));
          continue;
        }
        // A client that left is noticed by the reader; keep draining.
        (void)socket_.Write(http::EncodeExecFrame(
            streams[i].channel, std::string_view(buffer.data(), static_cast<size_t>(n))));
      }
    }
    std::optional<int> code;
    {
      std::lock_guard lock(mu_);
      ReapLocked(true);
      code = exit_code_;
      exited_.store(true);
    }
    (void)socket_.Write(http::EncodeExecStatus({.exit_code = code, .error = ""}));
    socket_.Close();
  }

  const ExecSessionSpec& spec_;
  const std::string pid_file_;
  Child child_;
  http::WebSocket& socket_;
  std::mutex stdin_mu_;  // guards child_.stdin_fd against its close
  std::mutex mu_;
  bool reaped_ = false;                 // guarded by mu_
  std::optional<int> exit_code_ = 255;  // guarded by mu_
  bool client_left_ = false;            // guarded by mu_
  std::atomic<bool> exited_{false};
};

void SendError(http::WebSocket& socket, const std::string& message) {
  (void)socket.Write(http::EncodeExecStatus({.exit_code = std::nullopt, .error = message}));
  socket.Close();
}

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace

void RunExecSession(ContainerRuntime& runtime, const ExecSessionSpec& spec,
                    http::WebSocket& socket) {
  auto command = runtime.PrepareExec(spec.container_id, spec.options.command, spec.options.tty);
  if (!command.ok()) return SendError(socket, command.status().message());
  auto child = Spawn(command->argv, spec.options);
  if (!child.ok()) {
    return SendError(socket,
                     "exec in container " + spec.container_id + ": " + child.status().message());
  }
  LogInfo("exec session started", {{"task", spec.task_id},
                                   {"container", spec.container},
                                   {"command", Join(spec.options.command)},
                                   {"tty", spec.options.tty ? "true" : "false"},
                                   {"runc_pid", std::to_string(child->pid)}});
  auto started = std::chrono::steady_clock::now();
  std::optional<int> code = Session(spec, command->pid_file, *child, socket).Run();
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
  LogInfo("exec session ended",
          {{"task", spec.task_id},
           {"container", spec.container},
           {"exit_code", code ? std::to_string(*code) : "none: the client left, process killed"},
           {"millis", std::to_string(millis)}});
}

}  // namespace berth::agent
