#include "agent/runtime/task_cgroup.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace berth::agent {
namespace {

namespace fs = std::filesystem;

constexpr char kTask[] = "0123456789abcdef";

// A fake /sys/fs/cgroup in a temporary folder: v2 (one hierarchy with
// cgroup.controllers) or v1 (one folder per controller).
class TaskCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/berth-task-cgroup-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void Write(const std::string& relative, const std::string& text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }
  std::string Read(const std::string& relative) {
    std::ifstream in(root_ / relative);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  void MakeUnified() {
    Write("cgroup.controllers", "cpuset cpu io memory pids\n");
    Write("cgroup.subtree_control", "memory pids\n");
  }
  void MakeV1() {
    for (const char* c : {"memory", "cpu", "pids"}) fs::create_directories(root_ / c);
  }
  TaskCgroups Cgroups() { return TaskCgroups(root_.string()); }

  fs::path root_;
};

TEST(TaskLimits, ReadsTheTaskSize) {
  TaskLimits l =
      TaskLimitsOf(boost::json::parse(R"({"cpu":"1 vCPU","memory":"2 GB"})").as_object());
  EXPECT_EQ(l.cpu_units, 1024);
  EXPECT_EQ(l.memory_mib, 2048);
  l = TaskLimitsOf(boost::json::parse(R"({"cpu":"512"})").as_object());
  EXPECT_EQ(l.cpu_units, 512);
  EXPECT_EQ(l.memory_mib, std::nullopt);
}

TEST_F(TaskCgroupTest, PathOfAContainerIsBelowItsTask) {
  EXPECT_EQ(TaskCgroups::CgroupsPath(kTask, "main"), "/berth/0123456789abcdef/main");
}

TEST_F(TaskCgroupTest, UnifiedSetsMemoryMaxAndCpuMaxAndEnablesTheControllers) {
  MakeUnified();
  ASSERT_TRUE(Cgroups().Create(kTask, {1536, 64}).ok());
  EXPECT_EQ(Read("berth/0123456789abcdef/memory.max"), "67108864");  // 64 MiB
  // 1536 units = 1.5 CPUs: 150000 us of every 100000.
  EXPECT_EQ(Read("berth/0123456789abcdef/cpu.max"), "150000 100000");
  // The root had memory already; cpu is added. berth/ gets both.
  EXPECT_EQ(Read("cgroup.subtree_control"), "+cpu");
  EXPECT_EQ(Read("berth/cgroup.subtree_control"), "+cpu +memory");
}

TEST_F(TaskCgroupTest, V1SetsTheLimitsInEachController) {
  MakeV1();
  ASSERT_TRUE(Cgroups().Create(kTask, {1, 128}).ok());
  EXPECT_EQ(Read("memory/berth/0123456789abcdef/memory.limit_in_bytes"), "134217728");
  EXPECT_EQ(Read("cpu/berth/0123456789abcdef/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(Read("cpu/berth/0123456789abcdef/cpu.cfs_quota_us"), "1000");  // the kernel's least
}

TEST_F(TaskCgroupTest, NoLimitsMakeNothing) {
  MakeV1();
  ASSERT_TRUE(Cgroups().Create(kTask, {}).ok());
  EXPECT_FALSE(fs::exists(root_ / "memory" / "berth"));
}

TEST_F(TaskCgroupTest, AWriteTheKernelRefusesIsAnErrorNamingTheFile) {
  MakeV1();
  fs::create_directories(root_ / "memory/berth/0123456789abcdef/memory.limit_in_bytes");
  Status s = Cgroups().Create(kTask, {std::nullopt, 64});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("memory.limit_in_bytes"), std::string::npos) << s.message();
}

TEST_F(TaskCgroupTest, UnifiedOomKillIsTracedToTheLimitReached) {
  MakeUnified();
  const std::string task = "berth/0123456789abcdef/";
  EXPECT_EQ(Cgroups().ContainerOomKill(kTask, "a"), OomKill::kUnknown);
  Write(task + "a/memory.events", "low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n");
  EXPECT_EQ(Cgroups().ContainerOomKill(kTask, "a"), OomKill::kNone);
  Write(task + "a/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  Write(task + "a/memory.events.local", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  EXPECT_EQ(Cgroups().ContainerOomKill(kTask, "a"), OomKill::kContainerLimit);
  Write(task + "a/memory.events.local", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 1\n");
  Write(task + "memory.events.local", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 0\n");
  EXPECT_EQ(Cgroups().ContainerOomKill(kTask, "a"), OomKill::kTaskLimit);
  Write(task + "memory.events.local", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
  EXPECT_EQ(Cgroups().ContainerOomKill(kTask, "a"), OomKill::kOther);
}

TEST_F(TaskCgroupTest, V1OomKillIsTracedToTheLimitReached) {
  MakeV1();
  const std::string task = "memory/berth/0123456789abcdef/";
  Write(task + "a/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  Write(task + "a/memory.failcnt", "0\n");
  Write(task + "memory.failcnt", "12\n");
  EXPECT_EQ(Cgroups().ContainerOomKill(kTask, "a"), OomKill::kTaskLimit);
  Write(task + "a/memory.failcnt", "4\n");
  EXPECT_EQ(Cgroups().ContainerOomKill(kTask, "a"), OomKill::kContainerLimit);
  Write(task + "b/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  EXPECT_EQ(Cgroups().ContainerOomKill(kTask, "b"), OomKill::kNone);
}

TEST_F(TaskCgroupTest, RemoveTakesTheTaskAndItsEmptyContainersInEveryHierarchy) {
  MakeV1();
  for (const char* c : {"memory", "cpu", "pids"}) {
    fs::create_directories(root_ / c / "berth" / kTask / "main");
  }
  fs::create_directories(root_ / "pids/berth/other/main");
  Cgroups().Remove(kTask);
  for (const char* c : {"memory", "cpu", "pids"}) {
    EXPECT_FALSE(fs::exists(root_ / c / "berth" / kTask)) << c;
  }
  EXPECT_TRUE(fs::exists(root_ / "pids/berth/other/main"));
}

}  // namespace
}  // namespace berth::agent
