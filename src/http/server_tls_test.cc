// The server's own TLS: what a trusting client, an untrusting one and an
// old-protocol one see; the certificate reloaded for new connections while
// open ones keep theirs; errors in the files named in one line.
#include "http/server_tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "common/crypto.h"
#include "common/metrics.h"
#include "http/client.h"
#include "http/server.h"
#include "http/test_requests.h"
#include "http/test_tls.h"

namespace berth::http {
namespace {

using ::testing::HasSubstr;
using CertFile = testing::TestCertificates::CaFile;
using testing::EchoPath;
using testing::Get;

// What a hand-made TLS client saw: the handshake's error, or the serial of
// the server's certificate.
struct Handshake {
  bool ok = false;
  long serial = 0;
  std::string error;
};

// A TLS handshake with 127.0.0.1:port trusting ca_file, offering TLS
// versions up to max_version (0: any). The security level is lowered so
// that this side really offers old versions: refusing them is the
// server's doing.
Handshake TryHandshake(uint16_t port, const std::string& ca_file, int max_version = 0) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.load_verify_file(ca_file);
  context.set_verify_mode(asio::ssl::verify_peer);
  if (max_version != 0) {
    SSL_CTX_set_security_level(context.native_handle(), 0);
    SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(context.native_handle(), max_version);
  }
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, context);
  boost::system::error_code ec;
  stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  Handshake out;
  if (!ec) stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) {
    out.error = ec.message();
    return out;
  }
  out.ok = true;
  if (X509* cert = SSL_get1_peer_certificate(stream.native_handle())) {
    out.serial = ASN1_INTEGER_get(X509_get_serialNumber(cert));
    X509_free(cert);
  }
  return out;
}

double ClosedCount(const std::string& listener, const std::string& reason) {
  return metrics::DefaultRegistry()
      .AddCounter("berth_http_connections_closed_total", "", {"listener", "reason"})
      .With({listener, reason})
      .Value();
}

class ServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = testing::CertificateFiles::Make(101);
    auto tls = ServerTls::Load(files_.cert->path, files_.key->path);
    ASSERT_TRUE(tls.ok()) << tls.status().ToString();
    tls_ = *tls;
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.name = listener_;
    options.tls = tls_;
    auto server = Server::Start(options, EchoPath);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }

  std::unique_ptr<Client> Trusting() {
    return Client::Create("127.0.0.1", server_->port(), 5, files_.Trusting());
  }

  // Replaces the certificate and key files with a pair of another CA whose
  // server certificate has serial `serial`; returns that CA's file.
  std::unique_ptr<CertFile> RotateTo(long serial) {
    auto next = testing::TestCertificates::Make("IP:127.0.0.1,DNS:localhost", serial);
    std::ofstream(files_.cert->path, std::ios::trunc) << next.server_cert_pem;
    std::ofstream(files_.key->path, std::ios::trunc) << next.server_key_pem;
    return next.WriteCaFile();
  }

  const std::string listener_ =
      "tls-test-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
  testing::CertificateFiles files_;
  std::shared_ptr<ServerTls> tls_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTlsTest, TrustingClientIsServedOverOneConnection) {
  auto client = Trusting();
  auto first = client->Do(Get("/one"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "/one");
  auto second = client->Do(Get("/two"));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->body, "/two");
  EXPECT_EQ(*second->Header("x-remote"), *first->Header("x-remote"));  // kept alive
  EXPECT_THAT(tls_->Describe(), HasSubstr("serial=65"));               // 101
}

// Bodies larger than a TLS record arrive whole both ways: replies from
// memory and from a file (registry blobs), and a request body.
TEST(ServerTlsBodiesTest, LargeBodiesArriveWholeBothWays) {
  auto files = testing::CertificateFiles::Make();
  auto tls = ServerTls::Load(files.cert->path, files.key->path);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  const std::string big(3 << 20, 'b');
  auto blob = testing::TestCertificates::WritePemFile(std::string(1 << 20, 'f'));
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.max_body_bytes = 8 << 20;
  options.tls = *tls;
  auto server = Server::Start(options, [&](Request&& request, Responder respond) {
    Response r;
    if (request.Path() == "/file") {
      r.body_file = blob->path;
      r.file_offset = 10;
      r.file_length = (1 << 20) - 10;
    } else if (request.method == "PUT") {
      r.body = Sha256Hex(request.body);
    } else {
      r.body = big;
    }
    respond(std::move(r));
  });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto client = Client::Create("127.0.0.1", (*server)->port(), 10, files.Trusting());
  for (int i = 0; i < 2; ++i) {
    auto memory = client->Do(Get("/memory"));
    ASSERT_TRUE(memory.ok()) << memory.status().ToString();
    EXPECT_EQ(memory->body.size(), big.size());
    auto file = client->Do(Get("/file"));
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_EQ(file->body, std::string((1 << 20) - 10, 'f'));
  }
  Request put = Get("/upload");
  put.method = "PUT";
  put.body = std::string(100000, 'u');
  auto whole = client->Do(put);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(whole->body, Sha256Hex(put.body));
}

TEST_F(ServerTlsTest, ClientThatDoesNotTrustTheCertificateIsRefused) {
  TlsOptions tls;
  tls.enabled = true;  // the system's trust store only
  auto reply = Client::Create("127.0.0.1", server_->port(), 5, tls)->Do(Get("/"));
  ASSERT_FALSE(reply.ok());
  EXPECT_THAT(reply.status().message(), HasSubstr("certificate verify failed"));
}

TEST_F(ServerTlsTest, PlainHttpClientGetsNoReply) {
  double before = ClosedCount(listener_, "tls_handshake");
  auto reply = Client::Create("127.0.0.1", server_->port(), 5)->Do(Get("/"));
  EXPECT_FALSE(reply.ok());
  for (int i = 0; i < 100 && ClosedCount(listener_, "tls_handshake") == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ClosedCount(listener_, "tls_handshake"), before + 1);
}

TEST_F(ServerTlsTest, TlsBelowOnePointTwoIsRefused) {
  double before = ClosedCount(listener_, "tls_handshake");
  Handshake old = TryHandshake(server_->port(), files_.ca->path, TLS1_1_VERSION);
  EXPECT_FALSE(old.ok);
  EXPECT_THAT(old.error, HasSubstr("protocol version"));
  Handshake tls12 = TryHandshake(server_->port(), files_.ca->path, TLS1_2_VERSION);
  EXPECT_TRUE(tls12.ok) << tls12.error;
  for (int i = 0; i < 100 && ClosedCount(listener_, "tls_handshake") == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ClosedCount(listener_, "tls_handshake"), before + 1);
}

TEST_F(ServerTlsTest, ReloadServesNewConnectionsTheNewCertificateAndKeepsOpenOnes) {
  auto kept = Trusting();
  auto before = kept->Do(Get("/before"));
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(TryHandshake(server_->port(), files_.ca->path).serial, 101);

  auto next_ca = RotateTo(202);
  ASSERT_TRUE(tls_->Reload().ok());
  EXPECT_THAT(tls_->Describe(), HasSubstr("serial=CA"));  // 202

  Handshake fresh = TryHandshake(server_->port(), next_ca->path);
  ASSERT_TRUE(fresh.ok) << fresh.error;
  EXPECT_EQ(fresh.serial, 202);
  EXPECT_FALSE(TryHandshake(server_->port(), files_.ca->path).ok);  // the old CA no longer fits

  // The connection opened before the reload goes on with its own session.
  auto after = kept->Do(Get("/after"));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->body, "/after");
  EXPECT_EQ(*after->Header("x-remote"), *before->Header("x-remote"));
}

TEST_F(ServerTlsTest, FailedReloadKeepsTheCertificateInUse) {
  std::ofstream(files_.key->path, std::ios::trunc) << "not a key\n";
  Status reload = tls_->Reload();
  ASSERT_FALSE(reload.ok());
  EXPECT_THAT(reload.message(), HasSubstr("key " + files_.key->path));
  EXPECT_EQ(TryHandshake(server_->port(), files_.ca->path).serial, 101);
}

TEST(ServerTlsLoadTest, ErrorsNameTheFile) {
  auto certs = testing::TestCertificates::Make();
  auto other = testing::TestCertificates::Make();
  auto cert = testing::TestCertificates::WritePemFile(certs.server_cert_pem);
  auto other_key = testing::TestCertificates::WritePemFile(other.server_key_pem);

  auto missing = ServerTls::Load("/nonexistent/cert.pem", other_key->path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "cannot read certificate /nonexistent/cert.pem: No such file or directory");

  auto mismatch = ServerTls::Load(cert->path, other_key->path);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().message(),
            "key " + other_key->path + " does not belong to certificate " + cert->path);

  auto not_pem = ServerTls::Load(other_key->path, other_key->path);
  ASSERT_FALSE(not_pem.ok());
  EXPECT_THAT(not_pem.status().message(), HasSubstr("certificate " + other_key->path + ": "));
}

}  // namespace
}  // namespace berth::http
