#include "server/access_policy.h"

#include <gtest/gtest.h>

#include "server/api/agent_credentials.h"
#include "server/api/task_roles.h"

namespace berth::server {
namespace {

constexpr std::string_view kEcs = "AmazonEC2ContainerServiceV20141113";
constexpr std::string_view kEcr = "AmazonEC2ContainerRegistry_V20150921";

TEST(AccessPolicyTest, AFullKeyMayDoEverything) {
  AccessPolicy policy({"AKIAVIEWER"});
  EXPECT_TRUE(policy.MayCall("AKIAADMIN", kEcs, "RunTask"));
  EXPECT_TRUE(policy.MayCall("AKIAADMIN", kEcr, "PutImage"));
  EXPECT_TRUE(policy.MayPush("AKIAADMIN"));
  EXPECT_TRUE(policy.MayChange("AKIAADMIN"));
}

TEST(AccessPolicyTest, AReadOnlyKeyReadsAndChangesNothing) {
  AccessPolicy policy({"AKIAVIEWER"});
  for (std::string_view op : {"DescribeTasks", "ListClusters", "DescribeTaskDefinition"}) {
    EXPECT_TRUE(policy.MayCall("AKIAVIEWER", kEcs, op)) << op;
  }
  for (std::string_view op : {"BatchGetImage", "GetDownloadUrlForLayer",
                              "BatchCheckLayerAvailability", "GetAuthorizationToken"}) {
    EXPECT_TRUE(policy.MayCall("AKIAVIEWER", kEcr, op)) << op;
  }
  for (std::string_view op : {"RunTask", "StopTask", "RegisterTaskDefinition", "CreateCluster",
                              "UpdateService", "TagResource", "PutAttributes"}) {
    EXPECT_FALSE(policy.MayCall("AKIAVIEWER", kEcs, op)) << op;
  }
  for (std::string_view op : {"PutImage", "BatchDeleteImage", "InitiateLayerUpload",
                              "CreateRepository", "PutLifecyclePolicy"}) {
    EXPECT_FALSE(policy.MayCall("AKIAVIEWER", kEcr, op)) << op;
  }
  EXPECT_FALSE(policy.MayPush("AKIAVIEWER"));
  EXPECT_FALSE(policy.MayChange("AKIAVIEWER"));
}

TEST(AccessPolicyTest, AnInstanceKeyReportsStateAndPullsOnly) {
  AccessPolicy policy;
  const std::string agent = api::AgentKeyId("0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(api::IsAgentKey(agent));
  EXPECT_TRUE(policy.MayCall(agent, kEcs, "SubmitTaskStateChange"));
  EXPECT_TRUE(policy.MayCall(agent, kEcr, "GetAuthorizationToken"));
  EXPECT_FALSE(policy.MayCall(agent, kEcs, "DescribeTasks"));
  EXPECT_FALSE(policy.MayCall(agent, kEcs, "RunTask"));
  EXPECT_FALSE(policy.MayCall(agent, kEcr, "PutImage"));
  EXPECT_FALSE(policy.MayPush(agent));
  EXPECT_FALSE(policy.MayChange(agent));
}

TEST(AccessPolicyTest, ATaskRoleSessionMayWhatItsProfilesKeyMay) {
  AccessPolicy policy({"AKIAVIEWER"});
  const std::string viewer = api::RoleSessionKeyId("AKIAVIEWER", 1'700'000'000);
  const std::string admin = api::RoleSessionKeyId("AKIAADMIN", 1'700'000'000);
  EXPECT_TRUE(policy.MayCall(viewer, kEcs, "DescribeTasks"));
  EXPECT_FALSE(policy.MayCall(viewer, kEcs, "RunTask"));
  EXPECT_FALSE(policy.MayPush(viewer));
  EXPECT_TRUE(policy.MayCall(admin, kEcs, "RunTask"));
  EXPECT_TRUE(policy.MayPush(admin));
}

}  // namespace
}  // namespace berth::server
