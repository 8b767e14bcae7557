// The server's limits: connections in all and per client address (a 503
// with the reason, then close), and the time a request head may take (408
// for a slow one while others are served; idle keep-alive connections are
// not cut by it). Each counted in the listener's metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "http/client.h"
#include "http/connection_limits.h"
#include "http/server.h"
#include "http/server_tls.h"
#include "http/test_raw_connection.h"
#include "http/test_requests.h"
#include "http/test_tls.h"

namespace berth::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using testing::EchoPath;
using testing::Get;
using ::testing::HasSubstr;
using testing::RawConnection;
using ::testing::StartsWith;

// The listener's series, by name and second label value.
double Count(const std::string& family, const std::string& label, const std::string& listener,
             const std::string& value) {
  return metrics::DefaultRegistry()
      .AddCounter(family, "", {"listener", label})
      .With({listener, value})
      .Value();
}
double Refused(const std::string& listener, const std::string& limit) {
  return Count("berth_http_connections_refused_total", "limit", listener, limit);
}
double HeaderTimeouts(const std::string& listener) {
  return Count("berth_http_connections_closed_total", "reason", listener, "header_timeout");
}

// Waits up to 5 s for condition.
bool Eventually(const std::function<bool()>& condition) {
  for (auto end = steady_clock::now() + seconds(5); steady_clock::now() < end;) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return condition();
}

class ServerLimitsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Server> Start(ServerOptions options) {
    options.listen = "127.0.0.1:0";
    options.name = listener_;
    auto server = Server::Start(options, EchoPath);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    return std::move(server).value();
  }

  std::unique_ptr<Server> StartWithHeadDeadline(int seconds, int idle_seconds = 120) {
    ServerOptions options;
    options.header_timeout_seconds = seconds;
    options.idle_timeout_seconds = idle_seconds;
    return Start(options);
  }

  // A connection the server has admitted: its request answered.
  static std::unique_ptr<RawConnection> Admitted(uint16_t port) {
    auto conn = std::make_unique<RawConnection>(port);
    conn->Send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(conn->ReadUntil("/held"), StartsWith("HTTP/1.1 200 OK\r\n"));
    return conn;
  }

  const std::string listener_ =
      "limits-test-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
};

TEST(ConnectionLimitsTest, CountsPerAddressAndInAll) {
  ConnectionLimits limits(3, 2);
  using V = ConnectionLimits::Verdict;
  EXPECT_EQ(limits.Admit("10.0.0.1"), V::kAdmitted);
  EXPECT_EQ(limits.Admit("10.0.0.1"), V::kAdmitted);
  EXPECT_EQ(limits.Admit("10.0.0.1"), V::kTooManyFromAddress);
  EXPECT_EQ(limits.Admit("10.0.0.2"), V::kAdmitted);
  EXPECT_EQ(limits.Admit("10.0.0.3"), V::kTooManyConnections);
  EXPECT_EQ(limits.open(), 3u);
  limits.Release("10.0.0.1");
  EXPECT_EQ(limits.Admit("10.0.0.3"), V::kAdmitted);
  EXPECT_EQ(limits.Admit("10.0.0.1"), V::kTooManyConnections);
  EXPECT_EQ(limits.RefusalMessage(V::kTooManyFromAddress, "10.0.0.1"),
            "too many connections from 10.0.0.1 (at most 2 per client address); try again later");
  EXPECT_EQ(limits.RefusalMessage(V::kTooManyConnections, "10.0.0.1"),
            "too many connections to this server (at most 3); try again later");

  ConnectionLimits unlimited(0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(unlimited.Admit("10.0.0.1"), V::kAdmitted);
}

TEST_F(ServerLimitsTest, ConnectionOverThePerAddressLimitGets503WithTheReason) {
  ServerOptions options;
  options.max_connections_per_address = 2;
  auto server = Start(options);
  auto first = Admitted(server->port());
  auto second = Admitted(server->port());

  RawConnection third(server->port());
  third.Send("GET /third HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string reply = third.ReadAll();  // answered, then closed
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(reply, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(reply, HasSubstr("\r\n\r\ntoo many connections from 127.0.0.1 (at most 2 per "
                               "client address); try again later\n"));
  EXPECT_EQ(Refused(listener_, "connections_per_address"), 1);

  // The admitted ones go on; once one closes, a new one is admitted.
  second->Send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(second->ReadUntil("/again"), StartsWith("HTTP/1.1 200 OK\r\n"));
  first->Close();
  EXPECT_TRUE(Eventually([&] {
    auto reply = Client::Create("127.0.0.1", server->port(), 5)->Do(Get("/fourth"));
    return reply.ok() && reply->status == 200;
  }));
}

TEST_F(ServerLimitsTest, ClientSeesTheRefusalAsA503) {
  ServerOptions options;
  options.max_connections = 1;
  auto server = Start(options);
  auto held = Admitted(server->port());
  auto reply = Client::Create("127.0.0.1", server->port(), 5)->Do(Get("/"));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 503);
  EXPECT_EQ(*reply->Header("retry-after"), "1");
  EXPECT_EQ(reply->body, "too many connections to this server (at most 1); try again later\n");
  EXPECT_EQ(Refused(listener_, "connections"), 1);
}

TEST_F(ServerLimitsTest, RefusalOverTlsIsReadableByTheClient) {
  auto files = testing::CertificateFiles::Make();
  auto tls = ServerTls::Load(files.cert->path, files.key->path);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  ServerOptions options;
  options.max_connections_per_address = 1;
  options.tls = *tls;
  auto server = Start(options);
  TlsOptions trusting = files.Trusting();
  auto first = Client::Create("127.0.0.1", server->port(), 5, trusting);
  ASSERT_EQ(first->Do(Get("/kept"))->status, 200);
  auto reply = Client::Create("127.0.0.1", server->port(), 5, trusting)->Do(Get("/"));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 503);
  EXPECT_THAT(reply->body, HasSubstr("too many connections from 127.0.0.1"));
}

TEST_F(ServerLimitsTest, SlowHeadIsAnswered408WhileOthersAreServed) {
  auto server = StartWithHeadDeadline(1);
  auto start = steady_clock::now();
  RawConnection slow(server->port());
  auto client = Client::Create("127.0.0.1", server->port(), 5);
  std::string head = "GET /slow HTTP/1.1\r\nHost: x\r\nX-Padding: ";
  // A byte every 100 ms, for longer than the deadline; others meanwhile.
  for (int i = 0; i < 20; ++i) {
    if (!slow.Send(head.substr(i % head.size(), 1))) break;
    auto reply = client->Do(Get("/quick"));
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, "/quick");
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::string reply = slow.ReadAll();
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 408 Request Timeout\r\n"));
  EXPECT_THAT(reply, HasSubstr("request head not received within 1 s; closing\n"));
  EXPECT_LT(steady_clock::now() - start, seconds(5));
  EXPECT_EQ(HeaderTimeouts(listener_), 1);
}

TEST_F(ServerLimitsTest, SilentNewConnectionIsClosedAtTheHeadDeadline) {
  auto server = StartWithHeadDeadline(1);
  auto start = steady_clock::now();
  RawConnection silent(server->port());
  EXPECT_EQ(silent.ReadAll(), "");  // closed without a word
  EXPECT_LT(steady_clock::now() - start, seconds(3));
  EXPECT_EQ(HeaderTimeouts(listener_), 1);
}

TEST_F(ServerLimitsTest, IdleKeptAliveConnectionIsNotCutByTheHeadDeadline) {
  auto server = StartWithHeadDeadline(1, 10);
  auto client = Client::Create("127.0.0.1", server->port(), 5);
  auto first = client->Do(Get("/1"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::this_thread::sleep_for(milliseconds(2500));
  auto second = client->Do(Get("/2"));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*second->Header("x-remote"), *first->Header("x-remote"));  // the same connection
  EXPECT_EQ(HeaderTimeouts(listener_), 0);
}

}  // namespace
}  // namespace berth::http
