#include "agent/image/background_sync.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/fault_injection_env.h"

namespace berth::agent {
namespace {

using ::testing::HasSubstr;
using Op = FaultInjectionEnv::Op;

class BackgroundSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-writeback-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Waits (up to 30 s) until the background thread has made n syncfs calls.
  void WaitForSyncs(int n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (env_.calls(Op::kSync) < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_GE(env_.calls(Op::kSync), n);
  }

  std::string dir_;
  FaultInjectionEnv env_{Env::Default()};
};

TEST_F(BackgroundSyncTest, SyncsOnItsOwnThreadWhenNudged) {
  BackgroundSync writeback(env_, dir_);
  writeback.Nudge();
  WaitForSyncs(1);
  writeback.Nudge();
  WaitForSyncs(2);
  EXPECT_TRUE(writeback.Finish().ok());
}

TEST_F(BackgroundSyncTest, NothingAskedNothingSynced) {
  BackgroundSync writeback(env_, dir_);
  EXPECT_TRUE(writeback.Finish().ok());
  EXPECT_EQ(env_.calls(Op::kSync), 0);
}

// The kernel tells one syncfs about a failed writeback, not the next: the
// owner's own final syncfs may succeed, so the early failure must reach it.
TEST_F(BackgroundSyncTest, KeepsTheFirstFailureForTheOwner) {
  env_.Fail(Op::kSync, dir_, EIO, 1);
  BackgroundSync writeback(env_, dir_);
  writeback.Nudge();
  WaitForSyncs(1);
  writeback.Nudge();
  WaitForSyncs(2);  // this one succeeds
  Status status = writeback.Finish();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("Input/output error"));
  EXPECT_FALSE(writeback.Finish().ok()) << "asked again, the same answer";
}

}  // namespace
}  // namespace berth::agent
