// Client over TLS: certificate and name verification, keep-alive, streamed
// bodies both ways, and the fall back to plain HTTP for servers that do not
// speak TLS. The server is a plain http::Server behind testing::TlsFront.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "common/crypto.h"
#include "http/client.h"
#include "http/server.h"
#include "http/test_tls.h"

namespace berth::http {
namespace {

using ::testing::HasSubstr;

// Echoes the method, path and body; counts the bytes of a streamed upload.
std::unique_ptr<Server> StartEcho(int idle_timeout_seconds = 120) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.max_body_bytes = 64 << 20;
  options.idle_timeout_seconds = idle_timeout_seconds;
  auto server = Server::Start(options, [](Request&& request, Responder respond) {
    Response r;
    r.SetHeader("X-Method", request.method);
    r.SetHeader("X-Path", std::string(request.Path()));
    r.SetHeader("X-Sha256", Sha256Hex(request.body));
    if (request.Path() == "/big") {
      r.body = std::string(5 << 20, 'x');
    } else {
      r.body = request.body;
    }
    respond(std::move(r));
  });
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return std::move(server).value();
}

Request Get(const std::string& target) {
  Request r;
  r.method = "GET";
  r.target = target;
  return r;
}

class TlsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = testing::TestCertificates::Make();
    ca_file_ = certs_.WriteCaFile();
    server_ = StartEcho();
    front_ = std::make_unique<testing::TlsFront>(certs_, server_->port());
  }

  TlsOptions Trusting() const {
    TlsOptions tls;
    tls.enabled = true;
    tls.ca_file = ca_file_->path;
    return tls;
  }

  testing::TestCertificates certs_;
  std::unique_ptr<testing::TestCertificates::CaFile> ca_file_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<testing::TlsFront> front_;
};

TEST_F(TlsClientTest, TrustedCaFileSucceedsAndKeepsTheConnection) {
  auto client = Client::Create("127.0.0.1", front_->port(), 10, Trusting());
  EXPECT_TRUE(client->tls());
  for (int i = 0; i < 3; ++i) {
    auto r = client->Do(Get("/hello"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(*r->Header("x-path"), "/hello");
  }
  // By name too: the certificate names localhost.
  auto by_name = Client::Create("localhost", front_->port(), 10, Trusting());
  auto r = by_name->Do(Get("/name"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
}

TEST_F(TlsClientTest, UntrustedCertificateIsRefused) {
  TlsOptions tls;
  tls.enabled = true;  // the system's trust store only
  auto client = Client::Create("127.0.0.1", front_->port(), 10, tls);
  auto r = client->Do(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(),
              HasSubstr("tls handshake with 127.0.0.1:" + std::to_string(front_->port()) +
                        ": certificate verify failed: unable to get local issuer certificate"));
  // Even when the server cannot speak TLS is allowed as a fall back: a
  // certificate error is never a reason to talk plain HTTP.
  tls.fall_back_to_plain = true;
  auto fallback = Client::Create("127.0.0.1", front_->port(), 10, tls);
  r = fallback->Do(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("certificate verify failed"));
  EXPECT_TRUE(fallback->tls());
}

TEST_F(TlsClientTest, WrongNameOrAddressIsRefused) {
  TlsOptions tls = Trusting();
  tls.server_name = "registry.example.com";
  auto client = Client::Create("127.0.0.1", front_->port(), 10, tls);
  auto r = client->Do(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("certificate verify failed: hostname mismatch"));
  EXPECT_THAT(r.status().message(), HasSubstr("registry.example.com"));

  // A certificate for a name only, reached by its address.
  auto named = testing::TestCertificates::Make("DNS:registry.example.com");
  auto named_ca = named.WriteCaFile();
  testing::TlsFront front(named, server_->port());
  tls = Trusting();
  tls.ca_file = named_ca->path;
  auto by_ip = Client::Create("127.0.0.1", front.port(), 10, tls);
  r = by_ip->Do(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("certificate verify failed: IP address mismatch"));
  // The name it is for, with the address connected to.
  tls.server_name = "registry.example.com";
  auto by_name = Client::Create("127.0.0.1", front.port(), 10, tls);
  r = by_name->Do(Get("/"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(TlsClientTest, MissingCaFileIsAnError) {
  TlsOptions tls;
  tls.enabled = true;
  tls.ca_file = "/nonexistent/ca.pem";
  auto client = Client::Create("127.0.0.1", front_->port(), 10, tls);
  auto r = client->Do(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("load CA file /nonexistent/ca.pem"));
}

TEST_F(TlsClientTest, ClientCertificateFilesAreCheckedBeforeConnecting) {
  TlsOptions tls = Trusting();
  tls.cert_file = "/nonexistent/client.pem";
  auto r = Client::Create("127.0.0.1", front_->port(), 10, tls)->Do(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("needs both its certificate and its key file"));
  tls.key_file = "/nonexistent/client-key.pem";
  r = Client::Create("127.0.0.1", front_->port(), 10, tls)->Do(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("load client certificate /nonexistent/client.pem"));
}

TEST_F(TlsClientTest, StreamsLargeBodiesBothWays) {
  auto client = Client::Create("127.0.0.1", front_->port(), 10, Trusting());
  struct CountingSink : BodySink {
    Status Write(std::string_view piece) override {
      bytes += piece.size();
      return Status::Ok();
    }
    uint64_t bytes = 0;
  } sink;
  auto r = client->Do(Get("/big"), &sink);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(sink.bytes, uint64_t{5} << 20);

  // An upload from a source, fixed length and chunked, on the same client.
  struct Pieces : BodySource {
    explicit Pieces(int n) : left(n) {}
    StatusOr<std::string_view> Next() override {
      if (left == 0) return std::string_view();
      --left;
      return std::string_view(piece);
    }
    int left;
    std::string piece = std::string(100000, 'u');
  };
  std::string expected = Sha256Hex(std::string(3 * 100000, 'u'));
  for (uint64_t length : {uint64_t{300000}, Client::kChunked}) {
    Pieces source(3);
    Request put;
    put.method = "PUT";
    put.target = "/upload";
    auto up = client->Do(put, source, length, nullptr);
    ASSERT_TRUE(up.ok()) << up.status().ToString();
    EXPECT_EQ(up->status, 200);
    EXPECT_EQ(*up->Header("x-sha256"), expected);
  }
}

TEST_F(TlsClientTest, ReconnectsWhenTheServerClosedAKeptAliveConnection) {
  auto quick = StartEcho(/*idle_timeout_seconds=*/1);
  testing::TlsFront front(certs_, quick->port());
  auto client = Client::Create("127.0.0.1", front.port(), 10, Trusting());
  ASSERT_TRUE(client->Do(Get("/one")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1800));
  auto r = client->Do(Get("/two"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->Header("x-path"), "/two");
}

TEST_F(TlsClientTest, FallsBackToPlainOnlyWhenAllowed) {
  TlsOptions tls = Trusting();
  auto strict = Client::Create("127.0.0.1", server_->port(), 10, tls);
  auto r = strict->Do(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("tls handshake with 127.0.0.1:" + std::to_string(server_->port())));

  tls.fall_back_to_plain = true;
  auto lenient = Client::Create("127.0.0.1", server_->port(), 10, tls);
  for (int i = 0; i < 2; ++i) {
    r = lenient->Do(Get("/plain"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r->Header("x-path"), "/plain");
    EXPECT_FALSE(lenient->tls());
  }
  // A TLS server stays TLS.
  auto tls_server = Client::Create("127.0.0.1", front_->port(), 10, tls);
  ASSERT_TRUE(tls_server->Do(Get("/")).ok());
  EXPECT_TRUE(tls_server->tls());
}

}  // namespace
}  // namespace berth::http
