#include "common/credentials_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace berth {
namespace {

class CredentialsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/berth-credentials-XXXXXX";
    int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = name;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void Write(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(CredentialsFileTest, ReadsEveryCompleteProfile) {
  Write(
      "# keys\n[default]\naws_access_key_id = AKIA1\n aws_secret_access_key=s1 \n\n"
      "[half]\naws_access_key_id = AKIA2\n[ci]\naws_access_key_id=AKIA3\n"
      "aws_secret_access_key = s3\n");
  auto keys = ReadCredentialsFile(path_);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);  // [half] has no secret
  EXPECT_EQ((*keys)[0].id, "AKIA1");
  EXPECT_EQ((*keys)[0].secret, "s1");
  EXPECT_EQ((*keys)[1].profile, "ci");
  auto ci = ReadCredentialsProfile(path_, "ci");
  ASSERT_TRUE(ci.ok());
  EXPECT_EQ(ci->secret, "s3");
  EXPECT_FALSE(ReadCredentialsProfile(path_, "half").ok());
}

TEST_F(CredentialsFileTest, BerthAccessMarksAKeyReadOnly) {
  Write(
      "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s1\n"
      "[viewer]\naws_access_key_id = AKIA2\naws_secret_access_key = s2\n"
      "berth_access = read-only\n"
      "[admin]\nberth_access = full\naws_access_key_id = AKIA3\naws_secret_access_key = s3\n");
  auto keys = ReadCredentialsFile(path_);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_FALSE((*keys)[0].read_only);
  EXPECT_TRUE((*keys)[1].read_only);
  EXPECT_FALSE((*keys)[2].read_only);
}

TEST_F(CredentialsFileTest, AnUnknownBerthAccessIsAnErrorNamingTheLine) {
  Write(
      "[viewer]\naws_access_key_id = AKIA2\naws_secret_access_key = s2\nberth_access = readonly\n");
  auto keys = ReadCredentialsFile(path_);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(keys.status().message().find(path_ + ":4: [viewer] berth_access is \"readonly\""),
            std::string::npos)
      << keys.status().ToString();
}

TEST_F(CredentialsFileTest, AMissingFileIsAnErrorNamingIt) {
  auto keys = ReadCredentialsFile(path_ + ".absent");
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find(path_ + ".absent"), std::string::npos);
}

}  // namespace
}  // namespace berth
