#include "agent/registry_auth_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseRegistryAuthsTest, ReadsAuthAndUsernamePasswordEntries) {
  // "dXNlcjpwYTpzcw==" is base64("user:pa:ss"): the password may hold ':'.
  auto auths = ParseRegistryAuths(R"({"auths":{
      "https://registry.example:5000/": {"auth": "dXNlcjpwYTpzcw=="},
      "10.0.0.1:5000": {"username": "u", "password": "p"}}})");
  ASSERT_TRUE(auths.ok()) << auths.status().message();
  ASSERT_EQ(auths->size(), 2u);
  EXPECT_EQ(auths->at("registry.example:5000").username, "user");
  EXPECT_EQ(auths->at("registry.example:5000").password, "pa:ss");
  EXPECT_EQ(auths->at("10.0.0.1:5000").password, "p");
}

// Keys as Docker reads them. The last was found by registry_auth_file_fuzz:
// only the first "://" was cut, so it kept a scheme-like "://" and a path.
TEST(ParseRegistryAuthsTest, KeysLoseTheSchemeAndThePath) {
  auto auths = ParseRegistryAuths(R"({"auths":{
      "https://index.docker.io/v1/": {"auth": "YTpi"},
      "http://10.0.0.1:5000/v2/x": {"auth": "YTpi"},
      "registry.example": {"auth": "YTpi"},
      "https://://.0.1:4999": {"auth": "YTpiOmM="}}})");
  ASSERT_TRUE(auths.ok()) << auths.status().message();
  std::vector<std::string> registries;
  for (const auto& [registry, credentials] : *auths) registries.push_back(registry);
  EXPECT_THAT(registries, ElementsAre("10.0.0.1:5000", ":", "index.docker.io", "registry.example"));
}

TEST(ParseRegistryAuthsTest, NamesTheEntryThatIsWrong) {
  EXPECT_THAT(ParseRegistryAuths("[]").status().message(), HasSubstr("not a JSON object"));
  EXPECT_THAT(ParseRegistryAuths("{}").status().message(), HasSubstr("no \"auths\" object"));
  EXPECT_THAT(ParseRegistryAuths(R"({"auths":{"h:1":{"auth":"bm9jb2xvbg=="}}})").status().message(),
              HasSubstr("h:1: auth is not base64(user:password)"));
  EXPECT_THAT(ParseRegistryAuths(R"({"auths":{"h:1":{}}})").status().message(),
              HasSubstr("h:1: no auth, or username and password"));
}

TEST(ReadRegistryAuthFileTest, ErrorsNameTheFile) {
  auto missing = ReadRegistryAuthFile("/nonexistent/config.json");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/config.json"));
}

}  // namespace
}  // namespace berth::agent
