#include "server/leader_forwarder.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>

#include "http/client.h"
#include "http/server.h"
#include "http/server_tls.h"
#include "http/test_tls.h"

namespace berth::server {
namespace {

// A leader that records what reached it and answers with what it saw;
// over https with tls.
class FakeLeader {
 public:
  explicit FakeLeader(std::shared_ptr<http::ServerTls> tls = nullptr) {
    http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.max_body_bytes = 64 << 20;
    options.tls = std::move(tls);
    auto server = http::Server::Start(options, [this](http::Request&& r, http::Responder respond) {
      http::Response reply;
      reply.status = r.Path() == "/refuse" ? 403 : 201;
      reply.SetHeader("x-seen-host", r.Header("host") ? *r.Header("host") : "");
      reply.SetHeader("x-seen-forwarded",
                      r.Header("x-berth-forwarded-by") ? *r.Header("x-berth-forwarded-by") : "");
      reply.SetHeader("x-seen-auth", r.Header("authorization") ? *r.Header("authorization") : "");
      reply.body = r.method + " " + r.target + " " + std::to_string(r.body.size());
      respond(std::move(reply));
    });
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }
  ~FakeLeader() { server_->Stop(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }

 private:
  std::unique_ptr<http::Server> server_;
};

// A follower in front of leader: every request relayed, uploads streamed.
class FakeFollower {
 public:
  explicit FakeFollower(std::string leader, http::TlsOptions leader_tls = {})
      : leader_(std::move(leader)), forwarder_("follower:1", std::move(leader_tls)) {
    http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.max_body_bytes = 1 << 20;  // larger bodies must stream
    options.stream_body = [this](const http::Request& head) -> std::shared_ptr<http::BodySink> {
      return head.method == "PUT" ? forwarder_.StreamTo(head, leader_) : nullptr;
    };
    auto server = http::Server::Start(options, [this](http::Request&& r, http::Responder respond) {
      forwarder_.Forward(std::move(r), leader_, std::move(respond));
    });
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }
  ~FakeFollower() { server_->Stop(); }
  uint16_t port() const { return server_->port(); }

 private:
  std::string leader_;
  LeaderForwarder forwarder_;
  std::unique_ptr<http::Server> server_;
};

http::Request Post(std::string target, std::string body) {
  http::Request r;
  r.method = "POST";
  r.target = std::move(target);
  r.body = std::move(body);
  r.headers = {{"host", "api.example:8080"}, {"authorization", "AWS4-HMAC-SHA256 sig"}};
  return r;
}

TEST(LeaderForwarderTest, RelaysTheRequestUnchangedAndTheReplyBack) {
  FakeLeader leader;
  FakeFollower follower(leader.address());
  auto client = http::Client::Create("127.0.0.1", follower.port(), 10);
  auto reply = client->Do(Post("/a?b=c", "hello"));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 201);
  EXPECT_EQ(reply->body, "POST /a?b=c 5");
  // The Host the client signed, its signature, and who relayed it.
  EXPECT_EQ(*reply->Header("x-seen-host"), "api.example:8080");
  EXPECT_EQ(*reply->Header("x-seen-auth"), "AWS4-HMAC-SHA256 sig");
  EXPECT_EQ(*reply->Header("x-seen-forwarded"), "follower:1");
}

TEST(LeaderForwarderTest, StreamsAnUploadLargerThanAnyBuffer) {
  FakeLeader leader;
  FakeFollower follower(leader.address());
  auto client = http::Client::Create("127.0.0.1", follower.port(), 30);
  http::Request put = Post("/v2/r/blobs/uploads/x", std::string(8 << 20, 'z'));
  put.method = "PUT";
  auto reply = client->Do(put);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 201);
  EXPECT_EQ(reply->body, "PUT /v2/r/blobs/uploads/x " + std::to_string(8 << 20));
}

// Servers serving https relay to the leader over https, verifying it.
TEST(LeaderForwarderTest, RelaysToALeaderOverTls) {
  auto files = http::testing::CertificateFiles::Make();
  auto tls = http::ServerTls::Load(files.cert->path, files.key->path);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  FakeLeader leader(*tls);
  FakeFollower follower(leader.address(), files.Trusting());
  auto client = http::Client::Create("127.0.0.1", follower.port(), 30);
  auto reply = client->Do(Post("/a", "hello"));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->body, "POST /a 5");
  http::Request put = Post("/v2/r/blobs/uploads/x", std::string(4 << 20, 'z'));
  put.method = "PUT";
  reply = client->Do(put);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->body, "PUT /v2/r/blobs/uploads/x " + std::to_string(4 << 20));

  // A follower that does not trust the leader's certificate relays nothing.
  http::TlsOptions untrusting;
  untrusting.enabled = true;
  FakeFollower wary(leader.address(), untrusting);
  reply = http::Client::Create("127.0.0.1", wary.port(), 30)->Do(Post("/a", "hello"));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 503);
  EXPECT_NE(reply->body.find("certificate verify failed"), std::string::npos) << reply->body;
}

TEST(LeaderForwarderTest, ALeaderThatIsGoneIs503) {
  std::string gone;
  {
    FakeLeader leader;
    gone = leader.address();
  }
  FakeFollower follower(gone);
  auto client = http::Client::Create("127.0.0.1", follower.port(), 10);
  auto reply = client->Do(Post("/", "{}"));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 503);
  EXPECT_NE(reply->body.find("ServiceUnavailableException"), std::string::npos);
}

TEST(LeaderForwarderTest, ARelayedRequestIsNotRelayedAgain) {
  FakeLeader leader;
  FakeFollower follower(leader.address());
  auto client = http::Client::Create("127.0.0.1", follower.port(), 10);
  http::Request relayed = Post("/", "{}");
  relayed.headers.emplace_back("x-berth-forwarded-by", "another:2");
  auto reply = client->Do(relayed);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 503);  // servers that disagree on the leader do not loop
}

}  // namespace
}  // namespace berth::server
