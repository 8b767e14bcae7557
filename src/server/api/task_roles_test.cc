// The roles file, the credentials issued for a role, and RunTask's check
// of taskRoleArn and executionRoleArn.
#include "server/api/task_roles.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cstdio>
#include <fstream>

#include "awsjson/endpoint.h"
#include "server/api/ecs_api_testing.h"

namespace berth::server::api {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

constexpr char kTrainer[] = "arn:aws:iam::123456789012:role/trainer";
constexpr char kStore[] = "arn:aws:iam::123456789012:role/checkpoints";
constexpr char kServerKey[] = "server-key";
// 2023-11-14T22:13:20Z
constexpr int64_t kNowMillis = 1'700'000'000'000;

class RolesFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/berth-roles-XXXXXX";
    int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = name;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  StatusOr<TaskRoles> Load(const std::string& text) {
    std::ofstream(path_) << text;
    return TaskRoles::Load(path_, keys_);
  }
  std::string path_;
  std::vector<AccessKey> keys_{{"trainer", "AKIATRAINER", "trainer-secret", false},
                               {"default", "AKIADEFAULT", "default-secret", false}};
};

TEST_F(RolesFile, ABerthProfileRoleGetsSessionCredentialsThatExpire) {
  auto roles = Load(std::string("[") + kTrainer + "]\nberth_profile = trainer\n");
  ASSERT_TRUE(roles.ok()) << roles.status().ToString();
  EXPECT_TRUE(roles->Has(kTrainer));
  EXPECT_FALSE(roles->Has(kStore));

  auto issued = roles->Issue(kTrainer, kServerKey, kNowMillis);
  ASSERT_TRUE(issued.has_value());
  EXPECT_EQ(issued->role_arn, kTrainer);
  // An hour to an hour and a quarter ahead, on a quarter hour.
  EXPECT_GE(issued->expiration_seconds, kNowMillis / 1000 + 3600);
  EXPECT_LT(issued->expiration_seconds, kNowMillis / 1000 + 3600 + 900);
  EXPECT_EQ(issued->expiration_seconds % 900, 0);
  auto session = ParseRoleSessionKeyId(issued->access_key_id);
  ASSERT_TRUE(session.has_value()) << issued->access_key_id;
  EXPECT_EQ(session->source_key_id, "AKIATRAINER");
  EXPECT_EQ(session->expires_at_seconds, issued->expiration_seconds);
  EXPECT_EQ(issued->secret_access_key, RoleSessionSecret(kServerKey, issued->access_key_id));
  EXPECT_NE(issued->secret_access_key, "trainer-secret");
  EXPECT_FALSE(issued->token.empty());
  // Unchanged within the quarter hour; another server key gives another secret.
  auto later = roles->Issue(kTrainer, kServerKey, kNowMillis + 60'000);
  EXPECT_EQ(later->access_key_id, issued->access_key_id);
  EXPECT_NE(RoleSessionSecret("other", issued->access_key_id), issued->secret_access_key);

  json::object doc = RoleCredentialsJson(*issued);
  EXPECT_EQ(doc.at("RoleArn").as_string(), kTrainer);
  EXPECT_EQ(doc.at("AccessKeyId").as_string(), issued->access_key_id);
  EXPECT_EQ(doc.at("SecretAccessKey").as_string(), issued->secret_access_key);
  EXPECT_EQ(doc.at("Token").as_string(), issued->token);

  // Now is 22:13:20; the next quarter hour is 22:15, plus an hour.
  EXPECT_EQ(doc.at("Expiration").as_string(), "2023-11-14T23:15:00Z");
}

TEST_F(RolesFile, AKeyPairRoleIsServedAsTheFileGivesIt) {
  auto roles = Load(std::string("# roles\n[") + kStore +
                    "]\naws_access_key_id = MINIOKEY\naws_secret_access_key = minio-secret\n"
                    "aws_session_token = tok\n");
  ASSERT_TRUE(roles.ok()) << roles.status().ToString();
  auto issued = roles->Issue(kStore, kServerKey, kNowMillis);
  ASSERT_TRUE(issued.has_value());
  EXPECT_EQ(issued->access_key_id, "MINIOKEY");
  EXPECT_EQ(issued->secret_access_key, "minio-secret");
  EXPECT_EQ(issued->token, "tok");
  EXPECT_GT(issued->expiration_seconds, kNowMillis / 1000);
  EXPECT_FALSE(roles->Issue(kTrainer, kServerKey, kNowMillis).has_value());
}

TEST_F(RolesFile, BadSectionsAreRefusedNamingTheLine) {
  struct Case {
    std::string text;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"[trainer]\nberth_profile = trainer\n",
            ":1: [trainer] is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)"},
           {"[arn:aws:iam::123456789012:user/bob]\nberth_profile = trainer\n", "is not a role ARN"},
           {std::string("\n[") + kTrainer + "]\nberth_profile = nobody\n",
            ":2: [" + std::string(kTrainer) +
                "] berth_profile nobody is not a profile with a key in the server's "
                "credentials file"},
           {std::string("[") + kTrainer + "]\naws_access_key_id = K\n",
            "needs berth_profile, or aws_access_key_id and aws_secret_access_key"},
           {std::string("[") + kTrainer +
                "]\nberth_profile = trainer\naws_access_key_id = K\naws_secret_access_key = S\n",
            "has both berth_profile and a key pair"},
           {std::string("[") + kTrainer + "]\nberth_profile = trainer\n[" + kTrainer +
                "]\nberth_profile = default\n",
            "appears twice"},
       }) {
    auto roles = Load(c.text);
    ASSERT_FALSE(roles.ok()) << c.text;
    EXPECT_THAT(roles.status().message(), HasSubstr("roles file " + path_)) << c.text;
    EXPECT_THAT(roles.status().message(), HasSubstr(c.error)) << c.text;
  }
  EXPECT_THAT(TaskRoles::Load("/nonexistent/roles", keys_).status().message(),
              HasSubstr("/nonexistent/roles"));
}

TEST(RoleSessionKeys, OnlyBerthRoleKeysParse) {
  std::string id = RoleSessionKeyId("AKIATRAINER", 0x65540000);
  EXPECT_EQ(id, "BERTHROLE0065540000AKIATRAINER");
  auto session = ParseRoleSessionKeyId(id);
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->expires_at_seconds, 0x65540000);
  for (std::string_view other : {"AKIATRAINER", "BERTHROLE", "BERTHROLE0065540000",
                                 "BERTHROLE00655400zzAKIA", "BERTHAGENT0123"}) {
    EXPECT_FALSE(ParseRoleSessionKeyId(other).has_value()) << other;
  }
}

TEST(EffectiveRole, TheOverrideWinsOverTheDefinition) {
  json::object td{{"taskRoleArn", kTrainer}};
  json::object overrides{{"taskRoleArn", kStore}};
  EXPECT_EQ(EffectiveRoleArn(td, nullptr, "taskRoleArn"), kTrainer);
  EXPECT_EQ(EffectiveRoleArn(td, &overrides, "taskRoleArn"), kStore);
  EXPECT_EQ(EffectiveRoleArn(td, &overrides, "executionRoleArn"), "");
}

class RunTaskRoles : public testing::EcsApiTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.Load().ok());
    Call("CreateCluster", R"({"clusterName": "c"})");
    Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
        {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}]})");
  }
  void Register(const std::string& family, const std::string& roles) {
    Call("RegisterTaskDefinition", R"({"family": ")" + family + R"(", )" + roles +
                                       R"("containerDefinitions": [
        {"name": "a", "image": "busybox", "cpu": 256, "memory": 256}]})");
  }
  // The error a call fails with: "TYPE: message".
  std::string ErrorOf(std::string_view op, const std::string& body) {
    try {
      Call(op, body);
    } catch (const awsjson::ApiException& e) {
      return e.error().type + ": " + e.what();
    }
    return "";
  }
  std::string RunTaskCount() {
    return std::to_string(
        Call("ListTasks", R"({"cluster": "c"})").at("taskArns").as_array().size());
  }
};

TEST_F(RunTaskRoles, ARoleNotInTheRolesFileIsRefusedAndNothingRuns) {
  TaskRoles none;
  api_.set_task_roles(&none);
  Register("plain", "");
  Register("trainer", std::string(R"("taskRoleArn": ")") + kTrainer + R"(", )");
  Register("pull", std::string(R"("executionRoleArn": ")") + kStore + R"(", )");

  EXPECT_EQ(ErrorOf("RunTask", R"({"cluster": "c", "taskDefinition": "plain"})"), "");
  EXPECT_EQ(ErrorOf("RunTask", R"({"cluster": "c", "taskDefinition": "trainer"})"),
            std::string("ClientException: ECS was unable to assume the role '") + kTrainer +
                "' that was provided for this task (taskRoleArn): this berth server has no "
                "roles file (berth server --roles-file)");
  EXPECT_THAT(ErrorOf("RunTask", R"({"cluster": "c", "taskDefinition": "pull"})"),
              HasSubstr("(executionRoleArn)"));
  // An override names a role too.
  EXPECT_THAT(ErrorOf("RunTask", std::string(R"({"cluster": "c", "taskDefinition": "plain",
                                 "overrides": {"taskRoleArn": ")") +
                                     kStore + R"("}})"),
              HasSubstr(kStore));
  EXPECT_THAT(ErrorOf("CreateService", R"({"cluster": "c", "serviceName": "s",
                      "taskDefinition": "trainer", "desiredCount": 1})"),
              HasSubstr("ClientException"));
  EXPECT_EQ(RunTaskCount(), "1");
}

TEST_F(RunTaskRoles, ARoleInTheRolesFileRuns) {
  char name[] = "/tmp/berth-roles-XXXXXX";
  int fd = mkstemp(name);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(name) << "[" << kTrainer << "]\nberth_profile = default\n";
  auto roles = TaskRoles::Load(name, {{"default", "AKIADEFAULT", "s", false}});
  std::remove(name);
  ASSERT_TRUE(roles.ok()) << roles.status().ToString();
  api_.set_task_roles(&*roles);
  Register("trainer", std::string(R"("taskRoleArn": ")") + kTrainer + R"(", )");
  EXPECT_EQ(ErrorOf("RunTask", R"({"cluster": "c", "taskDefinition": "trainer"})"), "");
  EXPECT_THAT(ErrorOf("RunTask", std::string(R"({"cluster": "c", "taskDefinition": "trainer",
                                 "overrides": {"taskRoleArn": ")") +
                                     kStore + R"("}})"),
              HasSubstr("it is not in the server's roles file"));
  EXPECT_EQ(RunTaskCount(), "1");
}

}  // namespace
}  // namespace berth::server::api
