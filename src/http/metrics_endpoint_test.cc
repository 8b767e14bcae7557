#include "http/metrics_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace berth::http {
namespace {

using ::testing::HasSubstr;

TEST(MetricsAddressTest, TheApiAddressOrNothingIsNotSeparate) {
  EXPECT_FALSE(SeparateMetricsAddress("", "127.0.0.1:8080").value());
  EXPECT_FALSE(SeparateMetricsAddress("127.0.0.1:8080", "127.0.0.1:8080").value());
}

TEST(MetricsAddressTest, SeparateLoopbackAddresses) {
  EXPECT_EQ(SeparateMetricsAddress("127.0.0.1:9464", "0.0.0.0:8080").value(), "127.0.0.1:9464");
  EXPECT_EQ(SeparateMetricsAddress("[::1]:9464", "0.0.0.0:8080").value(), "[::1]:9464");
  EXPECT_EQ(SeparateMetricsAddress("localhost:9464", "0.0.0.0:8080").value(), "localhost:9464");
}

TEST(MetricsAddressTest, RefusesOpenAddressesAndBadValues) {
  auto open = SeparateMetricsAddress("0.0.0.0:9464", "127.0.0.1:8080");
  ASSERT_FALSE(open.ok());
  EXPECT_THAT(open.status().message(), HasSubstr("loopback"));
  EXPECT_FALSE(SeparateMetricsAddress("10.0.0.5:9464", "127.0.0.1:8080").ok());
  auto bad = SeparateMetricsAddress("9464", "127.0.0.1:8080");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("--metrics-listen 9464"));
  EXPECT_EQ(bad.status().message().find('\n'), std::string::npos);
}

TEST(MetricsTokenTest, CreatedPrivateOnceThenRead) {
  char dir[] = "/tmp/metrics-token-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/metrics-token";
  auto first = EnsureMetricsToken(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(EnsureMetricsToken(path).value(), *first);
  std::filesystem::remove_all(dir);
}

Response Serve(MetricsEndpoint& endpoint, const char* authorization) {
  Request request;
  request.method = "GET";
  request.target = "/metrics";
  if (authorization) request.headers.emplace_back("authorization", authorization);
  EXPECT_TRUE(MetricsEndpoint::Accepts(request));
  Response out;
  endpoint.Handle(std::move(request), [&](Response r) { out = std::move(r); });
  return out;
}

TEST(MetricsEndpointTest, BearerToken) {
  metrics::Registry registry;
  registry.AddCounter("berth_test_total", "x").With({}).Inc();
  MetricsEndpoint endpoint(registry, "secret");
  EXPECT_EQ(Serve(endpoint, nullptr).status, 401);
  EXPECT_THAT(Serve(endpoint, nullptr).body, HasSubstr("Authorization: Bearer"));
  EXPECT_EQ(Serve(endpoint, "Bearer wrong!").status, 401);
  EXPECT_EQ(Serve(endpoint, "Basic secret").status, 401);
  Response ok = Serve(endpoint, "Bearer secret");
  EXPECT_EQ(ok.status, 200);
  EXPECT_THAT(ok.body, HasSubstr("berth_test_total 1\n"));
}

TEST(MetricsEndpointTest, NoTokenNeeded) {
  metrics::Registry registry;
  MetricsEndpoint endpoint(registry, std::nullopt);
  EXPECT_EQ(Serve(endpoint, nullptr).status, 200);
}

}  // namespace
}  // namespace berth::http
