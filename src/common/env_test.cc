#include "common/env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/fault_injection_env.h"

namespace berth {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Op = FaultInjectionEnv::Op;

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/berth-env-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // The names in dir_, to show that no temporary file was left behind.
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  std::string dir_;
  FaultInjectionEnv env_{Env::Default()};
};

TEST_F(EnvTest, WriteFileAtomicallyReplacesTheContent) {
  std::string path = dir_ + "/state.json";
  ASSERT_TRUE(env_.WriteFileAtomically(path, "old").ok());
  ASSERT_TRUE(env_.WriteFileAtomically(path, "new").ok());
  EXPECT_EQ(Read(path), "new");
  EXPECT_THAT(Names(), ::testing::ElementsAre("state.json"));
  EXPECT_EQ(env_.calls(Op::kSync), 2);
  EXPECT_EQ(env_.calls(Op::kSyncDir), 2);
}

TEST_F(EnvTest, AWriteThatNeedNotBeDurableIsAtomicWithoutAnFsync) {
  std::string path = dir_ + "/state.json";
  AtomicWriteOptions options;
  options.durable = false;
  ASSERT_TRUE(env_.WriteFileAtomically(path, "old", options).ok());
  ASSERT_TRUE(env_.WriteFileAtomically(path, "new", options).ok());
  EXPECT_EQ(Read(path), "new");
  EXPECT_THAT(Names(), ::testing::ElementsAre("state.json"));
  EXPECT_EQ(env_.calls(Op::kSync), 0);
  EXPECT_EQ(env_.calls(Op::kSyncDir), 0);
}

TEST_F(EnvTest, AFailedFsyncLeavesTheOldContentAndNoTemporaryFile) {
  std::string path = dir_ + "/state.json";
  ASSERT_TRUE(env_.WriteFileAtomically(path, "old").ok());
  env_.Fail(Op::kSync, "state.json", EIO);
  Status status = env_.WriteFileAtomically(path, "new");
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("fsync " + path + ".tmp-"));
  EXPECT_THAT(status.message(), HasSubstr("Input/output error"));
  EXPECT_EQ(Read(path), "old");
  EXPECT_THAT(Names(), ::testing::ElementsAre("state.json"));
}

TEST_F(EnvTest, RandomFsyncFailuresFailSomeWritesAndEachLeavesWholeContent) {
  std::string path = dir_ + "/state.json";
  env_.FailAtRandom(Op::kSync, 0.5, EIO, /*seed=*/7);
  int failed = 0;
  std::string last = "";
  for (int i = 0; i < 40; ++i) {
    std::string content = "version " + std::to_string(i);
    Status status = env_.WriteFileAtomically(path, content);
    if (status.ok()) {
      last = content;
    } else {
      ++failed;
      EXPECT_THAT(status.message(), HasSubstr("Input/output error"));
    }
    EXPECT_EQ(Read(path), last);  // the last acknowledged write, whole
  }
  EXPECT_GT(failed, 0);
  EXPECT_LT(failed, 40);
}

TEST_F(EnvTest, AFullDiskLeavesTheOldContent) {
  std::string path = dir_ + "/state.json";
  ASSERT_TRUE(env_.WriteFileAtomically(path, "old").ok());
  env_.SetFreeSpace(2);
  Status status = env_.WriteFileAtomically(path, "new content");
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("No space left on device"));
  EXPECT_EQ(Read(path), "old");
  EXPECT_THAT(Names(), ::testing::ElementsAre("state.json"));
}

TEST_F(EnvTest, AFailedRenameLeavesTheOldContent) {
  std::string path = dir_ + "/state.json";
  ASSERT_TRUE(env_.WriteFileAtomically(path, "old").ok());
  env_.Fail(Op::kRename, "state.json", EIO, 1);
  Status status = env_.WriteFileAtomically(path, "new");
  EXPECT_THAT(status.message(), HasSubstr("rename "));
  EXPECT_EQ(Read(path), "old");
  EXPECT_THAT(Names(), ::testing::ElementsAre("state.json"));
  // The rule was for one call only.
  EXPECT_TRUE(env_.WriteFileAtomically(path, "new").ok());
  EXPECT_EQ(Read(path), "new");
}

TEST_F(EnvTest, WriteWithoutReplaceKeepsAnExistingFile) {
  std::string path = dir_ + "/credentials";
  ASSERT_TRUE(env_.WriteFileAtomically(path, "first", {.mode = 0600, .replace = false}).ok());
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  Status second = env_.WriteFileAtomically(path, "second", {.mode = 0600, .replace = false});
  EXPECT_EQ(second.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Read(path), "first");
  EXPECT_THAT(Names(), ::testing::ElementsAre("credentials"));
}

TEST_F(EnvTest, AppendingPastTheFreeSpaceWritesWhatFitsAndCanBeCutBack) {
  std::string path = dir_ + "/data";
  auto file = env_.NewWritableFile(path, Env::OpenMode::kCreateExclusive, 0644);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE((*file)->Append("abc").ok());
  env_.SetFreeSpace(2);
  Status full = (*file)->Append("defg");
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(), "write " + path + ": No space left on device");
  EXPECT_EQ((*file)->size(), 5u);
  ASSERT_TRUE((*file)->Truncate(3).ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(Read(path), "abc");

  env_.ClearFaults();
  auto again = env_.NewWritableFile(path, Env::OpenMode::kAppend, 0644);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->size(), 3u);
  ASSERT_TRUE((*again)->Append("d").ok());
  ASSERT_TRUE((*again)->Close().ok());
  EXPECT_EQ(Read(path), "abcd");
}

TEST_F(EnvTest, OpenModesReportWhatIsThereOrNot) {
  std::string path = dir_ + "/f";
  EXPECT_EQ(env_.NewWritableFile(path, Env::OpenMode::kAppend, 0644).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(env_.NewWritableFile(path, Env::OpenMode::kCreateExclusive, 0644).ok());
  EXPECT_EQ(env_.NewWritableFile(path, Env::OpenMode::kCreateExclusive, 0644).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_TRUE(env_.NewWritableFile(path, Env::OpenMode::kTruncate, 0644).ok());
}

TEST_F(EnvTest, FakeMountsAreRecordedNotMade) {
  env_.UseFakeMounts();
  Env::MountRequest request;
  request.source = "overlay";
  request.target = dir_ + "/rootfs";
  request.fstype = "overlay";
  ASSERT_TRUE(env_.Mount(request).ok());
  EXPECT_TRUE(env_.IsMounted(dir_ + "/rootfs"));
  ASSERT_EQ(env_.Mounts().size(), 1u);
  EXPECT_EQ(env_.Mounts()[0].fstype, "overlay");
  ASSERT_TRUE(env_.Unmount(dir_ + "/rootfs", false).ok());
  EXPECT_FALSE(env_.IsMounted(dir_ + "/rootfs"));
  EXPECT_TRUE(env_.Unmount(dir_ + "/rootfs", false).ok()) << "not mounted is not an error";

  env_.Fail(Op::kMount, "rootfs", EPERM, 1);
  Status refused = env_.Mount(request);
  EXPECT_THAT(refused.message(), HasSubstr("Operation not permitted"));
  EXPECT_FALSE(env_.IsMounted(dir_ + "/rootfs"));
}

TEST_F(EnvTest, TheDefaultEnvUnmountsWhatIsNotMountedWithoutError) {
  EXPECT_TRUE(Env::Default()->Unmount(dir_, false).ok());
}

}  // namespace
}  // namespace berth
