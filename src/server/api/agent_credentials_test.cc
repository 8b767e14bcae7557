#include "server/api/agent_credentials.h"

#include <gtest/gtest.h>

#include "common/crypto.h"

namespace berth::server::api {
namespace {

constexpr std::string_view kInstance = "0123456789abcdef0123456789abcdef";

TEST(AgentCredentials, KeyIdNamesTheInstance) {
  std::string key = AgentKeyId(kInstance);
  EXPECT_EQ(key, "BERTHAGENT0123456789abcdef0123456789abcdef");
  EXPECT_EQ(InstanceOfAgentKey(key), std::string(kInstance));
  EXPECT_TRUE(IsAgentKey(key));
}

TEST(AgentCredentials, OtherKeysAreNotAgentKeys) {
  EXPECT_FALSE(IsAgentKey("AKIAIOSFODNN7EXAMPLE"));
  EXPECT_FALSE(IsAgentKey("BERTHAGENT"));
  EXPECT_FALSE(IsAgentKey("BERTHAGENT0123456789abcdef0123456789abcde"));    // 31 digits
  EXPECT_FALSE(IsAgentKey("BERTHAGENT0123456789ABCDEF0123456789abcdef"));   // upper case
  EXPECT_FALSE(IsAgentKey("BERTHAGENT0123456789abcdef0123456789abcdef0"));  // 33 digits
  EXPECT_FALSE(IsAgentKey("BERTHAGENT../../0123456789abcdef0123456789"));
}

TEST(AgentCredentials, SecretIsHmacOfTheKeyIdUnderTheServerKey) {
  std::string key = AgentKeyId(kInstance);
  std::string secret = AgentSecret("server-key", key);
  EXPECT_EQ(secret, HexEncode(HmacSha256("server-key", key)));
  EXPECT_EQ(secret.size(), 64u);
  EXPECT_EQ(secret, AgentSecret("server-key", key));  // stable: nothing stored per instance
  EXPECT_NE(secret, AgentSecret("other-key", key));
  EXPECT_NE(secret, AgentSecret("server-key", AgentKeyId("fedcba9876543210fedcba9876543210")));
}

TEST(AgentCredentials, AgentsMayOnlyReportStateAndPull) {
  constexpr std::string_view kEcs = "AmazonEC2ContainerServiceV20141113";
  constexpr std::string_view kEcr = "AmazonEC2ContainerRegistry_V20150921";
  EXPECT_TRUE(AgentMayCall(kEcs, "SubmitTaskStateChange"));
  EXPECT_TRUE(AgentMayCall(kEcs, "SubmitContainerStateChange"));
  EXPECT_TRUE(AgentMayCall(kEcr, "GetAuthorizationToken"));
  EXPECT_FALSE(AgentMayCall(kEcs, "RunTask"));
  EXPECT_FALSE(AgentMayCall(kEcs, "DescribeTasks"));
  EXPECT_FALSE(AgentMayCall(kEcs, "RegisterContainerInstance"));
  EXPECT_FALSE(AgentMayCall(kEcr, "PutImage"));
  EXPECT_FALSE(AgentMayCall("Other", "GetAuthorizationToken"));
}

TEST(AgentCredentials, ServerKeyIsCreatedOnceAndKept) {
  std::unique_ptr<store::Store> store = store::NewMemoryStore();
  auto first = LoadOrCreateAgentKey(*store);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 64u);
  auto again = LoadOrCreateAgentKey(*store);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
}

}  // namespace
}  // namespace berth::server::api
