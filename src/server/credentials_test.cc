#include "server/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/fault_injection_env.h"
#include "store/store_test_util.h"

namespace berth::server {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Op = FaultInjectionEnv::Op;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class CredentialsTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/credentials"; }
  size_t Entries() const {
    return static_cast<size_t>(
        std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()));
  }

  store::testing::TempDir dir_;
  FaultInjectionEnv env_{Env::Default()};
};

TEST_F(CredentialsTest, CreatesOneKeyReadableOnlyByItsOwner) {
  auto keys = EnsureCredentialsFile(path(), &env_);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].profile, "default");
  EXPECT_EQ((*keys)[0].id.substr(0, 4), "AKIA");
  EXPECT_EQ((*keys)[0].secret.size(), 40u);
  EXPECT_EQ(fs::status(path()).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(env_.calls(Op::kSync), 1);

  // Again: the same key, read and not written.
  auto again = EnsureCredentialsFile(path(), &env_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].id, (*keys)[0].id);
  EXPECT_EQ(env_.calls(Op::kSync), 1);
}

TEST_F(CredentialsTest, AFailedFsyncLeavesNoFileAndSaysWhy) {
  env_.Fail(Op::kSync, "credentials", EIO, 1);
  auto failed = EnsureCredentialsFile(path(), &env_);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("create credentials " + path() + ": fsync "));
  EXPECT_THAT(failed.status().message(), HasSubstr("Input/output error"));
  EXPECT_EQ(Entries(), 0u) << "neither a half-written file nor a temporary one";
  // The next start creates it.
  EXPECT_TRUE(EnsureCredentialsFile(path(), &env_).ok());
}

TEST_F(CredentialsTest, AFullDiskLeavesNoFile) {
  env_.SetFreeSpace(20);
  auto failed = EnsureCredentialsFile(path(), &env_);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(failed.status().message(), HasSubstr("No space left on device"));
  EXPECT_EQ(Entries(), 0u);
}

TEST_F(CredentialsTest, AnExistingFileIsKeptAsItIs) {
  std::string text = "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n";
  std::ofstream(path()) << text;
  // Nothing may be written: any write would fail.
  env_.Fail(Op::kOpen, "", EIO);
  env_.Fail(Op::kRename, "", EIO);
  auto keys = EnsureCredentialsFile(path(), &env_);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ((*keys)[0].id, "AKIDEXAMPLE");
  EXPECT_EQ(ReadAll(path()), text);
}

}  // namespace
}  // namespace berth::server
