#include "agent/volume_mounts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>

#include <cerrno>
#include <filesystem>

#include "common/fault_injection_env.h"

namespace berth::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Op = FaultInjectionEnv::Op;

const MountSpec kNfs{"nfs4", "files:/ckpt", 0, "addr=10.0.0.2,vers=4.1"};

class VolumeMountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/berth-volume-mounts-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    env_.UseFakeMounts();
    target_ = (root_ / "mounts" / "efs-fs-1").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::unique_ptr<VolumeMounts> Open(const std::string& boot = "boot-1") {
    auto m = VolumeMounts::Open({&env_, (root_ / "mounts.json").string(), boot});
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? std::move(*m) : nullptr;
  }

  fs::path root_;
  std::string target_;
  FaultInjectionEnv env_{Env::Default()};
};

TEST_F(VolumeMountsTest, TheLastUserUnmounts) {
  auto mounts = Open();
  ASSERT_TRUE(mounts->Acquire("task-a", target_, kNfs, true).ok());
  ASSERT_TRUE(mounts->Acquire("task-b", target_, kNfs, true).ok());
  ASSERT_TRUE(mounts->Acquire("task-b", target_, kNfs, true).ok());  // again: no change
  EXPECT_EQ(env_.calls(Op::kMount), 1);
  EXPECT_THAT(mounts->Users(target_), ElementsAre("task-a", "task-b"));
  ASSERT_TRUE(mounts->Release("task-a").ok());
  EXPECT_TRUE(env_.IsMounted(target_));
  ASSERT_TRUE(mounts->Release("task-b").ok());
  EXPECT_FALSE(env_.IsMounted(target_));
  EXPECT_FALSE(fs::exists(target_)) << "the agent's own mount point goes with the mount";
}

TEST_F(VolumeMountsTest, TheCountSurvivesARestart) {
  ASSERT_TRUE(Open()->Acquire("task-a", target_, kNfs, true).ok());
  ASSERT_TRUE(Open()->Acquire("task-b", target_, kNfs, true).ok());
  EXPECT_EQ(env_.calls(Op::kMount), 1) << "the second agent found it mounted";
  auto mounts = Open();
  EXPECT_THAT(mounts->Users(target_), ElementsAre("task-a", "task-b"));
  // task-b ended while no agent ran: only task-a is adopted.
  ASSERT_TRUE(mounts->Retain({"task-a"}).ok());
  EXPECT_THAT(mounts->Users(target_), ElementsAre("task-a"));
  EXPECT_TRUE(env_.IsMounted(target_));
  ASSERT_TRUE(mounts->Retain({}).ok());
  EXPECT_FALSE(env_.IsMounted(target_));
  EXPECT_THAT(Open()->Users(target_), IsEmpty());
}

TEST_F(VolumeMountsTest, AfterARebootTheMountIsMadeAgain) {
  ASSERT_TRUE(Open("boot-1")->Acquire("task-a", target_, kNfs, true).ok());
  env_.Unmount(target_, false).ok();  // what a reboot does
  ASSERT_TRUE(Open("boot-2")->Acquire("task-b", target_, kNfs, true).ok());
  EXPECT_TRUE(env_.IsMounted(target_));
}

TEST_F(VolumeMountsTest, AFailedMountCountsNoUserAndLeavesNothing) {
  auto mounts = Open();
  env_.Fail(Op::kMount, "efs-fs-1", ENODEV, 1);
  Status s = mounts->Acquire("task-a", target_, kNfs, true);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), ::testing::HasSubstr("No such device"));
  EXPECT_THAT(mounts->Users(target_), IsEmpty());
  EXPECT_FALSE(fs::exists(target_));
  EXPECT_THAT(Open()->Users(target_), IsEmpty());
}

TEST_F(VolumeMountsTest, OtherOptionsOnATargetInUseAreRefused) {
  auto mounts = Open();
  ASSERT_TRUE(mounts->Acquire("task-a", target_, kNfs, true).ok());
  MountSpec other = kNfs;
  other.data = "addr=10.0.0.3,vers=4.1";
  Status s = mounts->Acquire("task-b", target_, other, true);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(mounts->Users(target_), ElementsAre("task-a"));
}

TEST_F(VolumeMountsTest, AReadOnlyBindIsRemounted) {
  auto mounts = Open();
  MountSpec bind{"", "/srv/ckpt", MS_BIND | MS_RDONLY | MS_NOSUID, ""};
  ASSERT_TRUE(mounts->Acquire("task-a", target_, bind, false).ok());
  // A bind first, then the remount that makes it read-only.
  EXPECT_EQ(env_.calls(Op::kMount), 2);
  auto made = env_.Mounts();
  ASSERT_EQ(made.size(), 1u);
  EXPECT_EQ(made[0].flags,
            static_cast<unsigned long>(MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID));
  ASSERT_TRUE(mounts->Release("task-a").ok());
  EXPECT_TRUE(fs::exists(target_)) << "a folder the agent did not make for the mount stays";
}

TEST_F(VolumeMountsTest, ABusyMountIsDetached) {
  auto mounts = Open();
  ASSERT_TRUE(mounts->Acquire("task-a", target_, kNfs, true).ok());
  env_.Fail(Op::kUnmount, "efs-fs-1", EBUSY, 1);
  ASSERT_TRUE(mounts->Release("task-a").ok());
  EXPECT_FALSE(env_.IsMounted(target_));
}

}  // namespace
}  // namespace berth::agent
