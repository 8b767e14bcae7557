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

TEST_F(CredentialsFileTest, AMissingFileIsAnErrorNamingIt) {
  auto keys = ReadCredentialsFile(path_ + ".absent");
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find(path_ + ".absent"), std::string::npos);
}

}  // namespace
}  // namespace berth
