// ContainerRuntime on conmon + runc, the podman design: conmon has runc
// create and start the container (one `runc run --detach`, see
// kRuntimeShim), reports the result on a sync pipe, keeps the container's
// output in ctr.log and writes its exit code to exits/<id> when it ends.
// The agent afterwards asks runc and those files; it keeps nothing in
// memory, so a restarted agent sees the same containers.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "agent/runtime/container_runtime.h"
#include "agent/runtime/run_command.h"

extern char** environ;

namespace berth::agent {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr auto kCreateTimeout = std::chrono::seconds(120);

// conmon runs its runtime as `RUNTIME [--runtime-arg...] create --bundle B
// --pid-file P ID` and only needs it to leave the container's pid in P and
// exit: conmon is the subreaper that inherits the container and waits for
// it. `runc create` followed by a separate `runc start` costs a second runc
// process (its start-up, the state load, the exec fifo); `runc run
// --detach` takes the same flags and does both in one. So conmon's runtime
// is /bin/sh running this, with runc and its root as the first arguments;
// it turns `create` into `run --detach` and passes anything else on as it
// is.
//
// Before it runs runc the shim waits for "run" on the start gate, a pipe
// the agent writes to and conmon passes on as descriptor kGateFd (conmon
// closes nothing it inherits before it runs its runtime). So the agent
// can start conmon while it still pulls the image and writes the bundle
// (PendingStart): conmon's own start-up, a few milliseconds, is then off
// the start's path. End of file instead of "run" (the start was abandoned,
// or the agent died: only the agent holds the write end) makes the shim
// exit 1, and conmon with it.
constexpr const char* kShell = "/bin/sh";
constexpr int kGateFd = 4;
constexpr const char* kRuntimeShim =
    "runc=$1 root=$2; shift 2; "
    "if [ \"$1\" = create ]; then "
    "read -r go <&4; exec 4<&-; "
    "[ \"$go\" = run ] || { echo 'start abandoned before runc ran' >&2; exit 1; }; "
    "shift; set -- run --detach \"$@\"; fi; "
    "exec \"$runc\" --root \"$root\" \"$@\"";

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 128 || id == "." || id == "..") return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// fd moved to a number above those conmon is given (kGateFd and below),
// closing on exec; -1 stays -1, and so does a failed move (errno set).
int AboveConmonFds(int fd) {
  if (fd < 0 || fd > kGateFd) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, kGateFd + 1);
  int move_errno = errno;
  close(fd);
  errno = move_errno;
  return moved;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return Internal("write " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::optional<int> ParseInt(const std::string& s) {
  std::string t = Trim(s);
  if (t.empty()) return std::nullopt;
  try {
    size_t used = 0;
    int v = std::stoi(t, &used);
    if (used != t.size()) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

// runc logs errors as logrus text: time="..." level=error msg="what failed".
// The msg parts are what a user needs; anything else is kept whole.
std::string RuncMessage(const std::string& output) {
  std::string out;
  for (size_t at = output.find("msg=\""); at != std::string::npos; at = output.find("msg=\"", at)) {
    std::string msg;
    size_t i = at + 5;
    for (; i < output.size() && output[i] != '"'; ++i) {
      if (output[i] == '\\' && i + 1 < output.size()) ++i;
      msg += output[i];
    }
    if (!out.empty()) out += "; ";
    out += msg;
    at = i;
  }
  return out.empty() ? Trim(output) : out;
}

// What /proc/PID/stat says of a process: its state letter and parent.
struct ProcStat {
  char state = 0;
  int ppid = 0;
};
std::optional<ProcStat> ReadProcStat(int pid) {
  // "pid (comm) STATE PPID ...": comm may hold spaces and parentheses.
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return std::nullopt;
  ProcStat p;
  p.state = stat[paren + 2];
  p.ppid = std::atoi(stat.c_str() + paren + 3);
  return p;
}

// A process that runs: a zombie has finished, though its parent may reap it late.
bool Live(const ProcStat& p) { return p.state != 'Z' && p.state != 'X'; }

// The pid of the conmon in pidfile while it runs and is a conmon (not a
// reused pid); nullopt otherwise.
std::optional<int> LiveConmon(const std::string& pidfile) {
  std::optional<int> pid = ParseInt(ReadFile(pidfile));
  if (!pid || *pid <= 0 || kill(*pid, 0) != 0) return std::nullopt;
  if (Trim(ReadFile("/proc/" + std::to_string(*pid) + "/comm")) != "conmon") return std::nullopt;
  std::optional<ProcStat> stat = ReadProcStat(*pid);
  if (!stat || !Live(*stat)) return std::nullopt;
  return pid;
}

bool ConmonAlive(const std::string& pidfile) { return LiveConmon(pidfile).has_value(); }

// A conmon started by the agent, until it reported on its sync pipe.
struct ConmonProcess {
  pid_t first_pid = -1;  // conmon's first process: it exits once it forked the monitor
  int sync_fd = -1;      // conmon reports the container's pid, or -1 and runc's error
  int gate_fd = -1;      // the shim runs runc once "run" comes (kRuntimeShim)
  std::string log_path;  // conmon's own messages
};

class ConmonRuntime : public ContainerRuntime {
 public:
  ConmonRuntime(Options o, std::string runc, std::string conmon)
      : o_(std::move(o)), runc_(std::move(runc)), conmon_(std::move(conmon)) {}

  Status Start(const std::string& id, const OciBundle& bundle) override;
  StatusOr<std::unique_ptr<PendingStart>> Prepare(const std::string& id) override;
  Status Restart(const std::string& id) override;
  StatusOr<ContainerState> State(const std::string& id) override;
  Status Kill(const std::string& id, int signal) override;
  Status Remove(const std::string& id) override;
  StatusOr<ExecResult> Exec(const std::string& id, const std::vector<std::string>& argv,
                            int64_t timeout_millis) override;
  StatusOr<ExecCommand> PrepareExec(const std::string& id, const std::vector<std::string>& argv,
                                    bool tty) override;
  StatusOr<std::vector<std::string>> List() override;
  std::string LogPath(const std::string& id) const override { return Dir(id) + "/ctr.log"; }

 private:
  std::string Dir(const std::string& id) const { return o_.root + "/containers/" + id; }
  std::string ExitFile(const std::string& id) const { return o_.root + "/exits/" + id; }

  StatusOr<CommandResult> Runc(std::vector<std::string> args) const {
    args.insert(args.begin(), {runc_, "--root", o_.runc_root});
    return RunCommand(args);
  }

  friend class ConmonPendingStart;

  Status WriteBundle(const std::string& id, const OciBundle& bundle);
  // Removes what an earlier container of this id left that would make a
  // new one look exited: its exit file, OOM mark and attach sockets.
  void ClearExitRecords(const std::string& id);
  // A folder of this id that no container was ever started from (no
  // bundle; its conmon gone: a PendingStart the agent died holding) is
  // removed; any other is AlreadyExists.
  Status ClearAbandoned(const std::string& id);
  // Starts conmon detached (its own session, so the agent's signals and
  // exit do not reach it); it runs runc once the gate opens.
  StatusOr<ConmonProcess> SpawnConmon(const std::string& id);
  // Lets the shim run runc, then waits for what conmon reports: the pid of
  // the container, which runs by then, or runc's error.
  Status OpenGateAndAwait(ConmonProcess& process);
  // Closes the gate unopened: the shim and conmon exit without running
  // runc; waits for that and removes what conmon made.
  void Abandon(const std::string& id, ConmonProcess& process);
  // conmon has runc create and start the container from its bundle.
  Status Launch(const std::string& id);
  void CleanUpFailedStart(const std::string& id);
  void WaitConmonGone(const std::string& id, std::chrono::milliseconds limit);
  // The pid of the container's init while it runs under its conmon, after
  // runc started it; nullopt otherwise (then runc and the exit file tell).
  std::optional<int> RunningInit(const std::string& id);
  void RemoveCgroupParents(const std::string& id);

  Options o_;
  std::string runc_, conmon_;
  std::atomic<uint64_t> execs_{0};  // names each exec's pid file
};

Status ConmonRuntime::WriteBundle(const std::string& id, const OciBundle& bundle) {
  std::string bdir = Dir(id) + "/bundle";
  std::error_code ec;
  fs::create_directories(bdir, ec);
  if (ec) return Internal("create " + bdir + ": " + ec.message());
  for (const auto& [name, content] : bundle.files) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      return InvalidArgument("bundle file name " + name + " is not a plain name");
    }
    BERTH_RETURN_IF_ERROR(WriteFile(bdir + "/" + name, content));
  }
  // Mounts name bundle files relatively; make them absolute so nothing
  // depends on runc's working directory.
  json::object config = bundle.config;
  if (auto it = config.find("mounts"); it != config.end() && it->value().is_array()) {
    for (json::value& m : it->value().get_array()) {
      if (!m.is_object()) continue;
      auto src = m.get_object().find("source");
      if (src == m.get_object().end() || !src->value().is_string()) continue;
      std::string s(src->value().get_string());
      if (bundle.files.count(s)) src->value() = bdir + "/" + s;
    }
  }
  return WriteFile(bdir + "/config.json", json::serialize(config));
}

StatusOr<ConmonProcess> ConmonRuntime::SpawnConmon(const std::string& id) {
  std::string dir = Dir(id);
  std::vector<std::string> argv = {conmon_,
                                   "--api-version",
                                   "1",
                                   "-c",
                                   id,
                                   "-u",
                                   id,
                                   "-n",
                                   id,
                                   "-r",
                                   kShell,
                                   "-b",
                                   dir + "/bundle",
                                   "-p",
                                   dir + "/pidfile",
                                   "-P",
                                   dir + "/conmon.pid",
                                   "-l",
                                   "k8s-file:" + dir + "/ctr.log",
                                   "--exit-dir",
                                   o_.root + "/exits",
                                   "--persist-dir",
                                   dir,
                                   "--socket-dir-path",
                                   o_.root + "/sockets",
                                   "--runtime-arg",
                                   "-c",
                                   "--runtime-arg",
                                   kRuntimeShim,
                                   "--runtime-arg",
                                   "berth-runc",  // $0 of the shim
                                   "--runtime-arg",
                                   runc_,
                                   "--runtime-arg",
                                   o_.runc_root,
                                   "--log-level",
                                   "error"};
  if (o_.log_max_bytes > 0) {
    argv.insert(argv.end(), {"--log-size-max", std::to_string(o_.log_max_bytes)});
  }
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "_OCI_", 5) != 0) env_store.emplace_back(*e);
  }
  env_store.emplace_back("_OCI_SYNCPIPE=3");
  std::vector<char*> envp;
  for (std::string& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  ConmonProcess process;
  process.log_path = dir + "/conmon.log";
  // Every descriptor handed to conmon is first put above the ones it gets
  // (0 to kGateFd), so that no dup2 below overwrites another's source and
  // none is its own target (which would keep it closing on exec). Both
  // pipes close on exec in the agent: only this conmon gets their ends, so
  // the gate's end of file means the agent is done with it.
  int log_fd = AboveConmonFds(
      open(process.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  int null_fd = AboveConmonFds(open("/dev/null", O_RDONLY | O_CLOEXEC));
  int sync[2] = {-1, -1};
  int gate[2] = {-1, -1};
  auto close_all = [&] {
    for (int* fd : {&log_fd, &null_fd, &sync[0], &sync[1], &gate[0], &gate[1]}) CloseFd(*fd);
  };
  bool piped = log_fd >= 0 && null_fd >= 0 && pipe2(sync, O_CLOEXEC) == 0;
  if (piped) {
    sync[1] = AboveConmonFds(sync[1]);
    piped = sync[1] >= 0 && pipe2(gate, O_CLOEXEC) == 0;
  }
  if (piped) {
    gate[0] = AboveConmonFds(gate[0]);
    piped = gate[0] >= 0;
  }
  if (!piped) {
    int err = errno;
    close_all();
    return Internal(std::string("conmon: setup: ") + std::strerror(err));
  }
  // posix_spawn rather than fork: it shares the agent's memory until the
  // exec instead of copying its page tables (1-2 ms here, during which the
  // agent's other threads wait to touch memory: the image check runs then).
  // setsid: conmon's own session, so the agent's signals and exit do not
  // reach it. The working folder: conmon drops an "oom" file there.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawn_file_actions_adddup2(&actions, null_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 2);
  posix_spawn_file_actions_adddup2(&actions, sync[1], 3);
  posix_spawn_file_actions_adddup2(&actions, gate[0], kGateFd);
  posix_spawn_file_actions_addclosefrom_np(&actions, kGateFd + 1);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  pid_t pid = -1;
  int spawn_error = posix_spawn(&pid, args[0], &actions, &attributes, args.data(), envp.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  int parent_sync = std::exchange(sync[0], -1);
  int parent_gate = std::exchange(gate[1], -1);
  close_all();
  if (spawn_error != 0) {
    close(parent_sync);
    close(parent_gate);
    return Internal("conmon: spawn " + conmon_ + " in " + dir + ": " + std::strerror(spawn_error));
  }
  process.first_pid = pid;
  process.sync_fd = parent_sync;
  process.gate_fd = parent_gate;
  return process;
}

namespace {
// Without --sync conmon forks at once and its first process exits.
void ReapFirst(ConmonProcess& process) {
  if (process.first_pid <= 0) return;
  int status = 0;
  while (waitpid(process.first_pid, &status, 0) < 0 && errno == EINTR) {
  }
  process.first_pid = -1;
}
// write() that fails with EPIPE instead of raising SIGPIPE, whatever the
// process does with that signal (berth ignores it; a test may not).
ssize_t WriteWithoutSigpipe(int fd, std::string_view data) {
  sigset_t pipe_signal, old;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &old);
  ssize_t n = write(fd, data.data(), data.size());
  int write_errno = errno;
  if (n < 0 && write_errno == EPIPE) {
    struct timespec now = {0, 0};
    sigtimedwait(&pipe_signal, nullptr, &now);  // the one this write raised
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = write_errno;
  return n;
}
}  // namespace

Status ConmonRuntime::OpenGateAndAwait(ConmonProcess& process) {
  static constexpr std::string_view kRun = "run\n";
  ssize_t wrote = WriteWithoutSigpipe(process.gate_fd, kRun);
  int write_errno = errno;
  CloseFd(process.gate_fd);
  ReapFirst(process);
  if (wrote != static_cast<ssize_t>(kRun.size())) {
    // EPIPE: conmon and the shim are gone already; what they said is in the log.
    CloseFd(process.sync_fd);
    std::string why = Trim(ReadFile(process.log_path));
    return Internal(std::string("conmon: start gate: ") + std::strerror(write_errno) +
                    (why.empty() ? "" : ": " + why));
  }

  std::string reply;
  json::value msg;
  auto deadline = Clock::now() + kCreateTimeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    struct pollfd p = {process.sync_fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[4096];
    ssize_t n = read(process.sync_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
    boost::system::error_code ec;
    msg = json::parse(reply, ec);
    if (!ec) break;
  }
  CloseFd(process.sync_fd);
  if (!msg.is_object()) {
    std::string why = Trim(ReadFile(process.log_path));
    return Internal("conmon reported nothing" + (why.empty() ? "" : ": " + why));
  }
  const json::object& o = msg.get_object();
  int64_t data = -1;
  if (auto d = o.find("data"); d != o.end() && d->value().is_int64()) data = d->value().get_int64();
  if (data <= 0) {
    std::string text;
    if (auto m = o.find("message"); m != o.end() && m->value().is_string()) {
      text = Trim(std::string(m->value().get_string()));
    }
    if (text.empty()) text = Trim(ReadFile(process.log_path));
    return Internal(RuncMessage(text));
  }
  return Status::Ok();
}

void ConmonRuntime::Abandon(const std::string& id, ConmonProcess& process) {
  CloseFd(process.gate_fd);
  CloseFd(process.sync_fd);
  ReapFirst(process);
  WaitConmonGone(id, std::chrono::seconds(5));
  std::error_code ec;
  fs::remove_all(Dir(id), ec);
  ClearExitRecords(id);
}

Status ConmonRuntime::Launch(const std::string& id) {
  StatusOr<ConmonProcess> process = SpawnConmon(id);
  if (!process.ok()) return process.status();
  return OpenGateAndAwait(*process);
}

void ConmonRuntime::ClearExitRecords(const std::string& id) {
  std::error_code ec;
  fs::remove(ExitFile(id), ec);
  fs::remove(Dir(id) + "/oom", ec);
  fs::remove_all(o_.root + "/sockets/" + id, ec);
}

// A container whose conmon runs and waits at the start gate for its bundle.
class ConmonPendingStart : public ContainerRuntime::PendingStart {
 public:
  ConmonPendingStart(ConmonRuntime& runtime, std::string id, ConmonProcess process)
      : runtime_(runtime), id_(std::move(id)), process_(std::move(process)) {}
  ~ConmonPendingStart() override {
    if (!started_) runtime_.Abandon(id_, process_);
  }

  Status Start(const OciBundle& bundle) override {
    if (started_) return FailedPrecondition("container " + id_ + " was started already");
    started_ = true;
    Status st = runtime_.WriteBundle(id_, bundle);
    if (!st.ok()) {
      runtime_.Abandon(id_, process_);
      return st.WithContext("start container " + id_);
    }
    st = runtime_.OpenGateAndAwait(process_);
    if (!st.ok()) {
      runtime_.CleanUpFailedStart(id_);
      return st.WithContext("start container " + id_);
    }
    return Status::Ok();
  }

 private:
  ConmonRuntime& runtime_;
  const std::string id_;
  ConmonProcess process_;
  bool started_ = false;
};

Status ConmonRuntime::ClearAbandoned(const std::string& id) {
  std::error_code ec;
  if (!fs::exists(Dir(id), ec)) return Status::Ok();
  if (fs::exists(Dir(id) + "/bundle/config.json", ec) || ConmonAlive(Dir(id) + "/conmon.pid")) {
    return AlreadyExists("container " + id + " already exists");
  }
  fs::remove_all(Dir(id), ec);
  if (ec) return Internal("remove " + Dir(id) + ": " + ec.message());
  return Status::Ok();
}

StatusOr<std::unique_ptr<ContainerRuntime::PendingStart>> ConmonRuntime::Prepare(
    const std::string& id) {
  if (!ValidId(id)) return InvalidArgument("container id " + id + " is not valid");
  BERTH_RETURN_IF_ERROR(ClearAbandoned(id));
  ClearExitRecords(id);
  // conmon opens its log and works in the container's folder, and makes
  // its attach socket in the bundle's.
  std::error_code ec;
  fs::create_directories(Dir(id) + "/bundle", ec);
  if (ec) return Internal("create " + Dir(id) + ": " + ec.message());
  StatusOr<ConmonProcess> process = SpawnConmon(id);
  if (!process.ok()) {
    fs::remove_all(Dir(id), ec);
    return process.status().WithContext("start container " + id);
  }
  return std::unique_ptr<PendingStart>(
      std::make_unique<ConmonPendingStart>(*this, id, std::move(*process)));
}

Status ConmonRuntime::Start(const std::string& id, const OciBundle& bundle) {
  StatusOr<std::unique_ptr<PendingStart>> pending = Prepare(id);
  if (!pending.ok()) return pending.status();
  return (*pending)->Start(bundle);
}

Status ConmonRuntime::Restart(const std::string& id) {
  if (!ValidId(id)) return InvalidArgument("container id " + id + " is not valid");
  std::error_code ec;
  if (!fs::exists(Dir(id) + "/bundle/config.json", ec)) {
    return NotFound("restart container " + id + ": it has no bundle");
  }
  // runc keeps an exited container until it is deleted; without --force a
  // running one is refused rather than killed.
  StatusOr<CommandResult> r = Runc({"delete", id});
  if (!r.ok()) return r.status().WithContext("restart container " + id);
  if (r->exit_code != 0 && r->err.find("does not exist") == std::string::npos) {
    return FailedPrecondition("restart container " + id + ": runc delete: " + RuncMessage(r->err));
  }
  WaitConmonGone(id, std::chrono::seconds(5));
  ClearExitRecords(id);
  // ctr.log stays: conmon opens it to append.
  if (Status st = Launch(id); !st.ok()) {
    (void)Runc({"delete", "--force", id});
    return st.WithContext("restart container " + id);
  }
  return Status::Ok();
}

void ConmonRuntime::CleanUpFailedStart(const std::string& id) { (void)Remove(id); }

std::optional<int> ConmonRuntime::RunningInit(const std::string& id) {
  std::optional<int> conmon = LiveConmon(Dir(id) + "/conmon.pid");
  if (!conmon) return std::nullopt;
  std::optional<int> pid = ParseInt(ReadFile(Dir(id) + "/pidfile"));
  if (!pid || *pid <= 0) return std::nullopt;
  std::optional<ProcStat> stat = ReadProcStat(*pid);
  if (!stat || !Live(*stat) || stat->ppid != *conmon) return std::nullopt;
  return pid;
}

void ConmonRuntime::WaitConmonGone(const std::string& id, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  std::string pidfile = Dir(id) + "/conmon.pid";
  while (ConmonAlive(pidfile) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

StatusOr<ContainerState> ConmonRuntime::State(const std::string& id) {
  if (!ValidId(id)) return InvalidArgument("container id " + id + " is not valid");
  ContainerState s;
  std::error_code ec;
  // A folder without a bundle is a start not begun yet (Prepare): its
  // conmon waits for the bundle, and runc knows nothing of it.
  bool have_bundle = fs::exists(Dir(id) + "/bundle/config.json", ec);
  // conmon writes "oom" in its persist dir when the kernel's OOM killer
  // hit the container's cgroup (memory.oom_control eventfd on cgroup v1,
  // memory.events on v2).
  s.oom_killed = fs::exists(Dir(id) + "/oom", ec);

  // Running, told without runc: the container's init (the pid runc left)
  // lives and is a child of its conmon, which it becomes only once runc
  // has started it and exited; conmon reaps it when it ends and only then
  // writes its exit code. `runc state` for that is a Go program's start-up,
  // a few ms of CPU, and the task worker asks every 200 ms per container.
  if (have_bundle) {
    if (std::optional<int> pid = RunningInit(id)) {
      s.phase = ContainerState::Phase::kRunning;
      s.pid = *pid;
      return s;
    }
  }
  std::string status;
  StatusOr<CommandResult> r = Runc({"state", id});
  if (r.ok() && r->exit_code == 0) {
    boost::system::error_code jec;
    json::value v = json::parse(r->out, jec);
    if (!jec && v.is_object()) {
      const json::object& o = v.get_object();
      if (auto it = o.find("status"); it != o.end() && it->value().is_string()) {
        status = std::string(it->value().get_string());
      }
      if (auto it = o.find("pid"); it != o.end() && it->value().is_int64()) {
        s.pid = static_cast<int>(it->value().get_int64());
      }
    }
  }
  if (status == "created") {
    s.phase = ContainerState::Phase::kCreated;
    return s;
  }
  if (status == "running" || status == "paused" || status == "creating") {
    s.phase = ContainerState::Phase::kRunning;
    return s;
  }
  // Stopped, or unknown to runc: the exit file has the answer. conmon
  // writes it a moment after runc sees the process gone, so wait for it
  // while conmon lives.
  auto deadline = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    std::optional<int> code = ParseInt(ReadFile(ExitFile(id)));
    if (code) {
      struct stat exit_stat {};
      if (stat(ExitFile(id).c_str(), &exit_stat) == 0) {
        s.exited_at_millis =
            int64_t{exit_stat.st_mtim.tv_sec} * 1000 + exit_stat.st_mtim.tv_nsec / 1'000'000;
      }
      // conmon may handle the OOM event after the exit: its "oom" file is
      // certain only once conmon itself is gone (a moment later).
      if (!s.oom_killed) {
        WaitConmonGone(id, std::chrono::seconds(2));
        s.oom_killed = fs::exists(Dir(id) + "/oom", ec);
      }
      s.phase = ContainerState::Phase::kExited;
      s.exit_code = *code;
      s.pid = 0;
      return s;
    }
    if (!have_bundle || !ConmonAlive(Dir(id) + "/conmon.pid") || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (status == "stopped") {
    // Its conmon died without writing the code (killed, or the host
    // rebooted under it): exited, code unknown.
    s.phase = ContainerState::Phase::kExited;
    s.pid = 0;
    return s;
  }
  s.phase = ContainerState::Phase::kMissing;
  return s;
}

StatusOr<ExecCommand> ConmonRuntime::PrepareExec(const std::string& id,
                                                 const std::vector<std::string>& argv, bool tty) {
  if (!ValidId(id)) return InvalidArgument("container id " + id + " is not valid");
  if (argv.empty()) return InvalidArgument("exec in container " + id + ": empty command");
  // runc writes the host pid of the process it started there, so a command
  // that outlives its caller is killed itself, not only the runc waiting
  // for it.
  ExecCommand command;
  command.pid_file = Dir(id) + "/exec-" + std::to_string(++execs_) + ".pid";
  command.argv = {runc_, "--root", o_.runc_root, "exec", "--pid-file", command.pid_file};
  if (tty) command.argv.push_back("--tty");
  command.argv.push_back(id);
  command.argv.insert(command.argv.end(), argv.begin(), argv.end());
  return command;
}

StatusOr<ExecResult> ConmonRuntime::Exec(const std::string& id,
                                         const std::vector<std::string>& argv,
                                         int64_t timeout_millis) {
  StatusOr<ExecCommand> command = PrepareExec(id, argv, /*tty=*/false);
  if (!command.ok()) return command.status();
  const std::string& pid_file = command->pid_file;
  const std::vector<std::string>& args = command->argv;
  RunLimits limits;
  limits.timeout_millis = timeout_millis;
  limits.on_timeout = [&pid_file] {
    int pid = std::atoi(ReadFile(pid_file).c_str());
    if (pid > 0) kill(pid, SIGKILL);
  };
  StatusOr<CommandResult> r = RunCommand(args, limits);
  std::error_code ec;
  fs::remove(pid_file, ec);
  if (!r.ok()) return r.status().WithContext("exec in container " + id);
  constexpr size_t kMaxOutput = 4096;
  ExecResult result;
  result.exit_code = r->exit_code;
  result.timed_out = r->timed_out;
  result.output = (r->out + r->err).substr(0, kMaxOutput);
  return result;
}

Status ConmonRuntime::Kill(const std::string& id, int signal) {
  if (!ValidId(id)) return InvalidArgument("container id " + id + " is not valid");
  StatusOr<CommandResult> r = Runc({"kill", id, std::to_string(signal)});
  if (!r.ok()) return r.status().WithContext("kill container " + id);
  if (r->exit_code == 0) return Status::Ok();
  StatusOr<ContainerState> s = State(id);
  if (s.ok() &&
      (s->phase == ContainerState::Phase::kExited || s->phase == ContainerState::Phase::kMissing)) {
    return Status::Ok();
  }
  return Internal("kill container " + id + ": runc kill: " + RuncMessage(r->err));
}

// runc removes the container's own cgroup; the task-level folder above it
// (cgroupsPath "/berth/<task>/<container>") goes when its last container
// does. The rmdir fails harmlessly while another container is in it.
void ConmonRuntime::RemoveCgroupParents(const std::string& id) {
  boost::system::error_code jec;
  json::value v = json::parse(ReadFile(Dir(id) + "/bundle/config.json"), jec);
  if (jec || !v.is_object()) return;
  const json::value* path = v.get_object().if_contains("linux");
  if (path == nullptr || !path->is_object()) return;
  path = path->get_object().if_contains("cgroupsPath");
  if (path == nullptr || !path->is_string()) return;
  fs::path cg(std::string(path->get_string()));
  if (!cg.is_absolute() || cg.parent_path() == "/" || cg.parent_path().empty()) return;
  std::vector<std::string> roots = {"/sys/fs/cgroup"};
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    if (e.is_directory(ec)) roots.push_back(e.path().string());
  }
  for (const std::string& root : roots) {
    rmdir((root + cg.string()).c_str());
    rmdir((root + cg.parent_path().string()).c_str());
  }
}

Status ConmonRuntime::Remove(const std::string& id) {
  if (!ValidId(id)) return InvalidArgument("container id " + id + " is not valid");
  StatusOr<CommandResult> r = Runc({"delete", "--force", id});
  if (!r.ok()) return r.status().WithContext("remove container " + id);
  bool known = r->exit_code == 0 || r->err.find("does not exist") == std::string::npos;
  if (r->exit_code != 0 && known) {
    return Internal("remove container " + id + ": runc delete: " + RuncMessage(r->err));
  }
  // Its conmon notices the exit and writes the exit file; wait, so that
  // file does not appear after it was removed.
  WaitConmonGone(id, std::chrono::seconds(5));
  RemoveCgroupParents(id);
  std::error_code ec;
  fs::remove_all(Dir(id), ec);
  if (ec) return Internal("remove " + Dir(id) + ": " + ec.message());
  fs::remove(ExitFile(id), ec);
  fs::remove_all(o_.root + "/sockets/" + id, ec);
  return Status::Ok();
}

StatusOr<std::vector<std::string>> ConmonRuntime::List() {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(o_.root + "/containers", ec)) {
    if (e.is_directory(ec) && ValidId(e.path().filename().string())) {
      ids.push_back(e.path().filename().string());
    }
  }
  if (ec) return Internal("list " + o_.root + "/containers: " + ec.message());
  std::sort(ids.begin(), ids.end());
  return ids;
}

// ContainerRuntime::Prepare's default: the whole start happens in Start.
class DeferredStart : public ContainerRuntime::PendingStart {
 public:
  DeferredStart(ContainerRuntime& runtime, std::string id)
      : runtime_(runtime), id_(std::move(id)) {}
  Status Start(const OciBundle& bundle) override { return runtime_.Start(id_, bundle); }

 private:
  ContainerRuntime& runtime_;
  const std::string id_;
};

}  // namespace

StatusOr<std::unique_ptr<ContainerRuntime::PendingStart>> ContainerRuntime::Prepare(
    const std::string& id) {
  return std::unique_ptr<PendingStart>(std::make_unique<DeferredStart>(*this, id));
}

StatusOr<std::unique_ptr<ContainerRuntime>> ContainerRuntime::Open(Options options) {
  std::error_code ec;
  if (options.root.empty()) return InvalidArgument("container runtime: root is required");
  options.root = fs::absolute(options.root, ec).lexically_normal().string();
  while (options.root.size() > 1 && options.root.back() == '/') options.root.pop_back();
  if (options.runc_root.empty()) options.runc_root = options.root + "/runc";
  options.runc_root = fs::absolute(options.runc_root, ec).lexically_normal().string();
  for (const std::string& d : {options.root + "/containers", options.root + "/exits",
                               options.root + "/sockets", options.runc_root}) {
    fs::create_directories(d, ec);
    if (ec) return Internal("container runtime: create " + d + ": " + ec.message());
  }
  StatusOr<std::string> runc = FindProgram(options.runc);
  if (!runc.ok()) return runc.status().WithContext("container runtime");
  StatusOr<std::string> conmon = FindProgram(options.conmon);
  if (!conmon.ok()) return conmon.status().WithContext("container runtime");
  return std::unique_ptr<ContainerRuntime>(
      std::make_unique<ConmonRuntime>(std::move(options), *runc, *conmon));
}

}  // namespace berth::agent
