// Runs containers with runc under conmon, one conmon per container: conmon
// keeps the container's stdio in its log file and writes its exit code to
// the exit folder, so containers go on running (and their exits are not
// lost) while the agent is stopped or restarted.
//
// Layout under the runtime's root (the agent's data folder):
//   containers/<id>/bundle/     config.json and the files it mounts
//   containers/<id>/ctr.log     the output (conmon's k8s-file format)
//   containers/<id>/conmon.pid
//   exits/<id>                  the exit code, written by conmon
//   containers/<id>/oom         present when the kernel OOM-killed it
//                               (conmon watches the memory cgroup)
//   containers/<id>/conmon.log  conmon's own errors
//   sockets/                    conmon's attach sockets (berth never attaches)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/runtime/oci_bundle.h"
#include "common/status.h"

namespace berth::agent {

struct ContainerState {
  enum class Phase { kCreated, kRunning, kExited, kMissing };
  Phase phase = Phase::kMissing;
  int pid = 0;  // the container's init process on the host, while it runs
  // When exited: the code conmon recorded (128 + signal when killed), or
  // none when its conmon died first (killed, host rebooted).
  std::optional<int> exit_code;
  // When exited with a recorded code: when conmon recorded it (ms since
  // the epoch), so an exit seen late (the agent was away) is dated right.
  std::optional<int64_t> exited_at_millis;
  bool oom_killed = false;
};

// What a command run inside a container with Exec did.
struct ExecResult {
  int exit_code = -1;      // 128 + signal when killed
  bool timed_out = false;  // it ran past the timeout and was killed
  std::string output;      // stdout and stderr, at most a few KiB
};

// How to run a command inside a running container yourself: the `runc
// exec` command line, and the file runc writes the host pid of the process
// it started there to (remove it when done).
struct ExecCommand {
  std::vector<std::string> argv;
  std::string pid_file;
};

// Thread-safe: all state is in the file system and runc.
class ContainerRuntime {
 public:
  struct Options {
    std::string root;           // data folder (created if absent)
    std::string runc = "runc";  // path or name on PATH
    std::string conmon = "conmon";
    std::string runc_root;  // runc --root; default <root>/runc
    // conmon --log-size-max: a container's log file grows to this size, then
    // conmon starts it over (older lines dropped) so that a chatty task
    // cannot fill the disk. 0: no cap.
    int64_t log_max_bytes = 0;
  };
  static StatusOr<std::unique_ptr<ContainerRuntime>> Open(Options options);
  virtual ~ContainerRuntime() = default;

  // Writes the bundle and starts the container under a new conmon; returns
  // once runc has started it (or failed: the error carries runc's message).
  virtual Status Start(const std::string& id, const OciBundle& bundle) = 0;

  // A start begun before its bundle is known (Prepare). Destroyed without
  // Start, the start is abandoned: nothing of it is left.
  class PendingStart {
   public:
    virtual ~PendingStart() = default;
    // As ContainerRuntime::Start with the id given to Prepare; once only.
    virtual Status Start(const OciBundle& bundle) = 0;
  };
  // Begins what a start of container id needs before its bundle (conmon:
  // starts conmon, which waits for the bundle before it runs runc), so that
  // it overlaps the caller's image pull and mounts; the same errors as
  // Start. Not thread-safe for one id. By default it does nothing ahead.
  virtual StatusOr<std::unique_ptr<PendingStart>> Prepare(const std::string& id);
  // Starts an exited container again in place (a restart policy): the
  // same id, bundle and log file, its new output appended to the earlier
  // runs'; a new conmon. What recorded the earlier run's exit (exit file,
  // OOM mark) is gone afterwards. FailedPrecondition while it still runs;
  // on any error it is left exited (or missing), its log kept.
  virtual Status Restart(const std::string& id) = 0;
  // kMissing: neither runc nor an exit file knows the id. Just after an
  // exit it may wait a moment (at most a few seconds) for conmon to record
  // the exit code and the OOM mark.
  virtual StatusOr<ContainerState> State(const std::string& id) = 0;
  // Sends signal to the container's init process; exited is not an error.
  virtual Status Kill(const std::string& id, int signal) = 0;
  // Removes the container from runc and its folder (bundle, log, exit file).
  virtual Status Remove(const std::string& id) = 0;
  // Runs argv inside the running container (its namespaces, cgroup, user
  // and environment), as `runc exec` does; waits for it to end, or kills it
  // once timeout_millis have passed. An error only when it could not be run
  // at all; a command that fails is a result with its exit code.
  virtual StatusOr<ExecResult> Exec(const std::string& id, const std::vector<std::string>& argv,
                                    int64_t timeout_millis) = 0;
  // The command line that runs argv inside the running container as Exec
  // does, for a caller that relays its streams itself (`berth exec`); with
  // tty, runc gives the process a terminal of its own and relays it to
  // runc's own stdin/stdout, which must then be a terminal too.
  virtual StatusOr<ExecCommand> PrepareExec(const std::string& id,
                                            const std::vector<std::string>& argv, bool tty) = 0;
  // Ids of all containers this runtime has a folder for (for adoption after
  // a restart).
  virtual StatusOr<std::vector<std::string>> List() = 0;
  // Where the container's log is (k8s-file lines: "TIME stream P|F text").
  virtual std::string LogPath(const std::string& id) const = 0;
};

// Decodes conmon's k8s-file log from byte `offset`: the text of each record
// (partial records joined), and the offset just after the last whole line
// read. At most max_bytes of text.
struct LogChunk {
  std::string text;
  uint64_t next_offset = 0;
};
StatusOr<LogChunk> ReadContainerLog(const std::string& path, uint64_t offset, size_t max_bytes);

}  // namespace berth::agent
