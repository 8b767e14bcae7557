#include "server/user_request.h"

#include <gtest/gtest.h>

#include "server/api/agent_credentials.h"

namespace berth::server {
namespace {

constexpr int64_t kNow = 1'795'867'200;

class UserRequestTest : public ::testing::Test {
 protected:
  http::SecretLookup secrets_ = [this](std::string_view id) -> std::optional<std::string> {
    if (id == "AKIDUSER") return "user-secret";
    if (id == agent_key_) return "agent-secret";
    return std::nullopt;
  };
  std::string agent_key_ = api::AgentKeyId("0123456789abcdef0123456789abcdef");

  static http::Request Post() {
    http::Request request;
    request.method = "POST";
    request.target = "/berth/v1/gangs";
    request.headers.emplace_back("host", "berth.local");
    return request;
  }
};

TEST_F(UserRequestTest, AUsersSignatureGivesTheCaller) {
  http::Request request = Post();
  http::SignSigV4(request, {"AKIDUSER", "user-secret"}, "us-east-1", "ecs", kNow);
  std::string caller;
  EXPECT_FALSE(CheckUserRequest(request, secrets_, kNow, "read gangs", &caller));
  EXPECT_EQ(caller, "AKIDUSER");
}

TEST_F(UserRequestTest, ADashboardSessionsUserNeedsNoSignature) {
  http::Request request = Post();
  request.authenticated_access_key_id = "AKIDUSER";
  std::string caller;
  EXPECT_FALSE(CheckUserRequest(request, secrets_, kNow, "read gangs", &caller));
  EXPECT_EQ(caller, "AKIDUSER");
}

TEST_F(UserRequestTest, UnsignedOrAgentRequestsAreRefused) {
  auto unsigned_refusal = CheckUserRequest(Post(), secrets_, kNow, "read gangs");
  ASSERT_TRUE(unsigned_refusal);
  EXPECT_EQ(unsigned_refusal->type, "MissingAuthenticationTokenException");

  http::Request signed_by_agent = Post();
  http::SignSigV4(signed_by_agent, {agent_key_, "agent-secret"}, "us-east-1", "ecs", kNow);
  http::Request vouched_agent = Post();
  vouched_agent.authenticated_access_key_id = agent_key_;
  for (const http::Request& request : {signed_by_agent, vouched_agent}) {
    auto refusal = CheckUserRequest(request, secrets_, kNow, "read gangs");
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->type, "AccessDeniedException");
    EXPECT_EQ(refusal->message, "an instance credential cannot read gangs");
  }
}

}  // namespace
}  // namespace berth::server
