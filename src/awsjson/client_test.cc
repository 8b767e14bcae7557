#include "awsjson/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "http/server.h"

namespace berth::awsjson {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

const http::SigV4Credentials kKey{"AKIDCLIENT", "client/secret"};
const http::SigV4Credentials kOtherKey{"AKIDOTHER", "other/secret"};

// What the fake server saw of the last request.
struct Seen {
  std::string method;
  std::string target;
  std::string amz_target;
  std::string content_type;
  std::string body;
  http::SigV4Identity identity;
};

// A server that checks every request's signature (unknown keys and bad
// signatures get the JSON 1.1 error berth's server sends) and answers what
// the test set in reply.
class FakeServer {
 public:
  FakeServer() {
    http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    auto server = http::Server::Start(
        options,
        [this](http::Request&& request, http::Responder respond) { respond(Handle(request)); });
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }
  ~FakeServer() { server_->Stop(); }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  void Reply(int status, std::string body) {
    std::lock_guard lock(mu_);
    reply_.status = status;
    reply_.body = std::move(body);
  }
  // Answered to the next request, before the steady reply (in order).
  void ReplyOnce(int status, std::string body) {
    std::lock_guard lock(mu_);
    http::Response once;
    once.status = status;
    once.body = std::move(body);
    once_.push_back(std::move(once));
  }
  int requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  Seen seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  http::Response Handle(const http::Request& request) {
    auto lookup = [](std::string_view key) -> std::optional<std::string> {
      if (key == kKey.access_key_id) return kKey.secret_access_key;
      if (key == kOtherKey.access_key_id) return kOtherKey.secret_access_key;
      return std::nullopt;
    };
    auto verdict = http::VerifySigV4(request, lookup, std::time(nullptr));
    if (auto* error = std::get_if<http::SigV4Error>(&verdict)) {
      http::Response refused;
      refused.status = 403;
      refused.body =
          json::serialize(json::object{{"__type", error->type}, {"message", error->message}});
      return refused;
    }
    std::lock_guard lock(mu_);
    seen_.method = request.method;
    seen_.target = request.target;
    seen_.amz_target = request.Header("x-amz-target") ? *request.Header("x-amz-target") : "";
    seen_.content_type = request.Header("content-type") ? *request.Header("content-type") : "";
    seen_.body = request.body;
    seen_.identity = std::get<http::SigV4Identity>(verdict);
    ++requests_;
    if (!once_.empty()) {
      http::Response once = std::move(once_.front());
      once_.pop_front();
      return once;
    }
    return reply_;
  }

  mutable std::mutex mu_;
  http::Response reply_;
  std::deque<http::Response> once_;
  int requests_ = 0;
  Seen seen_;
  std::unique_ptr<http::Server> server_;
};

std::unique_ptr<Client> Connect(const FakeServer& server, http::SigV4Credentials key = kKey) {
  ClientOptions options;
  options.region = "eu-west-1";
  auto client = Client::Create(server.endpoint(), std::move(key), 60, options);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return std::move(*client);
}

TEST(RegionFromEnvironmentTest, AwsRegionThenAwsDefaultRegionThenUsEast1) {
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");
  EXPECT_EQ(RegionFromEnvironment(), "us-east-1");
  ::setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
  EXPECT_EQ(RegionFromEnvironment(), "eu-west-1");
  ::setenv("AWS_REGION", "ap-south-1", 1);
  EXPECT_EQ(RegionFromEnvironment(), "ap-south-1");
  ::setenv("AWS_REGION", "", 1);  // set but empty counts as unset, as botocore does
  EXPECT_EQ(RegionFromEnvironment(), "eu-west-1");
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");
}

TEST(ParseEndpointTest, HttpAndHttpsWithOrWithoutPort) {
  auto plain = ParseEndpoint("http://127.0.0.1:8080/");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 8080);
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->host_header, "127.0.0.1:8080");

  auto tls = ParseEndpoint("https://berth.example");
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_EQ(tls->port, 443);
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->host_header, "berth.example");

  auto v6 = ParseEndpoint("http://[::1]");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 80);
  EXPECT_EQ(v6->host_header, "[::1]");
}

TEST(ParseEndpointTest, RefusesOtherSchemesAndPaths) {
  EXPECT_THAT(ParseEndpoint("127.0.0.1:8080").status().message(),
              HasSubstr("must start with http:// or https://"));
  EXPECT_FALSE(ParseEndpoint("http://127.0.0.1:8080/prefix").ok());
  EXPECT_FALSE(ParseEndpoint("http://").ok());
}

TEST(ClientTest, CallSignsAJsonCallForTheTargetsService) {
  FakeServer server;
  server.Reply(200, R"({"tasks":[]})");
  auto client = Connect(server);
  auto reply = client->Call(kEcsTargetPrefix, "DescribeTasks", json::object{{"cluster", "c"}});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(json::serialize(*reply), R"({"tasks":[]})");
  Seen seen = server.seen();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/");
  EXPECT_EQ(seen.amz_target, "AmazonEC2ContainerServiceV20141113.DescribeTasks");
  EXPECT_EQ(seen.content_type, "application/x-amz-json-1.1");
  EXPECT_EQ(seen.body, R"({"cluster":"c"})");
  EXPECT_EQ(seen.identity.access_key_id, kKey.access_key_id);
  EXPECT_EQ(seen.identity.region, "eu-west-1");
  EXPECT_EQ(seen.identity.service, "ecs");

  ASSERT_TRUE(client->Call(kEcrTargetPrefix, "GetAuthorizationToken", json::object{}).ok());
  EXPECT_EQ(server.seen().identity.service, "ecr");
}

TEST(ClientTest, AnErrorReplyBecomesTypeAndMessageWithTheOperation) {
  FakeServer server;
  server.Reply(400, R"({"__type":"ClusterNotFoundException","message":"Cluster not found."})");
  auto client = Connect(server);
  auto refused = client->Call(kEcsTargetPrefix, "DescribeTasks", json::object{});
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(),
            "DescribeTasks: ClusterNotFoundException: Cluster not found.");

  server.Reply(500, R"({"__type":"ServerException","message":"disk full"})");
  auto failed = client->Call(kEcsTargetPrefix, "RunTask", json::object{});
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(failed.status().message(), "RunTask: ServerException: disk full");

  server.Reply(502, "<html>bad gateway</html>");
  auto garbled = client->Call(kEcsTargetPrefix, "RunTask", json::object{});
  EXPECT_EQ(garbled.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(garbled.status().message(),
            "RunTask: server answered 502 with a body that is not JSON");
}

// An HTTP server's own one-line refusal (text/plain: a connection limit
// reached) is shown as it came.
TEST(ClientTest, PlainTextRefusalIsShown) {
  http::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.max_connections = 1;
  auto server = http::Server::Start(
      options, [](http::Request&&, http::Responder respond) { respond(http::Response{}); });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto first = Client::Create("http://127.0.0.1:" + std::to_string((*server)->port()), {"k", "s"});
  ASSERT_TRUE((*first)->Send("GET", "/").ok());  // holds the only connection
  auto second = Client::Create("http://127.0.0.1:" + std::to_string((*server)->port()), {"k", "s"});
  auto refused = (*second)->Call(kEcsTargetPrefix, "ListClusters", json::object{});
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().message(),
            "ListClusters: server answered 503: too many connections to this server (at most "
            "1); try again later");
}

TEST(ClientTest, AnUnknownKeyIsRefusedByTheServer) {
  FakeServer server;
  auto client = Connect(server, {"AKIDUNKNOWN", "nope"});
  auto refused = client->Call(kEcsTargetPrefix, "ListClusters", json::object{});
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("ListClusters: UnrecognizedClientException: "));
}

TEST(ClientTest, SetCredentialsSignsLaterCallsWithTheNewKey) {
  FakeServer server;
  server.Reply(200, "{}");
  auto client = Connect(server);
  client->SetCredentials(kOtherKey);
  EXPECT_EQ(client->credentials().access_key_id, kOtherKey.access_key_id);
  ASSERT_TRUE(client->Call(kEcsTargetPrefix, "ListClusters", json::object{}).ok());
  EXPECT_EQ(server.seen().identity.access_key_id, kOtherKey.access_key_id);
}

TEST(ClientTest, SendSignsARawRequestAndReturnsAnyReply) {
  FakeServer server;
  server.Reply(200, "log text");
  auto client = Connect(server);
  auto got = client->Send("GET", "/berth/v1/logs?task=t&offset=0");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->body, "log text");
  Seen seen = server.seen();
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, "/berth/v1/logs?task=t&offset=0");
  EXPECT_EQ(seen.content_type, "");
  EXPECT_EQ(seen.identity.service, "ecs");

  server.Reply(404, R"({"__type":"ResourceNotFoundException","message":"no such task"})");
  auto missing = client->Send("POST", "/berth/v1/registry/gc", R"({"minAgeSeconds":0})");
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(server.seen().content_type, "application/json");
  Status error = ErrorFromReply(*missing);
  EXPECT_EQ(error.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(error.message(), "ResourceNotFoundException: no such task");
}

TEST(ClientTest, SendNamesTheRequestOnATransportError) {
  auto client = Client::Create("http://127.0.0.1:1", kKey, 5);
  ASSERT_TRUE(client.ok());
  auto got = (*client)->Send("GET", "/berth/v1/logs?task=t");
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), ::testing::StartsWith("GET /berth/v1/logs: "));
}

TEST(ParseEndpointTest, AListOfServers) {
  auto list = ParseEndpoints("http://a:1,https://b");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].host_header, "a:1");
  EXPECT_EQ((*list)[1].port, 443);
  EXPECT_FALSE(ParseEndpoints("http://a:1,").ok());
  EXPECT_FALSE(ParseEndpoints("http://a:1,ftp://b").ok());
}

TEST(ClientTest, MovesToTheNextServerWhenOneIsGoneAndStaysThere) {
  FakeServer up;
  up.Reply(200, R"({"tasks":[]})");
  // Nothing listens on port 1.
  auto client = Client::Create("http://127.0.0.1:1," + up.endpoint(), kKey, 5);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto reply = (*client)->Call(kEcsTargetPrefix, "DescribeTasks", json::object{});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  // Signed for the server it reached.
  EXPECT_EQ((*client)->host(), up.endpoint().substr(7));
  EXPECT_EQ(up.seen().identity.access_key_id, kKey.access_key_id);
  ASSERT_TRUE((*client)->Send("GET", "/berth/v1/x").ok());
  EXPECT_EQ(up.seen().target, "/berth/v1/x");
}

TEST(ClientTest, A503MovesToTheNextServerAndOtherErrorsDoNot) {
  FakeServer electing, leader;
  electing.Reply(503, R"({"__type":"ServiceUnavailableException","message":"no leader"})");
  leader.Reply(200, R"({"ok":true})");
  auto client = Client::Create(electing.endpoint() + "," + leader.endpoint(), kKey, 5);
  ASSERT_TRUE(client.ok());
  auto reply = (*client)->Call(kEcsTargetPrefix, "ListClusters", json::object{});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(json::serialize(*reply), R"({"ok":true})");

  leader.Reply(400, R"({"__type":"ClusterNotFoundException","message":"no"})");
  electing.Reply(200, R"({"ok":true})");
  reply = (*client)->Call(kEcsTargetPrefix, "DescribeClusters", json::object{});
  EXPECT_EQ(reply.status().code(), StatusCode::kFailedPrecondition);  // refused, not moved on

  // All gone: the last server's answer.
  leader.Reply(503, R"({"__type":"ServiceUnavailableException","message":"no leader"})");
  electing.Reply(503, R"({"__type":"ServiceUnavailableException","message":"still none"})");
  reply = (*client)->Call(kEcsTargetPrefix, "ListClusters", json::object{});
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
}

// A server that is starting or electing a leader answers 503 to a call it
// did not apply: with retries asked for, the call is sent again until it
// is answered, or the retries are spent and the 503 is the answer.
TEST(ClientTest, A503IsSentAgainAsOftenAsTheOptionsSay) {
  FakeServer electing;
  const std::string no_leader = R"({"__type":"ServiceUnavailableException","message":"no leader"})";
  electing.ReplyOnce(503, no_leader);
  electing.ReplyOnce(503, no_leader);
  electing.Reply(200, R"({"clusterArns":[]})");
  ClientOptions options;
  options.unavailable_retries = 2;
  options.first_retry_wait = std::chrono::milliseconds(1);
  auto client = Client::Create(electing.endpoint(), kKey, 5, options);
  ASSERT_TRUE(client.ok());
  auto reply = (*client)->Call(kEcsTargetPrefix, "ListClusters", json::object{});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(electing.requests(), 3);

  for (int i = 0; i < 3; ++i) electing.ReplyOnce(503, no_leader);
  reply = (*client)->Call(kEcsTargetPrefix, "ListClusters", json::object{});
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(reply.status().message(), "ListClusters: ServiceUnavailableException: no leader");
  EXPECT_EQ(electing.requests(), 6);

  // Other errors are answers, not sent again.
  electing.ReplyOnce(400, R"({"__type":"ClusterNotFoundException","message":"no"})");
  reply = (*client)->Call(kEcsTargetPrefix, "DescribeClusters", json::object{});
  EXPECT_EQ(reply.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(electing.requests(), 7);
}

// Without retries (the default) the first 503 is the answer.
TEST(ClientTest, A503IsTheAnswerWithoutRetries) {
  FakeServer electing;
  electing.ReplyOnce(503, R"({"__type":"ServiceUnavailableException","message":"no leader"})");
  electing.Reply(200, "{}");
  auto client = Connect(electing);
  auto reply = client->Call(kEcsTargetPrefix, "ListClusters", json::object{});
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(electing.requests(), 1);
}

TEST(ErrorFromReplyTest, ABodyThatIsNotAnAwsErrorIsQuoted) {
  http::Response reply;
  reply.status = 503;
  reply.body = "try later";
  Status error = ErrorFromReply(reply);
  EXPECT_EQ(error.code(), StatusCode::kUnavailable);
  EXPECT_EQ(error.message(), "server answered 503: try later");
}

}  // namespace
}  // namespace berth::awsjson
