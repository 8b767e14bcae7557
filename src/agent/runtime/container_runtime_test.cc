// Real containers: runc and conmon on a busybox rootfs. Needs root (and
// skips without it, or without runc, conmon or /bin/busybox).
#include "agent/runtime/container_runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "agent/runtime/run_command.h"

namespace berth::agent {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;
using Phase = ContainerState::Phase;

constexpr const char* kSeccomp = "/usr/share/containers/seccomp.json";
constexpr const char* kTini = "/usr/bin/tini-static";

class ContainerRuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0 || !FindProgram("runc").ok() || !FindProgram("conmon").ok() ||
        !fs::exists("/bin/busybox")) {
      skip_ = true;
      return;
    }
    std::random_device rd;
    tag_ = "t" + std::to_string(getpid()) + "x" + std::to_string(rd() % 100000);
    root_ = "/tmp/berth-rt-" + tag_;
    rootfs_ = root_ + "/rootfs";
    // busybox alone, as an image: its applets are symlinks to it.
    for (const char* d : {"bin", "etc", "proc", "sys", "dev", "tmp", "home/train"}) {
      fs::create_directories(rootfs_ + "/" + d);
    }
    fs::permissions(rootfs_ + "/tmp", fs::perms::all | fs::perms::sticky_bit);
    fs::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    for (const char* a : {"sh", "echo", "cat", "sleep", "head", "tail", "id", "pwd", "env", "touch",
                          "chown", "grep", "test", "mknod", "ls", "wc", "true"}) {
      fs::create_symlink("busybox", rootfs_ + "/bin/" + a);
    }
    std::ofstream(rootfs_ + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                              "train:x:1000:1000::/home/train:/bin/sh\n";
    std::ofstream(rootfs_ + "/etc/group") << "root:x:0:\ntrain:x:1000:\n";
  }
  static void TearDownTestSuite() {
    if (skip_) return;
    std::error_code ec;
    fs::remove_all(root_, ec);
    for (const auto& e : fs::directory_iterator("/sys/fs/cgroup", ec)) {
      rmdir((e.path().string() + "/berth-test-" + tag_).c_str());
    }
  }

  void SetUp() override {
    if (skip_) GTEST_SKIP() << "needs root, runc, conmon and /bin/busybox";
    StatusOr<std::unique_ptr<ContainerRuntime>> rt = ContainerRuntime::Open(Options());
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(*rt);
  }
  void TearDown() override {
    // Also after a failed assertion: no container, conmon or cgroup stays.
    if (rt_) {
      for (const std::string& id : started_) EXPECT_TRUE(rt_->Remove(id).ok()) << id;
    }
  }

  static ContainerRuntime::Options Options() {
    ContainerRuntime::Options o;
    o.root = root_ + "/data";
    return o;
  }

  std::string Id(const std::string& name) { return tag_ + "-" + name; }

  BundleInput Input(const std::string& id, json::object& td, json::object& ctr) {
    BundleInput in;
    in.task_definition = &td;
    in.container = &ctr;
    in.rootfs = rootfs_;
    in.task_id = id;
    in.cgroups_path = "/berth-test-" + tag_ + "/" + id;
    in.devices = StatDeviceLookup();
    in.host_hard_limits = HostHardLimits();
    StatusOr<std::vector<std::string>> caps = ContainerCapabilities(ctr);
    EXPECT_TRUE(caps.ok());
    if (caps.ok() && fs::exists(kSeccomp)) {
      StatusOr<json::object> s = LoadDefaultSeccomp(kSeccomp, *caps);
      EXPECT_TRUE(s.ok()) << s.status().ToString();
      if (s.ok()) in.seccomp = *s;
    }
    return in;
  }

  Status Start(const std::string& id, const BundleInput& in) {
    StatusOr<OciBundle> b = BuildOciBundle(in);
    if (!b.ok()) return b.status();
    started_.push_back(id);
    return rt_->Start(id, *b);
  }

  // Runs `ctr` (a container definition) to its end; the exit state.
  ContainerState RunToExit(const std::string& id, const std::string& ctr_json,
                           const std::string& td_json = R"({"networkMode":"none"})",
                           std::function<void(BundleInput&)> adjust = nullptr) {
    json::object td = json::parse(td_json).as_object();
    json::object ctr = json::parse(ctr_json).as_object();
    BundleInput in = Input(id, td, ctr);
    if (adjust) adjust(in);
    Status st = Start(id, in);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return WaitFor(id, Phase::kExited);
  }

  ContainerState WaitFor(const std::string& id, Phase phase, int seconds = 30) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    ContainerState s;
    while (std::chrono::steady_clock::now() < deadline) {
      StatusOr<ContainerState> st = rt_->State(id);
      EXPECT_TRUE(st.ok()) << st.status().ToString();
      if (!st.ok()) break;
      s = *st;
      if (s.phase == phase) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << id << " did not reach phase " << static_cast<int>(phase);
    return s;
  }

  std::string Log(const std::string& id) {
    StatusOr<LogChunk> c = ReadContainerLog(rt_->LogPath(id), 0, 1 << 20);
    EXPECT_TRUE(c.ok());
    return c.ok() ? c->text : "";
  }

  static inline bool skip_ = false;
  static inline std::string tag_, root_, rootfs_;
  std::unique_ptr<ContainerRuntime> rt_;
  std::vector<std::string> started_;
};

TEST_F(ContainerRuntimeTest, ExitCodeAndLog) {
  std::string id = Id("exit");
  ContainerState s =
      RunToExit(id, R"({"command":["sh","-c","echo hello; echo oops >&2; exit 3"]})");
  EXPECT_EQ(s.exit_code, 3);
  EXPECT_FALSE(s.oom_killed);
  EXPECT_THAT(Log(id), HasSubstr("hello\n"));
  EXPECT_THAT(Log(id), HasSubstr("oops\n"));
  StatusOr<std::vector<std::string>> ids = rt_->List();
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, testing::Contains(id));
}

// conmon started ahead of the bundle (Prepare) waits for it: no container
// exists until Start, which then runs it as Start alone would.
TEST_F(ContainerRuntimeTest, APreparedStartRunsOnceItsBundleComes) {
  std::string id = Id("prepared");
  started_.push_back(id);
  StatusOr<std::unique_ptr<ContainerRuntime::PendingStart>> pending = rt_->Prepare(id);
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  std::string conmon_pid = Options().root + "/containers/" + id + "/conmon.pid";
  for (int i = 0; i < 100 && !fs::exists(conmon_pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(fs::exists(conmon_pid)) << "conmon runs before the bundle is there";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  StatusOr<ContainerState> before = rt_->State(id);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->phase, Phase::kMissing) << "runc ran before Start";

  json::object td = json::parse(R"({"networkMode":"none"})").as_object();
  json::object ctr = json::parse(R"({"command":["sh","-c","echo prepared; exit 4"]})").as_object();
  StatusOr<OciBundle> bundle = BuildOciBundle(Input(id, td, ctr));
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  Status st = (*pending)->Start(*bundle);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ContainerState s = WaitFor(id, Phase::kExited);
  EXPECT_EQ(s.exit_code, 4);
  EXPECT_THAT(Log(id), HasSubstr("prepared\n"));
}

// A start abandoned before its bundle came (its image pull failed, its task
// was stopped) leaves no conmon and no folder, and the id can start later.
TEST_F(ContainerRuntimeTest, AnAbandonedStartLeavesNothing) {
  std::string id = Id("abandoned");
  started_.push_back(id);
  std::string dir = Options().root + "/containers/" + id;
  {
    StatusOr<std::unique_ptr<ContainerRuntime::PendingStart>> pending = rt_->Prepare(id);
    ASSERT_TRUE(pending.ok()) << pending.status().ToString();
    for (int i = 0; i < 100 && !fs::exists(dir + "/conmon.pid"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::ifstream in(dir + "/conmon.pid");
    int conmon = 0;
    ASSERT_TRUE(in >> conmon);
    pending->reset();
    EXPECT_FALSE(fs::exists(dir));
    std::string stat;
    std::getline(std::ifstream("/proc/" + std::to_string(conmon) + "/stat"), stat);
    // "pid (comm) STATE ...": gone, a zombie, or another program by now.
    bool runs =
        stat.find("(conmon) ") != std::string::npos && stat.find("(conmon) Z") == std::string::npos;
    EXPECT_FALSE(runs) << "conmon " << conmon << " outlived the abandoned start";
  }
  StatusOr<std::vector<std::string>> ids = rt_->List();
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, testing::Not(testing::Contains(id)));

  EXPECT_EQ(RunToExit(id, R"({"command":["true"]})").exit_code, 0);
}

// A folder left by a start the agent died holding (no bundle, its conmon
// gone) is no obstacle; a container's own folder is.
TEST_F(ContainerRuntimeTest, OnlyAFolderNoContainerWasStartedFromIsReused) {
  std::string id = Id("leftover");
  started_.push_back(id);
  std::string dir = Options().root + "/containers/" + id;
  fs::create_directories(dir);
  std::ofstream(dir + "/conmon.pid") << "999999";
  EXPECT_EQ(RunToExit(id, R"({"command":["true"]})").exit_code, 0);

  json::object td = json::parse(R"({"networkMode":"none"})").as_object();
  json::object ctr = json::parse(R"({"command":["true"]})").as_object();
  StatusOr<OciBundle> bundle = BuildOciBundle(Input(id, td, ctr));
  ASSERT_TRUE(bundle.ok());
  Status again = rt_->Start(id, *bundle);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
}

TEST_F(ContainerRuntimeTest, RunningAcrossAgentRestartThenKilled) {
  std::string id = Id("sleep");
  json::object td = json::parse(R"({"networkMode":"none"})").as_object();
  // PID 1 ignores SIGTERM unless it handles it, so the shell traps it.
  json::object ctr =
      json::parse(R"({"command":["sh","-c","trap 'exit 143' TERM; sleep 1000 & wait"]})")
          .as_object();
  ASSERT_TRUE(Start(id, Input(id, td, ctr)).ok());
  ContainerState s = WaitFor(id, Phase::kRunning);
  EXPECT_GT(s.pid, 0);

  // A new runtime on the same folder (the agent restarted) sees it running.
  rt_.reset();
  StatusOr<std::unique_ptr<ContainerRuntime>> again = ContainerRuntime::Open(Options());
  ASSERT_TRUE(again.ok());
  rt_ = std::move(*again);
  StatusOr<ContainerState> now = rt_->State(id);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->phase, Phase::kRunning);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the trap be set
  ASSERT_TRUE(rt_->Kill(id, SIGTERM).ok());
  s = WaitFor(id, Phase::kExited);
  EXPECT_EQ(s.exit_code, 143);
  EXPECT_TRUE(rt_->Kill(id, SIGTERM).ok());  // exited is not an error
}

TEST_F(ContainerRuntimeTest, ExecRunsInsideTheContainerAndIsKilledAtItsTimeout) {
  std::string id = Id("exec");
  json::object td = json::parse(R"({"networkMode":"none"})").as_object();
  json::object ctr =
      json::parse(R"({"command":["sleep","1000"],"environment":[{"name":"WHO","value":"ctr"}]})")
          .as_object();
  ASSERT_TRUE(Start(id, Input(id, td, ctr)).ok());
  WaitFor(id, Phase::kRunning);

  StatusOr<ExecResult> ok = rt_->Exec(id, {"sh", "-c", "echo $WHO; exit 0"}, 5000);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->exit_code, 0);
  EXPECT_FALSE(ok->timed_out);
  EXPECT_THAT(ok->output, HasSubstr("ctr"));

  StatusOr<ExecResult> failed = rt_->Exec(id, {"sh", "-c", "exit 4"}, 5000);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->exit_code, 4);

  auto begin = std::chrono::steady_clock::now();
  StatusOr<ExecResult> slow = rt_->Exec(id, {"sleep", "100"}, 500);
  ASSERT_TRUE(slow.ok());
  EXPECT_TRUE(slow->timed_out);
  EXPECT_NE(slow->exit_code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(10));
  // The command itself was killed, not only the runc that waited for it.
  StatusOr<ExecResult> ps = rt_->Exec(id, {"ps"}, 5000);
  ASSERT_TRUE(ps.ok());
  EXPECT_THAT(ps->output, Not(HasSubstr("sleep 100")));
}

TEST_F(ContainerRuntimeTest, KilledFromOutside) {
  std::string id = Id("outside");
  json::object td = json::parse(R"({"networkMode":"none"})").as_object();
  json::object ctr = json::parse(R"({"command":["sleep","1000"]})").as_object();
  ASSERT_TRUE(Start(id, Input(id, td, ctr)).ok());
  ContainerState s = WaitFor(id, Phase::kRunning);
  ASSERT_GT(s.pid, 0);
  ASSERT_EQ(kill(s.pid, SIGKILL), 0);
  s = WaitFor(id, Phase::kExited);
  EXPECT_EQ(s.exit_code, 137);
  EXPECT_FALSE(s.oom_killed);
}

// The task worker asks every 200 ms whether each container still runs: a
// running one is told from conmon and /proc, without starting runc; its
// end is still seen, with its code.
TEST_F(ContainerRuntimeTest, ARunningContainersStateDoesNotRunRunc) {
  StatusOr<std::string> runc = FindProgram("runc");
  ASSERT_TRUE(runc.ok());
  // runc behind a script that writes down each of its command lines.
  std::string calls = root_ + "/runc-calls-" + Id("state");
  std::string wrapper = root_ + "/runc-logged";
  std::ofstream(wrapper) << "#!/bin/sh\necho \"$*\" >> " << calls << "\nexec " << *runc
                         << " \"$@\"\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  ContainerRuntime::Options o = Options();
  o.runc = wrapper;
  rt_.reset();
  StatusOr<std::unique_ptr<ContainerRuntime>> logged = ContainerRuntime::Open(o);
  ASSERT_TRUE(logged.ok()) << logged.status().ToString();
  rt_ = std::move(*logged);

  std::string id = Id("state");
  json::object td = json::parse(R"({"networkMode":"none"})").as_object();
  json::object ctr = json::parse(R"({"command":["sleep","1000"]})").as_object();
  ASSERT_TRUE(Start(id, Input(id, td, ctr)).ok());
  auto state_calls = [&] {
    std::ifstream in(calls);
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.find(" state ") != std::string::npos;
    return n;
  };
  int pid = 0;
  for (int i = 0; i < 5; ++i) {
    StatusOr<ContainerState> s = rt_->State(id);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->phase, Phase::kRunning);
    EXPECT_GT(s->pid, 0);
    pid = s->pid;
  }
  EXPECT_EQ(state_calls(), 0);

  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ContainerState s = WaitFor(id, Phase::kExited);
  EXPECT_EQ(s.exit_code, 137);
}

TEST_F(ContainerRuntimeTest, RestartRunsItAgainUnderTheSameIdAndLog) {
  std::string id = Id("restart");
  auto before = std::chrono::system_clock::now();
  ContainerState s = RunToExit(id, R"({"command":["sh","-c","echo run; exit 3"]})");
  EXPECT_EQ(s.exit_code, 3);
  ASSERT_TRUE(s.exited_at_millis.has_value());
  int64_t after_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  int64_t before_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count();
  EXPECT_GE(*s.exited_at_millis, before_ms - 1000);
  EXPECT_LE(*s.exited_at_millis, after_ms);

  ASSERT_TRUE(rt_->Restart(id).ok());
  s = WaitFor(id, Phase::kExited);
  EXPECT_EQ(s.exit_code, 3);
  std::string log = Log(id);
  EXPECT_EQ(log, "run\nrun\n");
}

TEST_F(ContainerRuntimeTest, RestartRefusesARunningContainer) {
  std::string id = Id("restart-running");
  json::object td = json::parse(R"({"networkMode":"none"})").as_object();
  json::object ctr = json::parse(R"({"command":["sleep","1000"]})").as_object();
  ASSERT_TRUE(Start(id, Input(id, td, ctr)).ok());
  WaitFor(id, Phase::kRunning);
  Status st = rt_->Restart(id);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  StatusOr<ContainerState> now = rt_->State(id);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->phase, Phase::kRunning);
  EXPECT_EQ(rt_->Restart(Id("never-started")).code(), StatusCode::kNotFound);
}

TEST_F(ContainerRuntimeTest, OutOfMemory) {
  std::string id = Id("oom");
  // tail keeps the whole of a line it has not seen the end of: /dev/zero
  // has no newline, so it grows until the 16 MiB limit stops it.
  // Without a swap limit the kernel may swap instead of killing.
  bool memsw = fs::exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
  ContainerState s =
      RunToExit(id,
                std::string(R"({"memory":16,"command":["sh","-c","cat /dev/zero | tail"])") +
                    (memsw ? R"(,"linuxParameters":{"maxSwap":0}})" : "}"),
                R"({})");
  EXPECT_TRUE(s.oom_killed) << "exit " << s.exit_code.value_or(-1);
  EXPECT_NE(s.exit_code, 0);
}

TEST_F(ContainerRuntimeTest, OnlyMappedDevicesAreVisible) {
  std::string id = Id("devices");
  std::string fake = root_ + "/fake-neuron0";
  ASSERT_EQ(mknod(fake.c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);  // like /dev/null
  ContainerState s =
      RunToExit(id,
                R"({"command":["sh","-c",)"
                R"("test -c /dev/neuron0 && echo x > /dev/neuron0 && echo mapped; )"
                R"(test -e /dev/neuron1 || echo no-neuron1; echo $BERTH_NEURON_DEVICES; )"
                R"(mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem || echo denied"]})",
                R"({"networkMode":"none"})", [&](BundleInput& in) {
                  in.neuron_device_ids = {0};
                  in.devices = [fake](const std::string& p) -> StatusOr<HostDevice> {
                    return StatDeviceLookup()(p == "/dev/neuron0" ? fake : p);
                  };
                });
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_THAT(Log(id), HasSubstr("mapped\nno-neuron1\n0\n"));
  // mknod is allowed (as in Docker), opening an unmapped device is not.
  EXPECT_THAT(Log(id), HasSubstr("Operation not permitted"));
  EXPECT_THAT(Log(id), HasSubstr("denied"));
}

TEST_F(ContainerRuntimeTest, DroppedCapability) {
  std::string id = Id("caps");
  ContainerState s = RunToExit(id, R"({"command":["sh","-c",
      "touch /tmp/f; chown 1 /tmp/f && echo chowned || echo refused"],
      "linuxParameters":{"capabilities":{"drop":["CHOWN"]}}})");
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_THAT(Log(id), HasSubstr("refused"));
}

TEST_F(ContainerRuntimeTest, ReadonlyRootTmpfsAndShm) {
  std::string id = Id("mounts");
  ContainerState s = RunToExit(
      id, R"({"readonlyRootFilesystem":true,"command":["sh","-c",)"
          R"("touch /x 2>/dev/null && echo wrote-root; touch /scratch/y && echo wrote-scratch; )"
          R"(grep -E ' /(scratch|dev/shm) ' /proc/mounts; cat /etc/hostname"],)"
          R"("linuxParameters":{"sharedMemorySize":32,)"
          R"("tmpfs":[{"containerPath":"/scratch","size":8}]}})");
  EXPECT_EQ(s.exit_code, 0);
  std::string log = Log(id);
  EXPECT_THAT(log, testing::Not(HasSubstr("wrote-root")));
  EXPECT_THAT(log, HasSubstr("wrote-scratch"));
  EXPECT_THAT(log, testing::ContainsRegex("tmpfs /scratch tmpfs [^ ]*size=8192k"));
  EXPECT_THAT(log, testing::ContainsRegex("shm /dev/shm tmpfs [^ ]*size=32768k"));
  EXPECT_THAT(log, HasSubstr(id.substr(0, 12) + "\n"));
}

TEST_F(ContainerRuntimeTest, ImageEnvUserAndWorkdir) {
  std::string id = Id("image");
  ContainerState s = RunToExit(
      id, R"({"command":["sh","-c","echo $FOO $BAR; id -u; id -g; pwd; cat /proc/self/limits"],
              "environment":[{"name":"BAR","value":"def"}]})",
      R"({"networkMode":"none"})", [](BundleInput& in) {
        in.image.env = {"FOO=img", "BAR=img"};
        in.image.user = "train";
        in.image.working_dir = "/home/train";
      });
  EXPECT_EQ(s.exit_code, 0);
  std::string log = Log(id);
  EXPECT_THAT(log, HasSubstr("img def\n1000\n1000\n/home/train\n"));
  uint64_t nofile = std::min<uint64_t>(HostHardLimits()["nofile"], 1048576);
  EXPECT_THAT(log, testing::ContainsRegex("Max open files +" + std::to_string(nofile)));
}

TEST_F(ContainerRuntimeTest, InitProcess) {
  if (!fs::exists(kTini)) GTEST_SKIP() << kTini << " absent (Debian package tini)";
  std::string id = Id("init");
  json::object td = json::parse(R"({"networkMode":"none"})").as_object();
  json::object ctr = json::parse(R"({"command":["sh","-c","cat /proc/1/cmdline; echo; sleep 1000"],
      "linuxParameters":{"initProcessEnabled":true}})")
                         .as_object();
  ASSERT_TRUE(Start(id, Input(id, td, ctr)).ok());
  WaitFor(id, Phase::kRunning);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(rt_->Kill(id, SIGTERM).ok());  // tini passes it on; sh is not PID 1
  ContainerState s = WaitFor(id, Phase::kExited);
  EXPECT_EQ(s.exit_code, 143);
  EXPECT_THAT(Log(id), HasSubstr("/dev/init"));
}

TEST_F(ContainerRuntimeTest, StartErrorCarriesRuncMessage) {
  std::string id = Id("bad");
  json::object td = json::parse(R"({})").as_object();
  json::object ctr = json::parse(R"({"command":["/no/such/program"]})").as_object();
  Status st = Start(id, Input(id, td, ctr));
  ASSERT_FALSE(st.ok());
  // runc's own words, without its log decoration.
  EXPECT_THAT(st.message(), testing::StartsWith("start container " + id +
                                                ": runc run failed: unable to start container"));
  EXPECT_THAT(st.message(), HasSubstr("/no/such/program"));
  EXPECT_THAT(st.message(), testing::Not(HasSubstr("level=error")));
  StatusOr<ContainerState> s = rt_->State(id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->phase, Phase::kMissing);
  StatusOr<std::vector<std::string>> ids = rt_->List();
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, testing::Not(testing::Contains(id)));
}

TEST_F(ContainerRuntimeTest, UlimitAboveHostIsRefusedBeforeRunc) {
  json::object td = json::parse(R"({})").as_object();
  uint64_t host = HostHardLimits()["nofile"];
  json::object ctr{
      {"command", json::array{"true"}},
      {"ulimits", json::array{json::object{
                      {"name", "nofile"}, {"softLimit", 1024}, {"hardLimit", host + 1}}}}};
  std::string id = Id("ulimit");
  StatusOr<OciBundle> b = BuildOciBundle(Input(id, td, ctr));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "ulimits: nofile hard limit " + std::to_string(host + 1) +
                                      " is above the host's " + std::to_string(host));
}

TEST_F(ContainerRuntimeTest, UnknownContainerIsMissing) {
  StatusOr<ContainerState> s = rt_->State(Id("never"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->phase, Phase::kMissing);
  EXPECT_TRUE(rt_->Remove(Id("never")).ok());
  EXPECT_FALSE(rt_->State("../etc").ok());
}

}  // namespace
}  // namespace berth::agent
