#include "agent/task_worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "common/clock.h"
#include "common/fault_injection_env.h"

namespace berth::agent {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTaskId[] = "0123456789abcdef0123456789abcdef";
constexpr char kTaskArn[] =
    "arn:aws:ecs:us-east-1:123456789012:task/train/0123456789abcdef0123456789abcdef";
constexpr char kClusterArn[] = "arn:aws:ecs:us-east-1:123456789012:cluster/train";

constexpr int64_t kStartMillis = 1'700'000'000'000;

// An image store that returns an image without layers (MountRootfs then
// bind-mounts the container's upper folder), or fails every pull.
class FakeImageStore : public ImageStore {
 public:
  StatusOr<PulledImage> Pull(const std::string& image, const CredentialsLookup&,
                             const ProgressCallback& progress) override {
    {
      std::lock_guard lock(mu_);
      pulls_.push_back(image);
    }
    if (!fail_with_.empty()) return NotFound(fail_with_);
    if (progress) {
      PullProgress done;
      done.bytes_done = done.bytes_total = 10;
      done.layers_done = done.layers_total = 1;
      progress(done);
    }
    PulledImage out;
    out.reference = image;
    out.manifest_digest = "sha256:" + std::string(64, 'a');
    out.config.cmd = {"/bin/sh", "-c", "true"};
    return out;
  }
  std::vector<std::string> pulls() {
    std::lock_guard lock(mu_);
    return pulls_;
  }
  std::string fail_with_;  // set before the worker starts

 private:
  std::mutex mu_;
  std::vector<std::string> pulls_;
};

// A runtime whose containers' states the test sets.
class FakeRuntime : public ContainerRuntime {
 public:
  explicit FakeRuntime(const Clock& clock) : clock_(clock) {}

  struct KillCall {
    std::string id;
    int signal;
    int64_t at_millis;
  };

  Status Start(const std::string& id, const OciBundle& bundle) override {
    std::lock_guard lock(mu_);
    starts_.push_back(id);
    bundles_[id] = bundle;
    ContainerState s;
    s.phase = ContainerState::Phase::kRunning;
    s.pid = 4242;
    states_[id] = s;
    return Status::Ok();
  }
  Status Restart(const std::string& id) override {
    std::lock_guard lock(mu_);
    restarts_.push_back(id);
    auto it = states_.find(id);
    if (it != states_.end() && it->second.phase == ContainerState::Phase::kRunning) {
      return FailedPrecondition(id + " is running");
    }
    if (!fail_restarts_with_.empty()) return Internal(fail_restarts_with_);
    ContainerState s;
    s.phase = ContainerState::Phase::kRunning;
    s.pid = 4243;
    states_[id] = s;
    return Status::Ok();
  }
  StatusOr<ContainerState> State(const std::string& id) override {
    std::lock_guard lock(mu_);
    ++state_calls_[id];
    auto it = states_.find(id);
    if (it == states_.end()) return ContainerState{};  // kMissing
    return it->second;
  }
  Status Kill(const std::string& id, int signal) override {
    std::lock_guard lock(mu_);
    kills_.push_back({id, signal, clock_.NowMillis()});
    auto it = states_.find(id);
    if (it == states_.end() || it->second.phase != ContainerState::Phase::kRunning) {
      return Status::Ok();
    }
    if (signal == SIGTERM && ignores_sigterm_.count(id)) return Status::Ok();
    it->second.phase = ContainerState::Phase::kExited;
    it->second.pid = 0;
    it->second.exit_code = 128 + signal;
    return Status::Ok();
  }
  Status Remove(const std::string& id) override {
    std::lock_guard lock(mu_);
    removes_.push_back(id);
    states_.erase(id);
    return Status::Ok();
  }
  struct ExecCall {
    std::string id;
    std::vector<std::string> argv;
    int64_t timeout_millis;
    int64_t at_millis;
  };
  StatusOr<ExecResult> Exec(const std::string& id, const std::vector<std::string>& argv,
                            int64_t timeout_millis) override {
    std::lock_guard lock(mu_);
    execs_.push_back({id, argv, timeout_millis, clock_.NowMillis()});
    auto it = exec_results_.find(id);
    if (it == exec_results_.end()) return ExecResult{0, false, ""};
    return it->second;
  }
  StatusOr<ExecCommand> PrepareExec(const std::string&, const std::vector<std::string>&,
                                    bool) override {
    return Unavailable("the fake runtime runs no exec sessions");
  }
  StatusOr<std::vector<std::string>> List() override {
    std::lock_guard lock(mu_);
    std::vector<std::string> ids;
    for (const auto& [id, s] : states_) ids.push_back(id);
    return ids;
  }
  std::string LogPath(const std::string& id) const override { return "/dev/null"; }

  // Test controls.
  void SetRunning(const std::string& id) {
    std::lock_guard lock(mu_);
    ContainerState s;
    s.phase = ContainerState::Phase::kRunning;
    s.pid = 4242;
    states_[id] = s;
  }
  void SetExited(const std::string& id, int code, bool oom = false,
                 std::optional<int64_t> exited_at = std::nullopt) {
    std::lock_guard lock(mu_);
    ContainerState s;
    s.phase = ContainerState::Phase::kExited;
    s.exit_code = code;
    s.oom_killed = oom;
    s.exited_at_millis = exited_at;
    states_[id] = s;
  }
  void FailRestarts(std::string why) {
    std::lock_guard lock(mu_);
    fail_restarts_with_ = std::move(why);
  }
  std::vector<std::string> restarts() {
    std::lock_guard lock(mu_);
    return restarts_;
  }
  void IgnoreSigterm(const std::string& id) {
    std::lock_guard lock(mu_);
    ignores_sigterm_.insert(id);
  }
  // What every later health check of the container does (default: exit 0).
  void SetExecResult(const std::string& id, int exit_code, bool timed_out = false) {
    std::lock_guard lock(mu_);
    exec_results_[id] = ExecResult{exit_code, timed_out, ""};
  }
  std::vector<ExecCall> execs() {
    std::lock_guard lock(mu_);
    return execs_;
  }
  std::vector<std::string> starts() {
    std::lock_guard lock(mu_);
    return starts_;
  }
  std::vector<KillCall> kills() {
    std::lock_guard lock(mu_);
    return kills_;
  }
  int state_calls(const std::string& id) {
    std::lock_guard lock(mu_);
    return state_calls_[id];
  }
  std::optional<OciBundle> bundle(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = bundles_.find(id);
    if (it == bundles_.end()) return std::nullopt;
    return it->second;
  }

 private:
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, ContainerState> states_;
  std::set<std::string> ignores_sigterm_;
  std::vector<std::string> starts_;
  std::vector<std::string> restarts_;
  std::string fail_restarts_with_;
  std::map<std::string, OciBundle> bundles_;
  std::vector<KillCall> kills_;
  std::vector<std::string> removes_;
  std::map<std::string, int> state_calls_;
  std::map<std::string, ExecResult> exec_results_;
  std::vector<ExecCall> execs_;
};

struct ReportCall {
  std::string operation;
  json::object input;
  int64_t at_millis = 0;  // on the worker's clock
};

std::string Id(const std::string& container) { return TaskWorker::ContainerId(kTaskId, container); }

class TaskWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-task-worker-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    env_.UseFakeMounts();
    context_.env = &env_;
    context_.images = &images_;
    context_.runtime = &runtime_;
    context_.tasks_dir = (root_ / "tasks").string();
    context_.registry_credentials = [](std::string_view) {
      return std::optional<RegistryCredentials>();
    };
    context_.devices = [](const std::string& path) -> StatusOr<HostDevice> {
      return NotFound(path + ": no such device");
    };
    context_.host_hard_limits = {{"nofile", 1048576}};
    auto mounts = VolumeMounts::Open({&env_, (root_ / "mounts.json").string(), "boot"});
    ASSERT_TRUE(mounts.ok());
    mounts_ = std::move(*mounts);
    context_.volumes.mounts = mounts_.get();
    context_.volumes.env = &env_;
    context_.volumes.mounts_dir = (root_ / "mounts").string();
    context_.volumes.volume_root = (root_ / "volumes").string();
    context_.volumes.resolve = [](const std::string& host) { return StatusOr<std::string>(host); };
    // A cgroup v1 tree of plain files: what the worker writes and reads there.
    for (const char* controller : {"memory", "cpu"})
      fs::create_directories(root_ / "cgroup" / controller);
    cgroups_ = std::make_unique<TaskCgroups>((root_ / "cgroup").string());
    context_.cgroups = cgroups_.get();
    context_.report = [this](std::string_view operation, const json::object& input) {
      {
        std::lock_guard lock(mu_);
        reports_.push_back({std::string(operation), input, clock_.NowMillis()});
      }
      clock_.Notify();  // RunUntil checks its condition again
      return true;
    };
  }

  void TearDown() override {
    workers_.clear();  // detach and join before the fakes go
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Lets the workers run, moving the fake clock on to the next deadline
  // whenever one waits for it, until pred holds. False if a worker stopped
  // without pred holding and none waits any more. No real time passes
  // except while a worker thread runs.
  template <typename Pred>
  bool RunUntil(Pred pred) {
    while (!pred()) {
      if (!clock_.AwaitWaiter(pred)) return pred();
      if (!pred()) clock_.AdvanceToNextDeadline();
    }
    return true;
  }

  bool IsMounted(const std::string& path) const { return env_.IsMounted(path); }
  std::string Rootfs(const std::string& container) {
    return context_.tasks_dir + "/" + kTaskId + "/" + container + "/rootfs";
  }

  // A task of one or more containers; definitions is the containerDefinitions
  // JSON array.
  static json::object Task(std::string_view definitions, std::string_view desired = "RUNNING") {
    json::object task{{"taskArn", kTaskArn},
                      {"clusterArn", kClusterArn},
                      {"desiredStatus", desired},
                      {"lastStatus", "PENDING"}};
    json::object td{{"family", "train"}, {"revision", 1}, {"networkMode", "none"}};
    json::array defs = json::parse(definitions).as_array();
    json::array assigned;
    for (const auto& d : defs) assigned.push_back(json::object{{"name", d.at("name")}});
    td["containerDefinitions"] = std::move(defs);
    task["taskDefinition"] = std::move(td);
    task["containers"] = std::move(assigned);
    return task;
  }
  static json::object OneContainer(std::string_view extra = "") {
    std::string def = R"({"name":"main","image":"registry.example:5000/train:1","essential":true)";
    if (!extra.empty()) def += std::string(",") + std::string(extra);
    def += "}";
    return Task("[" + def + "]");
  }

  TaskWorker& StartWorker(json::object task) {
    workers_.push_back(std::make_unique<TaskWorker>(context_, std::move(task)));
    return *workers_.back();
  }

  std::vector<ReportCall> Reports() {
    std::lock_guard lock(mu_);
    return reports_;
  }
  std::vector<json::object> TaskReports(std::string_view status = "") {
    std::vector<json::object> out;
    for (const auto& r : Reports()) {
      if (r.operation != "SubmitTaskStateChange") continue;
      if (!status.empty() && r.input.at("status").as_string() != status) continue;
      out.push_back(r.input);
    }
    return out;
  }
  std::vector<json::object> ContainerReports() {
    std::vector<json::object> out;
    for (const auto& r : Reports()) {
      if (r.operation == "SubmitContainerStateChange") out.push_back(r.input);
    }
    return out;
  }
  // Runs until the worker reported STOPPED, then until its thread ended.
  bool WaitForStopped(TaskWorker& w) {
    if (!RunUntil([&] { return !TaskReports("STOPPED").empty(); })) return false;
    w.Join();
    return w.done();
  }
  static std::vector<std::string> Statuses(const std::vector<json::object>& reports) {
    std::vector<std::string> out;
    for (const auto& r : reports) out.emplace_back(r.at("status").as_string());
    return out;
  }
  static const json::object& ContainerIn(const json::object& report, std::string_view name) {
    for (const auto& c : report.at("containers").as_array()) {
      if (c.as_object().at("containerName").as_string() == name) return c.as_object();
    }
    ADD_FAILURE() << "no container " << name << " in " << json::serialize(report);
    static json::object none;
    return none;
  }
  json::object StateJson() {
    std::ifstream in(context_.tasks_dir + "/" + kTaskId + "/state.json");
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str()).as_object();
  }

  // What state.json keeps of a container's runs (restart policies).
  json::object Run(std::string_view container) {
    return StateJson().at("runs").as_object().at(container).as_object();
  }
  int64_t StartedAt(std::string_view container) {
    return Run(container).at("startedAt").as_int64();
  }
  // The container exits with code at `at` on the fake clock (which moves
  // there when it is behind), as conmon's exit file dates it.
  void ExitAt(std::string_view container, int code, int64_t at) {
    if (clock_.NowMillis() < at) clock_.Set(at);
    runtime_.SetExited(Id(std::string(container)), code, false, at);
  }
  // A task whose one container has the given restartPolicy JSON.
  static json::object WithRestartPolicy(std::string_view policy) {
    return OneContainer(R"("restartPolicy":)" + std::string(policy));
  }

  fs::path root_;
  FakeClock clock_{kStartMillis};
  // Real files under root_, mounts only recorded, time only as the test moves it.
  FaultInjectionEnv env_{Env::Default(), &clock_};
  FakeImageStore images_;
  FakeRuntime runtime_{clock_};
  std::unique_ptr<VolumeMounts> mounts_;
  std::unique_ptr<TaskCgroups> cgroups_;
  WorkerContext context_;
  std::mutex mu_;
  std::vector<ReportCall> reports_;
  std::unique_ptr<ContainerEndpoints> endpoints_;     // when a test gives the workers one
  std::vector<std::unique_ptr<TaskWorker>> workers_;  // last: destroyed first
};

TEST_F(TaskWorkerTest, EssentialContainerExitStopsTheTask) {
  TaskWorker& w = StartWorker(OneContainer());
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("main")));
  EXPECT_THAT(images_.pulls(), ElementsAre("registry.example:5000/train:1"));
  json::object running = TaskReports("RUNNING")[0];
  EXPECT_EQ(running.at("task").as_string(), kTaskArn);
  EXPECT_EQ(running.at("cluster").as_string(), kClusterArn);
  EXPECT_EQ(ContainerIn(running, "main").at("status").as_string(), "RUNNING");
  EXPECT_EQ(ContainerIn(running, "main").at("runtimeId").as_string(), Id("main"));
  EXPECT_TRUE(running.contains("pullStartedAt"));
  EXPECT_TRUE(running.contains("pullStoppedAt"));
  // The bundle's root is the mounted rootfs.
  auto bundle = runtime_.bundle(Id("main"));
  ASSERT_TRUE(bundle.has_value());
  EXPECT_THAT(json::serialize(bundle->config), HasSubstr("/main/rootfs"));
  EXPECT_TRUE(IsMounted(Rootfs("main")));

  runtime_.SetExited(Id("main"), 3);
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_THAT(Statuses(TaskReports()), ElementsAre("RUNNING", "STOPPED"));
  json::object stopped = TaskReports("STOPPED")[0];
  EXPECT_EQ(stopped.at("reason").as_string(), "Essential container in task exited");
  const json::object& main = ContainerIn(stopped, "main");
  EXPECT_EQ(main.at("status").as_string(), "STOPPED");
  EXPECT_EQ(main.at("exitCode").as_int64(), 3);
  EXPECT_EQ(main.at("imageDigest").as_string(), "sha256:" + std::string(64, 'a'));
  EXPECT_TRUE(stopped.contains("executionStoppedAt"));
  EXPECT_TRUE(ContainerReports().empty());
  EXPECT_TRUE(runtime_.kills().empty());  // it had already exited
  EXPECT_EQ(StateJson().at("phase").as_string(), "stopped");
  EXPECT_EQ(StateJson().at("reported").as_string(), "STOPPED");
  EXPECT_FALSE(IsMounted(Rootfs("main")));  // unmounted once stopped
}

TEST_F(TaskWorkerTest, NonEssentialExitIsReportedAndTheTaskKeepsRunning) {
  TaskWorker& w =
      StartWorker(Task(R"([{"name":"main","image":"registry.example:5000/train:1","essential":true},
               {"name":"sidecar","image":"registry.example:5000/log:1","essential":false}])"));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("main"), Id("sidecar")));

  runtime_.SetExited(Id("sidecar"), 1);
  ASSERT_TRUE(RunUntil([&] { return !ContainerReports().empty(); }));
  json::object change = ContainerReports()[0];
  EXPECT_EQ(change.at("containerName").as_string(), "sidecar");
  EXPECT_EQ(change.at("status").as_string(), "STOPPED");
  EXPECT_EQ(change.at("exitCode").as_int64(), 1);
  EXPECT_EQ(change.at("task").as_string(), kTaskArn);
  EXPECT_EQ(change.at("runtimeId").as_string(), Id("sidecar"));

  // The worker goes on watching main for several more rounds without
  // stopping the task.
  int calls = runtime_.state_calls(Id("main"));
  ASSERT_TRUE(RunUntil([&] { return runtime_.state_calls(Id("main")) >= calls + 3; }));
  EXPECT_FALSE(w.done());
  EXPECT_THAT(Statuses(TaskReports()), ElementsAre("RUNNING"));
  EXPECT_EQ(ContainerReports().size(), 1u);
  EXPECT_TRUE(runtime_.kills().empty());

  // Stopping it then reports both containers.
  w.RequestStop("Task stopped by user");
  ASSERT_TRUE(WaitForStopped(w));
  json::object stopped = TaskReports("STOPPED")[0];
  EXPECT_EQ(stopped.at("reason").as_string(), "Task stopped by user");
  EXPECT_EQ(ContainerIn(stopped, "sidecar").at("exitCode").as_int64(), 1);
  EXPECT_EQ(ContainerIn(stopped, "main").at("exitCode").as_int64(), 128 + SIGTERM);
  EXPECT_EQ(ContainerReports().size(), 1u);
}

TEST_F(TaskWorkerTest, RequestStopSendsSigtermThenSigkillAfterStopTimeout) {
  TaskWorker& w = StartWorker(OneContainer(R"("stopTimeout":1)"));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  runtime_.IgnoreSigterm(Id("main"));

  w.RequestStop("Task stopped by user");
  ASSERT_TRUE(WaitForStopped(w));
  auto kills = runtime_.kills();
  ASSERT_GE(kills.size(), 2u);
  EXPECT_EQ(kills.front().id, Id("main"));
  EXPECT_EQ(kills.front().signal, SIGTERM);
  EXPECT_EQ(kills.back().signal, SIGKILL);
  for (size_t i = 1; i < kills.size(); ++i) EXPECT_EQ(kills[i].signal, SIGKILL);
  // SIGKILL only once the stop timeout (1 s) has passed on the worker's clock.
  EXPECT_GE(kills.back().at_millis - kills.front().at_millis, 950);
  EXPECT_LT(kills.back().at_millis - kills.front().at_millis, 5000);

  EXPECT_THAT(Statuses(TaskReports()), ElementsAre("RUNNING", "STOPPED"));
  json::object stopped = TaskReports("STOPPED")[0];
  EXPECT_EQ(stopped.at("reason").as_string(), "Task stopped by user");
  EXPECT_EQ(ContainerIn(stopped, "main").at("exitCode").as_int64(), 128 + SIGKILL);
}

TEST_F(TaskWorkerTest, FailedPullStopsTheTaskWithoutStarting) {
  images_.fail_with_ = "pull registry.example:5000/train:1: manifest unknown";
  TaskWorker& w = StartWorker(OneContainer());
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_TRUE(runtime_.starts().empty());
  EXPECT_THAT(Statuses(TaskReports()), ElementsAre("STOPPED"));
  json::object stopped = TaskReports("STOPPED")[0];
  EXPECT_THAT(std::string(stopped.at("reason").as_string()),
              StartsWith("CannotPullContainerError:"));
  EXPECT_THAT(std::string(stopped.at("reason").as_string()), HasSubstr("manifest unknown"));
  const json::object& main = ContainerIn(stopped, "main");
  EXPECT_EQ(main.at("status").as_string(), "STOPPED");
  EXPECT_THAT(std::string(main.at("reason").as_string()), StartsWith("CannotPullContainerError:"));
  EXPECT_FALSE(main.contains("runtimeId"));
  EXPECT_FALSE(main.contains("exitCode"));
}

// The task of OneContainer with its definition's member key set to value
// (JSON).
json::object WithTaskDefinitionMember(json::object task, std::string_view key,
                                      std::string_view value) {
  task["taskDefinition"].as_object()[key] = json::parse(value);
  return task;
}

TEST_F(TaskWorkerTest, AVolumeThatCannotBeMountedStopsTheTaskBeforeAnyContainer) {
  env_.Fail(FaultInjectionEnv::Op::kMount, "task-" + std::string(kTaskId) + "-b", ENODEV);
  TaskWorker& w = StartWorker(WithTaskDefinitionMember(
      OneContainer(R"("mountPoints":[{"sourceVolume":"a","containerPath":"/a"}])"), "volumes",
      R"([{"name":"a","dockerVolumeConfiguration":{"driverOpts":{"type":"tmpfs"}}},
          {"name":"b","dockerVolumeConfiguration":{"driverOpts":{"type":"tmpfs"}}}])"));
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_TRUE(runtime_.starts().empty());
  EXPECT_TRUE(images_.pulls().empty()) << "volumes come before the pull";
  json::object stopped = TaskReports("STOPPED")[0];
  EXPECT_THAT(
      std::string(stopped.at("reason").as_string()),
      AllOf(StartsWith("CannotCreateVolumeError: volume 'b': mount"), HasSubstr("No such device")));
  EXPECT_TRUE(env_.Mounts().empty()) << "volume a, mounted first, is released";
}

TEST_F(TaskWorkerTest, TaskVolumesAreBoundIntoTheContainersAndReleasedWhenTheTaskEnds) {
  TaskWorker& w = StartWorker(WithTaskDefinitionMember(
      OneContainer(R"("mountPoints":[{"sourceVolume":"scratch","containerPath":"/scratch"}])"),
      "volumes", R"([{"name":"scratch","dockerVolumeConfiguration":{
                       "driverOpts":{"type":"tmpfs","o":"size=8m"}}}])"));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  const std::string target =
      (root_ / "mounts" / ("task-" + std::string(kTaskId) + "-scratch")).string();
  EXPECT_TRUE(IsMounted(target));
  auto bundle = runtime_.bundle(Id("main"));
  ASSERT_TRUE(bundle.has_value());
  EXPECT_THAT(json::serialize(bundle->config.at("mounts")),
              HasSubstr(R"("destination":"/scratch","type":"bind","source":")" + target + "\""));
  runtime_.SetExited(Id("main"), 0);
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_FALSE(IsMounted(target));
}

TEST_F(TaskWorkerTest, TheTaskMemoryLimitIsOnTheTaskCgroupAndItsOomStopsTheTask) {
  TaskWorker& w = StartWorker(WithTaskDefinitionMember(OneContainer(), "memory", R"("64")"));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  const fs::path task_cgroup = root_ / "cgroup" / "memory" / "berth" / kTaskId;
  std::ifstream limit(task_cgroup / "memory.limit_in_bytes");
  std::string bytes((std::istreambuf_iterator<char>(limit)), {});
  EXPECT_EQ(bytes, "67108864");
  EXPECT_EQ(runtime_.bundle(Id("main"))->config.at("linux").at("cgroupsPath").as_string(),
            "/berth/" + std::string(kTaskId) + "/main");
  // What the kernel shows after the task's limit was reached: the charge
  // failed at the task's cgroup, and a process of main was killed.
  fs::create_directories(task_cgroup / "main");
  std::ofstream(task_cgroup / "memory.failcnt") << "7\n";
  std::ofstream(task_cgroup / "main" / "memory.failcnt") << "0\n";
  std::ofstream(task_cgroup / "main" / "memory.oom_control")
      << "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n";
  runtime_.SetExited(Id("main"), 137);
  ASSERT_TRUE(WaitForStopped(w));
  json::object stopped = TaskReports("STOPPED")[0];
  EXPECT_EQ(stopped.at("reason").as_string(),
            "OutOfMemoryError: the task's containers together reached its memory limit of 64 "
            "MiB; container 'main' was killed");
  EXPECT_EQ(ContainerIn(stopped, "main").at("reason").as_string(),
            "OutOfMemoryError: Container killed due to memory usage");
}

TEST_F(TaskWorkerTest, BundleErrorStopsTheTaskWithCannotStartContainerError) {
  TaskWorker& w = StartWorker(
      OneContainer(R"("ulimits":[{"name":"nofile","softLimit":1024,"hardLimit":2000000}])"));
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_TRUE(runtime_.starts().empty());
  EXPECT_THAT(Statuses(TaskReports()), ElementsAre("STOPPED"));
  json::object stopped = TaskReports("STOPPED")[0];
  std::string reason(stopped.at("reason").as_string());
  EXPECT_THAT(reason, StartsWith("CannotStartContainerError:"));
  EXPECT_THAT(reason, HasSubstr("nofile hard limit 2000000 is above the host's 1048576"));
  const json::object& main = ContainerIn(stopped, "main");
  EXPECT_THAT(std::string(main.at("reason").as_string()), StartsWith("CannotStartContainerError:"));
  EXPECT_FALSE(main.contains("runtimeId"));
  // Nothing was recorded as started, so a restarted agent would not adopt it.
  EXPECT_TRUE(StateJson().at("started").as_object().empty());
}

TEST_F(TaskWorkerTest, OomKilledContainerIsReportedAsOutOfMemory) {
  TaskWorker& w = StartWorker(OneContainer());
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  runtime_.SetExited(Id("main"), 137, /*oom=*/true);
  ASSERT_TRUE(WaitForStopped(w));
  json::object stopped = TaskReports("STOPPED")[0];
  EXPECT_EQ(stopped.at("reason").as_string(), "Essential container in task exited");
  const json::object& main = ContainerIn(stopped, "main");
  EXPECT_EQ(main.at("exitCode").as_int64(), 137);
  EXPECT_THAT(std::string(main.at("reason").as_string()), StartsWith("OutOfMemoryError: "));
}

TEST_F(TaskWorkerTest, RestartedWorkerAdoptsTheContainerWithoutStartingItAgain) {
  {
    TaskWorker& first = StartWorker(OneContainer());
    ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
    // state.json says RUNNING was reported only after the report returned.
    ASSERT_TRUE(RunUntil([&] {
      std::error_code ec;
      if (!fs::exists(context_.tasks_dir + "/" + kTaskId + "/state.json", ec)) return false;
      auto s = StateJson();
      auto* r = s.if_contains("reported");
      return r && r->is_string() && r->as_string() == "RUNNING";
    }));
    first.Detach();
    workers_.clear();  // joins the first worker's thread
  }
  json::object state = StateJson();
  EXPECT_EQ(state.at("started").as_object().at("main").as_string(), Id("main"));
  EXPECT_FALSE(state.contains("phase"));
  ASSERT_THAT(runtime_.starts(), ElementsAre(Id("main")));
  EXPECT_THAT(Statuses(TaskReports()), ElementsAre("RUNNING"));

  // While the agent was away the container exited.
  runtime_.SetExited(Id("main"), 7);
  TaskWorker& second = StartWorker(OneContainer());
  ASSERT_TRUE(WaitForStopped(second));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("main")));  // not started again
  EXPECT_TRUE(images_.pulls().size() == 1u);                // nor pulled again
  // RUNNING was already reported by the first worker.
  EXPECT_THAT(Statuses(TaskReports()), ElementsAre("RUNNING", "STOPPED"));
  json::object stopped = TaskReports("STOPPED")[0];
  const json::object& main = ContainerIn(stopped, "main");
  EXPECT_EQ(main.at("status").as_string(), "STOPPED");
  EXPECT_EQ(main.at("exitCode").as_int64(), 7);
  EXPECT_EQ(main.at("runtimeId").as_string(), Id("main"));
  // The exit happened while no agent watched; it still ends the task as an essential exit.
  EXPECT_EQ(stopped.at("reason").as_string(), "Essential container in task exited");
  EXPECT_TRUE(runtime_.kills().empty());
}

TEST_F(TaskWorkerTest, ANonEssentialExitWhileTheAgentWasAwayIsReportedOnceAsItsOwnChange) {
  const std::string definitions =
      R"([{"name":"main","image":"registry.example:5000/train:1","essential":true},
          {"name":"sidecar","image":"registry.example:5000/log:1","essential":false}])";
  {
    TaskWorker& first = StartWorker(Task(definitions));
    ASSERT_TRUE(RunUntil([&] {
      std::error_code ec;
      if (!fs::exists(context_.tasks_dir + "/" + kTaskId + "/state.json", ec)) return false;
      const json::object state = StateJson();
      const auto* r = state.if_contains("reported");
      return r && r->is_string() && r->as_string() == "RUNNING";
    }));
    first.Detach();
    workers_.clear();
  }
  // The sidecar exits while no agent watches; the next worker adopts the task.
  runtime_.SetExited(Id("sidecar"), 5);
  TaskWorker& second = StartWorker(Task(definitions));
  ASSERT_TRUE(RunUntil([&] { return !ContainerReports().empty(); }));
  json::object change = ContainerReports()[0];
  EXPECT_EQ(change.at("containerName").as_string(), "sidecar");
  EXPECT_EQ(change.at("status").as_string(), "STOPPED");
  EXPECT_EQ(change.at("exitCode").as_int64(), 5);
  EXPECT_EQ(change.at("runtimeId").as_string(), Id("sidecar"));
  // The task goes on: main still runs.
  int calls = runtime_.state_calls(Id("main"));
  ASSERT_TRUE(RunUntil([&] { return runtime_.state_calls(Id("main")) >= calls + 3; }));
  EXPECT_FALSE(second.done());
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("main"), Id("sidecar")));

  // A third adoption does not report the same exit again.
  second.Detach();
  workers_.clear();
  TaskWorker& third = StartWorker(Task(definitions));
  calls = runtime_.state_calls(Id("main"));
  ASSERT_TRUE(RunUntil([&] { return runtime_.state_calls(Id("main")) >= calls + 3; }));
  EXPECT_EQ(ContainerReports().size(), 1u);
  third.RequestStop("Task stopped by user");
  ASSERT_TRUE(WaitForStopped(third));
  EXPECT_EQ(ContainerIn(TaskReports("STOPPED")[0], "sidecar").at("exitCode").as_int64(), 5);
}

TEST_F(TaskWorkerTest, ContainersAreGivenTheirEndpointsAndTheirTasksStateIsPublished) {
  ContainerEndpoints::Options options;
  options.serve = false;  // no listener, no namespace: the handlers are called directly
  auto endpoints = ContainerEndpoints::Start(options);
  ASSERT_TRUE(endpoints.ok());
  endpoints_ = std::move(*endpoints);
  context_.endpoints = endpoints_.get();
  json::object task = OneContainer();
  task["taskDefinition"].as_object()["taskRoleArn"] = "arn:aws:iam::123456789012:role/trainer";
  TaskWorker& w = StartWorker(std::move(task));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));

  json::object config = runtime_.bundle(Id("main"))->config;
  std::map<std::string, std::string> env;
  for (const auto& v : config.at("process").at("env").as_array()) {
    std::string entry(v.as_string());
    env[entry.substr(0, entry.find('='))] = entry.substr(entry.find('=') + 1);
  }
  EXPECT_THAT(env["ECS_CONTAINER_METADATA_URI_V4"], HasSubstr("/v4/"));
  EXPECT_THAT(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], HasSubstr("/v2/credentials/"));
  EXPECT_EQ(env["AWS_REGION"], "us-east-1");  // the task ARN's
  // A container with a network of its own joins the namespace made for it.
  bool joined = false;
  for (const auto& ns : config.at("linux").at("namespaces").as_array()) {
    joined =
        joined || (ns.at("type") == json::value("network") && ns.as_object().contains("path") &&
                   ns.at("path").as_string().ends_with("/main/netns"));
  }
  EXPECT_TRUE(joined) << json::serialize(config.at("linux").at("namespaces"));

  // What the metadata endpoint shows follows the worker.
  http::Request request;
  request.method = "GET";
  const std::string uri = env["ECS_CONTAINER_METADATA_URI_V4"];
  request.target = uri.substr(uri.find("/v4/")) + "/task";
  json::object meta = json::parse(endpoints_->Handle(request, "").body).as_object();
  EXPECT_EQ(meta.at("TaskARN"), json::value(kTaskArn));
  EXPECT_EQ(meta.at("KnownStatus"), json::value("RUNNING"));
  EXPECT_EQ(meta.at("Containers").as_array()[0].at("KnownStatus"), json::value("RUNNING"));

  w.RequestStop("Task stopped by user");
  ASSERT_TRUE(WaitForStopped(w));
  // A stopped task's endpoints are gone.
  EXPECT_EQ(endpoints_->Handle(request, "").status, 404);
}

TEST_F(TaskWorkerTest, DesiredStoppedBeforeStartReportsStoppedWithoutStarting) {
  json::object task = OneContainer();
  task["desiredStatus"] = "STOPPED";
  task["stoppedReason"] = "Task stopped by user";
  TaskWorker& w = StartWorker(std::move(task));
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_TRUE(runtime_.starts().empty());
  EXPECT_TRUE(images_.pulls().empty());
  EXPECT_THAT(Statuses(TaskReports()), ElementsAre("STOPPED"));
  json::object stopped = TaskReports("STOPPED")[0];
  EXPECT_EQ(stopped.at("reason").as_string(), "Task stopped by user");
  const json::object& main = ContainerIn(stopped, "main");
  EXPECT_EQ(main.at("status").as_string(), "STOPPED");
  EXPECT_FALSE(main.contains("runtimeId"));
}

// state.json is how a restarted agent knows what it started and reported; a
// write that fails (here its fsync) must leave the previous one whole.
TEST_F(TaskWorkerTest, AStateFileThatCannotBeWrittenKeepsItsPreviousContent) {
  TaskWorker& w = StartWorker(OneContainer());
  std::string state_path = context_.tasks_dir + "/" + kTaskId + "/state.json";
  ASSERT_TRUE(RunUntil([&] {
    std::error_code ec;
    if (!fs::exists(state_path, ec)) return false;
    json::object state = StateJson();  // r points into it
    auto* r = state.if_contains("reported");
    return r && r->is_string() && r->as_string() == "RUNNING";
  }));
  env_.Fail(FaultInjectionEnv::Op::kAppend, "state.json", ENOSPC);  // a full disk

  runtime_.SetExited(Id("main"), 0);
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_THAT(Statuses(TaskReports()), ElementsAre("RUNNING", "STOPPED"));
  json::object state = StateJson();
  EXPECT_EQ(state.at("reported").as_string(), "RUNNING");
  EXPECT_FALSE(state.contains("phase"));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(context_.tasks_dir + "/" + kTaskId)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ElementsAre("assignment.json", "main", "state.json"))
      << "no temporary file left behind";
}

// Three containers whose names sort against their start order: c-init runs
// first and must succeed, b-db starts after it, a-app after b-db started.
constexpr char kChain[] = R"([
  {"name":"a-app","image":"registry.example:5000/app:1","essential":true,
   "dependsOn":[{"containerName":"b-db","condition":"START"}]},
  {"name":"b-db","image":"registry.example:5000/db:1","essential":true,
   "dependsOn":[{"containerName":"c-init","condition":"SUCCESS"}]},
  {"name":"c-init","image":"registry.example:5000/init:1","essential":false}])";

// b-db has a health check (every 5 s, 2 retries); a-app waits for it to be
// HEALTHY, at most db_start_timeout seconds (b-db's startTimeout; 0: none).
std::string HealthyPair(int db_start_timeout = 0) {
  std::string timeout =
      db_start_timeout > 0 ? R"("startTimeout":)" + std::to_string(db_start_timeout) + "," : "";
  return R"([
  {"name":"a-app","image":"registry.example:5000/app:1","essential":true,
   "dependsOn":[{"containerName":"b-db","condition":"HEALTHY"}]},
  {"name":"b-db","image":"registry.example:5000/db:1","essential":true,)" +
         timeout + R"(
   "healthCheck":{"command":["CMD-SHELL","pg_isready"],"interval":5,"retries":2}}])";
}

TEST_F(TaskWorkerTest, ContainersStartInDependencyOrderAndTheTaskRunsOnceAllStarted) {
  TaskWorker& w = StartWorker(Task(kChain));
  ASSERT_TRUE(RunUntil([&] { return !runtime_.starts().empty(); }));
  // Only c-init runs while it has not exited: the task is still PENDING.
  int calls = runtime_.state_calls(Id("c-init"));
  ASSERT_TRUE(RunUntil([&] { return runtime_.state_calls(Id("c-init")) >= calls + 3; }));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("c-init")));
  EXPECT_TRUE(TaskReports().empty());

  runtime_.SetExited(Id("c-init"), 0);
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("c-init"), Id("b-db"), Id("a-app")));
  json::object running = TaskReports("RUNNING")[0];
  EXPECT_EQ(ContainerIn(running, "c-init").at("exitCode").as_int64(), 0);
  EXPECT_EQ(ContainerIn(running, "a-app").at("status").as_string(), "RUNNING");
  EXPECT_FALSE(w.done());
}

TEST_F(TaskWorkerTest, AFailedSuccessDependencyStopsTheTaskNamingItAndItsExitCode) {
  TaskWorker& w = StartWorker(Task(kChain));
  ASSERT_TRUE(RunUntil([&] { return !runtime_.starts().empty(); }));
  runtime_.SetExited(Id("c-init"), 3);
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("c-init")));
  EXPECT_THAT(Statuses(TaskReports()), ElementsAre("STOPPED"));
  std::string reason(TaskReports("STOPPED")[0].at("reason").as_string());
  EXPECT_THAT(reason, HasSubstr("'c-init'"));
  EXPECT_THAT(reason, HasSubstr("exited with code 3"));
  EXPECT_THAT(reason, HasSubstr("SUCCESS"));
}

struct ConditionCase {
  const char* condition;
  int exit_code;  // of the dependency, a non-essential container
  bool dependent_starts;
};

class DependencyConditionTest : public TaskWorkerTest,
                                public ::testing::WithParamInterface<ConditionCase> {};

TEST_P(DependencyConditionTest, TheDependentStartsOnlyWhenTheConditionHolds) {
  const ConditionCase& c = GetParam();
  TaskWorker& w = StartWorker(Task(R"([
    {"name":"main","image":"registry.example:5000/app:1","essential":true,
     "dependsOn":[{"containerName":"prep","condition":")" +
                                   std::string(c.condition) + R"("}]},
    {"name":"prep","image":"registry.example:5000/prep:1","essential":false}])"));
  ASSERT_TRUE(RunUntil([&] { return !runtime_.starts().empty(); }));
  runtime_.SetExited(Id("prep"), c.exit_code);
  if (c.dependent_starts) {
    ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
    EXPECT_THAT(runtime_.starts(), ElementsAre(Id("prep"), Id("main")));
  } else {
    ASSERT_TRUE(WaitForStopped(w));
    EXPECT_THAT(runtime_.starts(), ElementsAre(Id("prep")));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Conditions, DependencyConditionTest,
    ::testing::Values(ConditionCase{"COMPLETE", 0, true}, ConditionCase{"COMPLETE", 7, true},
                      ConditionCase{"SUCCESS", 0, true}, ConditionCase{"SUCCESS", 7, false}),
    [](const auto& info) {
      return std::string(info.param.condition) + "AfterExit" + std::to_string(info.param.exit_code);
    });

// What the log server asks: a container not started yet (waiting for its
// dependency) may still run, so its empty log is not complete; once the
// task stopped without starting it, it never will.
TEST_F(TaskWorkerTest, AContainerWaitingToStartMayStillRunUntilTheTaskStops) {
  TaskWorker& w = StartWorker(Task(R"([
    {"name":"main","image":"registry.example:5000/app:1","essential":true,
     "dependsOn":[{"containerName":"prep","condition":"SUCCESS"}]},
    {"name":"prep","image":"registry.example:5000/prep:1","essential":false}])"));
  ASSERT_TRUE(RunUntil([&] { return !runtime_.starts().empty(); }));
  EXPECT_TRUE(w.MayStillRun("main"));
  EXPECT_FALSE(w.MayStillRun("prep")) << "started: the runtime's state tells";
  runtime_.SetExited(Id("prep"), 7);
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_FALSE(w.MayStillRun("main"));
}

TEST_F(TaskWorkerTest, AHealthyDependencyStartsItsDependentAfterTheFirstPassingCheck) {
  StartWorker(Task(HealthyPair()));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("b-db"), Id("a-app")));
  auto execs = runtime_.execs();
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].id, Id("b-db"));
  EXPECT_THAT(execs[0].argv, ElementsAre("/bin/sh", "-c", "pg_isready"));
  EXPECT_EQ(execs[0].timeout_millis, 5000);  // ECS's default timeout
  // The first check runs an interval after the start.
  EXPECT_GE(execs[0].at_millis - kStartMillis, 5000);
  json::object running = TaskReports("RUNNING")[0];
  EXPECT_EQ(ContainerIn(running, "b-db").at("healthStatus").as_string(), "HEALTHY");
  EXPECT_EQ(ContainerIn(running, "a-app").at("healthStatus").as_string(), "UNKNOWN");
  EXPECT_EQ(running.at("healthStatus").as_string(), "HEALTHY");
}

TEST_F(TaskWorkerTest, AnUnhealthyDependencyStopsTheTask) {
  runtime_.SetExecResult(Id("b-db"), 1);
  TaskWorker& w = StartWorker(Task(HealthyPair()));
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("b-db")));
  std::string reason(TaskReports("STOPPED")[0].at("reason").as_string());
  EXPECT_THAT(reason, HasSubstr("'b-db'"));
  EXPECT_THAT(reason, HasSubstr("UNHEALTHY"));
  EXPECT_EQ(runtime_.execs().size(), 2u);  // retries: 2
}

TEST_F(TaskWorkerTest, StartTimeoutStopsTheTaskNamingTheDependency) {
  runtime_.SetExecResult(Id("b-db"), 0, /*timed_out=*/true);  // a timeout is a failure
  TaskWorker& w = StartWorker(Task(HealthyPair(/*db_start_timeout=*/7)));
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("b-db")));
  json::object stopped = TaskReports("STOPPED")[0];
  std::string reason(stopped.at("reason").as_string());
  EXPECT_THAT(reason, HasSubstr("Dependency 'b-db' of container 'a-app' (condition HEALTHY)"));
  EXPECT_THAT(reason, HasSubstr("startTimeout of 7s"));
  EXPECT_GE(stopped.at("executionStoppedAt").as_double() * 1000 - kStartMillis, 7000);
}

TEST_F(TaskWorkerTest, ContainersStopInReverseDependencyOrder) {
  TaskWorker& w = StartWorker(Task(R"([
    {"name":"a-db","image":"registry.example:5000/db:1","essential":true,"stopTimeout":2},
    {"name":"b-app","image":"registry.example:5000/app:1","essential":true,"stopTimeout":2,
     "dependsOn":[{"containerName":"a-db","condition":"START"}]}])"));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("a-db"), Id("b-app")));
  runtime_.IgnoreSigterm(Id("b-app"));
  w.RequestStop("Task stopped by user");
  ASSERT_TRUE(WaitForStopped(w));
  auto kills = runtime_.kills();
  ASSERT_GE(kills.size(), 3u);
  EXPECT_EQ(kills.front().id, Id("b-app"));
  EXPECT_EQ(kills.front().signal, SIGTERM);
  // a-db gets its SIGTERM only once b-app is gone (after its SIGKILL).
  auto db =
      std::find_if(kills.begin(), kills.end(), [](const auto& k) { return k.id == Id("a-db"); });
  ASSERT_NE(db, kills.end());
  EXPECT_EQ(db->signal, SIGTERM);
  EXPECT_GE(db->at_millis - kills.front().at_millis, 2000);
  EXPECT_EQ(kills.back().id, Id("a-db"));
}

TEST_F(TaskWorkerTest, HealthIsReportedAsItChangesWithStartPeriodAndRetries) {
  runtime_.SetExecResult(Id("main"), 1);
  TaskWorker& w = StartWorker(OneContainer(
      R"("healthCheck":{"command":["CMD","check","--ready"],"interval":5,"timeout":2,
         "retries":2,"startPeriod":12})"));
  auto last_health = [&] {
    auto reports = TaskReports("RUNNING");
    return reports.empty() ? std::string()
                           : std::string(reports.back().at("healthStatus").as_string());
  };
  ASSERT_TRUE(RunUntil([&] { return last_health() == "UNHEALTHY"; }));
  json::object unhealthy = TaskReports("RUNNING").back();
  EXPECT_EQ(ContainerIn(unhealthy, "main").at("healthStatus").as_string(), "UNHEALTHY");
  EXPECT_EQ(TaskReports("RUNNING")[0].at("healthStatus").as_string(), "UNKNOWN");
  auto execs = runtime_.execs();
  EXPECT_THAT(execs[0].argv, ElementsAre("check", "--ready"));
  EXPECT_EQ(execs[0].timeout_millis, 2000);
  // Failures in the first 12 s do not count: two more after it are needed.
  int64_t at = 0;
  for (const auto& r : Reports()) {
    if (r.input.contains("healthStatus") && r.input.at("healthStatus") == "UNHEALTHY") {
      at = r.at_millis;
      break;
    }
  }
  EXPECT_GE(at - kStartMillis, 12000 + 5000);
  int counted = 0;
  for (const auto& e : execs) counted += e.at_millis - kStartMillis >= 12000 ? 1 : 0;
  EXPECT_EQ(counted, 2);

  runtime_.SetExecResult(Id("main"), 0);
  ASSERT_TRUE(RunUntil([&] { return last_health() == "HEALTHY"; }));
  EXPECT_EQ(ContainerIn(TaskReports("RUNNING").back(), "main").at("healthStatus").as_string(),
            "HEALTHY");
  // Health alone does not stop a task run outside a service.
  EXPECT_FALSE(w.done());
  EXPECT_TRUE(runtime_.kills().empty());
}
constexpr char kRestartAfterAMinute[] = R"({"enabled":true,"restartAttemptPeriod":60})";

TEST_F(TaskWorkerTest, RestartPolicyRestartsTheContainerInPlaceOnceItRanForThePeriod) {
  TaskWorker& w = StartWorker(WithRestartPolicy(kRestartAfterAMinute));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  EXPECT_EQ(ContainerIn(TaskReports("RUNNING")[0], "main").at("restartCount").as_int64(), 0);
  EXPECT_TRUE(w.MayStillRun("main"));

  // Exactly one period after its start counts as long enough.
  const int64_t started = StartedAt("main");
  ExitAt("main", 2, started + 60'000);
  ASSERT_TRUE(RunUntil([&] { return TaskReports("RUNNING").size() == 2; }));
  EXPECT_THAT(runtime_.restarts(), ElementsAre(Id("main")));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("main")));  // the same container, restarted
  json::object again = ContainerIn(TaskReports("RUNNING")[1], "main");
  EXPECT_EQ(again.at("status").as_string(), "RUNNING");
  EXPECT_EQ(again.at("restartCount").as_int64(), 1);
  EXPECT_EQ(again.at("runtimeId").as_string(), Id("main"));
  EXPECT_FALSE(again.contains("exitCode"));
  EXPECT_FALSE(w.done());
  EXPECT_TRUE(ContainerReports().empty());
  EXPECT_TRUE(runtime_.kills().empty());
  EXPECT_TRUE(IsMounted(Rootfs("main")));  // its root file system (and upper layer) stays
  EXPECT_EQ(Run("main").at("restartCount").as_int64(), 1);
  EXPECT_GE(StartedAt("main"), started + 60'000);
  EXPECT_TRUE(w.MayStillRun("main"));

  // The period counts again from the restart: an exit a moment short of it is final.
  ExitAt("main", 3, StartedAt("main") + 59'999);
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_THAT(runtime_.restarts(), ElementsAre(Id("main")));
  json::object stopped = TaskReports("STOPPED")[0];
  EXPECT_EQ(stopped.at("reason").as_string(), "Essential container in task exited");
  EXPECT_EQ(ContainerIn(stopped, "main").at("exitCode").as_int64(), 3);
  EXPECT_EQ(ContainerIn(stopped, "main").at("restartCount").as_int64(), 1);
  EXPECT_TRUE(Run("main").at("exitFinal").as_bool());
  EXPECT_FALSE(w.MayStillRun("main"));
}

TEST_F(TaskWorkerTest, AnIgnoredExitCodeIsNotRestarted) {
  TaskWorker& w = StartWorker(
      WithRestartPolicy(R"({"enabled":true,"ignoredExitCodes":[0],"restartAttemptPeriod":60})"));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  ExitAt("main", 0, StartedAt("main") + 600'000);
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_TRUE(runtime_.restarts().empty());
  json::object stopped = TaskReports("STOPPED")[0];
  EXPECT_EQ(ContainerIn(stopped, "main").at("exitCode").as_int64(), 0);
  EXPECT_EQ(ContainerIn(stopped, "main").at("restartCount").as_int64(), 0);
}

TEST_F(TaskWorkerTest, AnExitBeforeTheDefaultPeriodIsNotRestarted) {
  TaskWorker& w = StartWorker(WithRestartPolicy(R"({"enabled":true})"));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  ExitAt("main", 1, StartedAt("main") + 299'999);  // ECS's default period is 300 s
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_TRUE(runtime_.restarts().empty());
  EXPECT_EQ(TaskReports("STOPPED")[0].at("reason").as_string(),
            "Essential container in task exited");
}

TEST_F(TaskWorkerTest, WithoutAPolicyNothingIsRestartedOrCounted) {
  TaskWorker& w = StartWorker(OneContainer());
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  EXPECT_FALSE(w.MayStillRun("main"));
  ExitAt("main", 1, StartedAt("main") + 3'600'000);
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_TRUE(runtime_.restarts().empty());
  EXPECT_FALSE(ContainerIn(TaskReports("STOPPED")[0], "main").contains("restartCount"));
}

TEST_F(TaskWorkerTest, AFailedRestartIsTheContainersFinalExit) {
  runtime_.FailRestarts("runc create: no space left on device");
  TaskWorker& w = StartWorker(WithRestartPolicy(kRestartAfterAMinute));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  ExitAt("main", 1, StartedAt("main") + 61'000);
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_THAT(runtime_.restarts(), ElementsAre(Id("main")));
  json::object stopped = TaskReports("STOPPED")[0];
  EXPECT_EQ(stopped.at("reason").as_string(), "Essential container in task exited");
  const json::object& main = ContainerIn(stopped, "main");
  EXPECT_EQ(main.at("exitCode").as_int64(), 1);
  EXPECT_THAT(std::string(main.at("reason").as_string()),
              AllOf(StartsWith("CannotStartContainerError:"), HasSubstr("no space left")));
  EXPECT_EQ(main.at("restartCount").as_int64(), 0);
}

TEST_F(TaskWorkerTest, AStoppedTasksContainersAreNotRestarted) {
  TaskWorker& w = StartWorker(WithRestartPolicy(kRestartAfterAMinute));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  clock_.Advance(120'000);
  w.RequestStop("Task stopped by user");
  EXPECT_FALSE(w.MayStillRun("main"));
  ASSERT_TRUE(WaitForStopped(w));
  EXPECT_TRUE(runtime_.restarts().empty());
  EXPECT_EQ(ContainerIn(TaskReports("STOPPED")[0], "main").at("exitCode").as_int64(),
            128 + SIGTERM);
}

// A non-essential container restarted in place never counts as stopped:
// no container state change, and what waits for it to COMPLETE keeps waiting.
TEST_F(TaskWorkerTest, ARestartedContainerKeepsWhatDependsOnItWaiting) {
  TaskWorker& w = StartWorker(Task(R"([
  {"name":"app","image":"registry.example:5000/app:1","essential":true,
   "dependsOn":[{"containerName":"prep","condition":"COMPLETE"}]},
  {"name":"prep","image":"registry.example:5000/prep:1","essential":false,
   "restartPolicy":{"enabled":true,"restartAttemptPeriod":60}}])"));
  ASSERT_TRUE(RunUntil([&] { return !runtime_.starts().empty(); }));
  ExitAt("prep", 1, StartedAt("prep") + 90'000);
  ASSERT_TRUE(RunUntil([&] { return !runtime_.restarts().empty(); }));
  int calls = runtime_.state_calls(Id("prep"));
  ASSERT_TRUE(RunUntil([&] { return runtime_.state_calls(Id("prep")) >= calls + 3; }));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("prep")));
  EXPECT_TRUE(ContainerReports().empty());
  EXPECT_TRUE(TaskReports().empty());  // still PENDING: app has not started

  // Its next exit comes too soon: final, reported, and app starts.
  ExitAt("prep", 0, StartedAt("prep") + 10'000);
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("prep"), Id("app")));
  ASSERT_EQ(ContainerReports().size(), 1u);
  EXPECT_EQ(ContainerReports()[0].at("exitCode").as_int64(), 0);
  EXPECT_EQ(ContainerReports()[0].at("restartCount").as_int64(), 1);
  EXPECT_EQ(ContainerIn(TaskReports("RUNNING")[0], "prep").at("restartCount").as_int64(), 1);
  EXPECT_FALSE(w.done());
}

TEST_F(TaskWorkerTest, AnAdoptingWorkerKeepsTheRestartCountAndDatesExitsByTheRuntime) {
  auto adopt_after = [&](auto&& while_away) {
    workers_.back()->Detach();
    workers_.clear();
    while_away();
    return &StartWorker(WithRestartPolicy(kRestartAfterAMinute));
  };
  StartWorker(WithRestartPolicy(kRestartAfterAMinute));
  ASSERT_TRUE(RunUntil([&] { return !TaskReports("RUNNING").empty(); }));
  ExitAt("main", 1, StartedAt("main") + 61'000);
  ASSERT_TRUE(RunUntil([&] { return TaskReports("RUNNING").size() == 2; }));
  const int64_t restarted_at = StartedAt("main");

  // While no agent watches, it runs long enough and exits: the next
  // worker restarts it, counting on from 1.
  TaskWorker* w = adopt_after([&] { ExitAt("main", 1, restarted_at + 70'000); });
  ASSERT_TRUE(RunUntil([&] { return TaskReports("RUNNING").size() == 3; }));
  EXPECT_THAT(runtime_.restarts(), ElementsAre(Id("main"), Id("main")));
  EXPECT_EQ(ContainerIn(TaskReports("RUNNING")[2], "main").at("restartCount").as_int64(), 2);
  EXPECT_THAT(runtime_.starts(), ElementsAre(Id("main")));

  // It exits 5 s into its run and the agent comes back an hour later: the
  // exit is dated by the runtime, so it was too soon.
  const int64_t third_start = StartedAt("main");
  w = adopt_after([&] {
    runtime_.SetExited(Id("main"), 4, false, third_start + 5'000);
    clock_.Advance(3'600'000);
  });
  ASSERT_TRUE(WaitForStopped(*w));
  EXPECT_EQ(runtime_.restarts().size(), 2u);
  json::object main = ContainerIn(TaskReports("STOPPED")[0], "main");
  EXPECT_EQ(main.at("exitCode").as_int64(), 4);
  EXPECT_EQ(main.at("restartCount").as_int64(), 2);
}

}  // namespace
}  // namespace berth::agent
