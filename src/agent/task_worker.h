// One task on this node, from assignment to STOPPED: pull the images, mount
// each container's root file system, build its bundle, start it under
// conmon, watch it, stop it, and report every step to the server. Runs on
// its own thread.
//
// Progress is written to the task's folder before it is acted on
// (state.json: which containers were started, what was reported), so an
// agent that is killed and restarted adopts the running containers, records
// the exits that happened while it was away (a non-essential container's
// reported as its own container state change, as when it is seen), and
// never starts a container twice.
//
// A container with an enabled restartPolicy that exits is started again in
// place when the policy says so (restart_policy.h): same task, same runtime
// id and log; its restart count and last start time are in state.json too,
// so an agent that adopts the task goes on counting.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "agent/container_endpoints.h"
#include "agent/image/image_store.h"
#include "agent/pull_board.h"
#include "agent/runtime/container_runtime.h"
#include "agent/runtime/task_cgroup.h"
#include "agent/task_volumes.h"
#include "common/env.h"
#include "common/status.h"

namespace berth::agent {

// What every worker shares; owned by the Agent, outlives the workers.
struct WorkerContext {
  ImageStore* images = nullptr;
  PullBoard* pulls = nullptr;  // each pull's progress goes here; null: nowhere
  ContainerRuntime* runtime = nullptr;
  std::string tasks_dir;  // <data>/tasks
  CredentialsLookup registry_credentials;
  // The registry credentials of one task's pulls (its executionRoleArn's);
  // unset: registry_credentials.
  std::function<CredentialsLookup(const std::string& task_arn)> task_registry_credentials;
  DeviceLookup devices;
  std::map<std::string, uint64_t> host_hard_limits;
  // The seccomp profile for a container definition; unset: none.
  std::function<StatusOr<boost::json::object>(const boost::json::object& container)> seccomp_for;
  std::string host_hosts;        // the host's /etc/hosts and /etc/resolv.conf, for
  std::string host_resolv_conf;  // containers that share its network
  // The task metadata and credentials endpoints (each container is attached
  // before it starts, and each task's state published to it); null: none.
  ContainerEndpoints* endpoints = nullptr;
  std::string node_address;  // the node's IP address (the metadata's Networks)
  // Sends a SubmitTaskStateChange (operation "SubmitTaskStateChange") or
  // SubmitContainerStateChange; retries until the server takes it or the
  // agent stops. Returns false when the agent is stopping.
  std::function<bool(std::string_view operation, const boost::json::object& input)> report;
  // Where the task's volumes are made and mounted (task_volumes.h).
  VolumeHost volumes;
  // The task's cgroup with its task-level cpu and memory (task_cgroup.h);
  // null: the containers' cgroups get no parent of the agent's making.
  const TaskCgroups* cgroups = nullptr;
  // Multiplies every container's restartAttemptPeriod: 1 but in the
  // agent's end-to-end tests (see ParseRestartPolicy).
  double restart_period_scale = 1.0;
  // Files, mounts and the clock (every wait of a worker is on env->clock(),
  // so a FakeClock drives it in tests).
  Env* env = Env::Default();
};

class TaskWorker {
 public:
  // task: the Task as the assignment poll gives it (with "taskDefinition").
  // adopt: the task folder already exists from an earlier agent run.
  TaskWorker(WorkerContext& context, boost::json::object task);
  ~TaskWorker();  // detaches: see Detach
  TaskWorker(const TaskWorker&) = delete;
  TaskWorker& operator=(const TaskWorker&) = delete;

  // The task should stop (StopTask, or it is no longer assigned here).
  void RequestStop(std::string reason);
  // The agent is going away: the thread ends at the next step, containers
  // keep running, nothing is reported.
  void Detach();
  bool done() const { return done_.load(); }
  // Waits until the worker's thread has ended: the task stopped and its
  // STOPPED was reported, or Detach was called.
  void Join();
  const std::string& task_id() const { return task_id_; }
  // Whether the container, which the caller saw exited or not created yet,
  // may still run: it has not started yet, or its restart policy may start
  // it again (it has one and its last exit was not found final); and the
  // task is neither stopping nor done. Thread-safe.
  bool MayStillRun(const std::string& container) const;

  // The folder of a task, and the runtime id of one of its containers.
  static std::string ContainerId(std::string_view task_id, std::string_view container);

 private:
  struct Container;
  using Containers = std::map<std::string, Container>;
  void Run();
  // Makes the task's cgroup and volumes (mounts included) for the
  // containers not started yet; the error is the task's stoppedReason.
  Status Prepare();
  // Pulls the images of the containers not started yet.
  Status Pull(Containers& containers);
  // Begins the start of each container not started yet that waits for no
  // other (the runtime's Prepare: conmon's start-up), so that it overlaps
  // the pull; a failure is left for StartContainer to meet again.
  void PrepareStarts(const Containers& containers);
  Status StartContainer(Containers& containers, Container& container);
  // Starts the containers in dependsOn order, watches them and runs their
  // health checks, reporting RUNNING once all have started; returns when the
  // task should stop or the worker is detached.
  void Supervise(Containers& containers);
  // Starts every container whose dependencies are met; asks the task to
  // stop when one can never start. True while some container still waits.
  bool StartReady(Containers& containers, int64_t waiting_since);
  // Why `waiter` can never start given `dependency` (its condition can no
  // longer be met); empty when it still can.
  std::string Unreachable(const Container& waiter, const Container& dependency,
                          std::string_view condition) const;
  // Collects a finished health check or begins a due one; true when the
  // container's health changed.
  bool CheckHealth(Container& container);
  // Asks the runtime whether a RUNNING container still runs; records its
  // exit when not.
  bool StillRunning(Container& container);
  // Marks it STOPPED with what the runtime knows of its exit.
  void RecordExit(Container& container, const StatusOr<ContainerState>& state);
  // Applies the restart policy to a container seen exited: true when it
  // runs again; false when its exit stands (then marked final).
  bool RestartAfterExit(Containers& containers, Container& container);
  void MarkExitFinal(Container& container);
  // Reports a non-essential container's exit (SubmitContainerStateChange),
  // and keeps that it did; false when the agent is stopping.
  bool ReportContainerExit(Containers& containers, Container& container);
  // SIGTERM in reverse dependency order (a container once nothing that
  // depends on it runs), SIGKILL after each one's stopTimeout.
  void StopContainers(Containers& containers);
  void Finish(Containers& containers, const std::string& reason);
  // Why the task stops when an essential container exited.
  std::string EssentialExitReason(const Container& container) const;
  bool Report(const std::string& status, const Containers& containers, const std::string& reason);
  void SaveState(const Containers& containers);
  // Hands the task's state to the metadata endpoint (when there is one).
  // known_status: the task's status as it is being reported; empty: the
  // last one reported.
  void Publish(const Containers& containers, std::string_view known_status = "");
  // Attaches the container to the endpoints (when there are any): the
  // environment and network namespace its bundle is given.
  StatusOr<ContainerAccess> Attach(const Container& container);
  ContainerEndpoints::Container EndpointsView(const Container& container) const;
  // Attaches the containers not started yet on a thread of its own (their
  // network namespaces and listeners do not depend on the image), so that
  // it overlaps the image pull; errors are left for StartContainer's
  // Attach to find again and report. Wait for it before the task goes on.
  std::future<void> AttachAhead(const Containers& containers);
  // Waits up to millis or until a stop or detach; true when woken by one.
  bool Wait(int millis);
  // Waits up to millis or until a detach; true when woken by one.
  bool WaitForDetach(int millis);
  int64_t NowMillis() const;

  WorkerContext& context_;
  boost::json::object task_;
  std::string task_id_;
  std::string task_arn_;
  std::string cluster_;
  std::string dir_;
  boost::json::object state_;                        // state.json
  TaskLimits limits_;                                // the definition's task-level cpu and memory
  std::map<std::string, std::string> volume_paths_;  // volume name -> host folder (Prepare)

  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  std::optional<std::string> stop_reason_;
  bool detached_ = false;
  std::set<std::string> restartable_;  // containers whose exit is not final yet (with a policy)
  std::set<std::string> unstarted_;    // containers not started yet
  std::atomic<bool> done_{false};
  int64_t pull_started_ = 0, pull_stopped_ = 0;
  bool running_report_due_ = false;  // a restart to tell the server about
  // Starts begun during the image pull (PrepareStarts), by container name;
  // taken by StartContainer, abandoned when the task ends before.
  std::map<std::string, std::unique_ptr<ContainerRuntime::PendingStart>> pending_starts_;
  std::thread thread_;
};

}  // namespace berth::agent
