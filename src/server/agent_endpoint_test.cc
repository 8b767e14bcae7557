#include "server/agent_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::server {
namespace {

using ::testing::HasSubstr;

TEST(AgentEndpointTest, PlainAndHttps) {
  auto plain = ParseAgentEndpoint("10.0.0.7:8444");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->host, "10.0.0.7");
  EXPECT_EQ(plain->port, 8444);
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->authority, "10.0.0.7:8444");

  auto tls = ParseAgentEndpoint("https://node7.example:8444");
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_EQ(tls->host, "node7.example");
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->authority, "node7.example:8444");

  auto v6 = ParseAgentEndpoint("https://[::1]:8444");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->authority, "[::1]:8444");

  EXPECT_FALSE(ParseAgentEndpoint("http://10.0.0.7:8444")->tls);
}

TEST(AgentEndpointTest, RefusesWhatIsNotHostAndPort) {
  for (const char* bad : {"", "no-port", ":8444", "h:0", "https://", "https://h", "h:99999"}) {
    auto parsed = ParseAgentEndpoint(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("is not [https://]HOST:PORT")) << bad;
  }
}

}  // namespace
}  // namespace berth::server
