#include "http/websocket.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "http/client.h"
#include "http/exec_protocol.h"
#include "http/query_string.h"
#include "http/server.h"
#include "http/server_tls.h"
#include "http/test_tls.h"

namespace berth::http {
namespace {

using ::testing::HasSubstr;

std::atomic<int> echo_sessions{0};  // open /echo sessions, on their threads

// /echo upgrades and sends every message back; /refuse answers 403 to the
// upgrade, as the exec endpoint refuses a task that is not running.
void Handle(Request&& request, Responder respond) {
  if (request.Path() == "/refuse") {
    Response r;
    r.status = 403;
    r.SetHeader("content-type", "application/json");
    r.body = R"({"__type":"AccessDeniedException","message":"no"})";
    return respond(std::move(r));
  }
  respond(UpgradeToWebSocket([](std::unique_ptr<WebSocket> socket) {
    ++echo_sessions;
    std::thread([socket = std::move(socket)] {
      while (true) {
        auto message = socket->Read();
        if (!message.ok() || !socket->Write(*message).ok()) break;
      }
      --echo_sessions;
    }).detach();
  }));
}

class WebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.stop_grace_seconds = 2;
    auto server = Server::Start(options, Handle);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }

  StatusOr<std::unique_ptr<WebSocket>> Dial(const std::string& target,
                                            Response* refusal = nullptr) {
    Request request;
    request.method = "GET";
    request.target = target;
    request.headers = {{"x-test", "yes"}};
    return DialWebSocket("127.0.0.1", server_->port(), request, 5, refusal);
  }

  std::unique_ptr<Server> server_;
};

TEST_F(WebSocketTest, MessagesGoBothWays) {
  auto socket = Dial("/echo");
  ASSERT_TRUE(socket.ok()) << socket.status().ToString();
  std::string binary("\x00\x01\xff tail", 8);
  ASSERT_TRUE((*socket)->Write(binary).ok());
  ASSERT_TRUE((*socket)->Write("second").ok());
  auto first = (*socket)->Read();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, binary);
  EXPECT_EQ(*(*socket)->Read(), "second");
  (*socket)->Close();
  auto after = (*socket)->Read();
  EXPECT_EQ(after.status().code(), StatusCode::kAborted);
}

TEST_F(WebSocketTest, RefusedUpgradeIsAnOrdinaryReply) {
  Response refusal;
  auto socket = Dial("/refuse", &refusal);
  ASSERT_FALSE(socket.ok());
  EXPECT_EQ(socket.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refusal.status, 403);
  EXPECT_THAT(refusal.body, HasSubstr("AccessDeniedException"));
}

TEST_F(WebSocketTest, UpgradeReplyToAPlainRequestIs400) {
  auto client = Client::Create("127.0.0.1", server_->port(), 5);
  Request request;
  request.method = "GET";
  request.target = "/echo";
  auto reply = client->Do(request);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 400);
  EXPECT_THAT(reply->body, HasSubstr("WebSocket"));
}

TEST_F(WebSocketTest, StopClosesOpenSockets) {
  auto socket = Dial("/echo");
  ASSERT_TRUE(socket.ok()) << socket.status().ToString();
  ASSERT_TRUE((*socket)->Write("ping").ok());
  ASSERT_TRUE((*socket)->Read().ok());
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE((*socket)->Read().ok());
  // The handler's thread, blocked in Read, was let go.
  while (echo_sessions.load() != 0) {
    ASSERT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST_F(WebSocketTest, DialingNothingFails) {
  server_->Stop();
  auto socket = Dial("/echo");
  EXPECT_FALSE(socket.ok());
}

// wss://: the same socket over the server's TLS, the certificate verified
// by the dialer.
TEST(WebSocketTlsTest, MessagesGoBothWaysOverTlsAndAnUntrustedServerIsRefused) {
  auto files = testing::CertificateFiles::Make();
  auto tls = ServerTls::Load(files.cert->path, files.key->path);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.stop_grace_seconds = 2;
  options.tls = *tls;
  auto server = Server::Start(options, Handle);
  ASSERT_TRUE(server.ok()) << server.status().ToString();

  Request request;
  request.method = "GET";
  request.target = "/echo";
  TlsOptions trusting = files.Trusting();
  auto socket = DialWebSocket("127.0.0.1", (*server)->port(), request, 5, nullptr, trusting);
  ASSERT_TRUE(socket.ok()) << socket.status().ToString();
  ASSERT_TRUE((*socket)->Write("over tls").ok());
  auto echoed = (*socket)->Read();
  ASSERT_TRUE(echoed.ok()) << echoed.status().ToString();
  EXPECT_EQ(*echoed, "over tls");

  Response refusal;
  request.target = "/refuse";
  auto refused = DialWebSocket("127.0.0.1", (*server)->port(), request, 5, &refusal, trusting);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refusal.status, 403);

  TlsOptions untrusting;
  untrusting.enabled = true;
  auto untrusted = DialWebSocket("127.0.0.1", (*server)->port(), request, 5, nullptr, untrusting);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_THAT(untrusted.status().message(),
              HasSubstr("tls handshake with 127.0.0.1:" + std::to_string((*server)->port()) +
                        ": certificate verify failed"));
}

TEST(IsWebSocketUpgradeTest, NeedsGetAndBothHeaders) {
  Request r;
  r.method = "GET";
  r.headers = {{"connection", "keep-alive, Upgrade"}, {"upgrade", "WebSocket"}};
  EXPECT_TRUE(IsWebSocketUpgrade(r));
  r.method = "POST";
  EXPECT_FALSE(IsWebSocketUpgrade(r));
  r.method = "GET";
  r.headers = {{"connection", "keep-alive"}, {"upgrade", "websocket"}};
  EXPECT_FALSE(IsWebSocketUpgrade(r));
}

TEST(ExecFramesTest, RoundTrips) {
  std::string out = EncodeExecFrame(ExecChannel::kStdout, std::string("hi\0", 3));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], '\x01');
  auto frame = DecodeExecFrame(out);
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->channel, ExecChannel::kStdout);
  EXPECT_EQ(frame->payload, std::string_view("hi\0", 3));

  std::string close_message = EncodeExecCloseStdin();
  auto close = DecodeExecFrame(close_message);
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(close->channel, ExecChannel::kClose);
  EXPECT_EQ(close->payload, std::string_view("\0", 1));

  std::string status_message = EncodeExecStatus({.exit_code = 7, .error = ""});
  auto status = DecodeExecFrame(status_message);
  ASSERT_EQ(status->channel, ExecChannel::kStatus);
  EXPECT_EQ(status->payload, R"({"exitCode":7})");
  EXPECT_EQ(DecodeExecStatus(status->payload)->exit_code, 7);
  std::string error_message = EncodeExecStatus({.exit_code = std::nullopt, .error = "gone"});
  auto error = DecodeExecStatus(DecodeExecFrame(error_message)->payload);
  ASSERT_TRUE(error.ok());
  EXPECT_FALSE(error->exit_code);
  EXPECT_EQ(error->error, "gone");

  std::string resize_message = EncodeExecResize({.columns = 120, .rows = 40});
  auto resize = DecodeExecFrame(resize_message);
  EXPECT_EQ(resize->payload, R"({"Width":120,"Height":40})");
  auto size = DecodeExecResize(resize->payload);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size->columns, 120);
  EXPECT_EQ(size->rows, 40);
}

TEST(ExecQueryTest, RoundTripsThroughAQueryString) {
  ExecOptions options{{"sh", "-c", "echo \"a b\" & exit 7"}, true, false};
  std::string query = EncodeExecQuery(options);
  auto decoded = DecodeExecQuery(ParseQueryString(query));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->command, options.command);
  EXPECT_TRUE(decoded->tty);
  EXPECT_FALSE(decoded->stdin);
}

TEST(ExecQueryTest, RefusesBadParameters) {
  auto refused = [](std::string query) {
    auto decoded = DecodeExecQuery(ParseQueryString(query));
    return decoded.ok() ? std::string("accepted") : decoded.status().message();
  };
  EXPECT_THAT(refused(""), HasSubstr("command is required"));
  EXPECT_THAT(refused("command=sh"), HasSubstr("JSON array"));
  EXPECT_THAT(refused("command=%5B%5D"), HasSubstr("JSON array"));
  EXPECT_THAT(refused("command=%5B1%5D"), HasSubstr("strings"));
  EXPECT_THAT(refused("command=%5B%22sh%22%5D&tty=yes"), HasSubstr("tty must be true or false"));
  EXPECT_EQ(refused("command=%5B%22sh%22%5D&stdin=true"), "accepted");
}

TEST(ExecFramesTest, RefusesMalformedFrames) {
  EXPECT_FALSE(DecodeExecFrame("").ok());
  EXPECT_FALSE(DecodeExecFrame("\x09oops").ok());
  EXPECT_FALSE(DecodeExecStatus("not json").ok());
  EXPECT_FALSE(DecodeExecStatus(R"({"exitCode":300})").ok());
  EXPECT_FALSE(DecodeExecStatus(R"({})").ok());
  EXPECT_FALSE(DecodeExecResize(R"({"Width":-1,"Height":2})").ok());
  EXPECT_FALSE(DecodeExecResize(R"({"Width":70000,"Height":2})").ok());
  EXPECT_FALSE(DecodeExecResize(R"({"Width":"80","Height":2})").ok());
}

}  // namespace
}  // namespace berth::http
