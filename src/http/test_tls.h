// Test helpers for TLS: a throw-away CA and server certificate made with
// OpenSSL in memory, and a TLS front (a terminating proxy) that puts any
// plain http::Server behind https. Tests only: it includes Asio's SSL
// headers, which stay out of berth's own headers.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http/tls_options.h"

namespace berth::http::testing {

// A CA and a server certificate it signed, PEM. The server's names are its
// subjectAltName entries ("IP:127.0.0.1,DNS:localhost").
struct TestCertificates {
  std::string ca_pem;
  std::string server_cert_pem;
  std::string server_key_pem;

  // server_serial: the server certificate's serial number (a reload test
  // tells two apart by it).
  static TestCertificates Make(const std::string& server_names = "IP:127.0.0.1,DNS:localhost",
                               long server_serial = 2) {
    TestCertificates out;
    EVP_PKEY* ca_key = EVP_EC_gen("P-256");
    EVP_PKEY* server_key = EVP_EC_gen("P-256");
    X509* ca = NewCertificate(ca_key, "berth test CA", nullptr, nullptr, 1,
                              {{NID_basic_constraints, "critical,CA:TRUE"},
                               {NID_key_usage, "critical,keyCertSign,cRLSign"},
                               {NID_subject_key_identifier, "hash"}});
    X509* server = NewCertificate(server_key, "berth test server", ca, ca_key, server_serial,
                                  {{NID_basic_constraints, "critical,CA:FALSE"},
                                   {NID_key_usage, "critical,digitalSignature"},
                                   {NID_ext_key_usage, "serverAuth"},
                                   {NID_subject_alt_name, server_names},
                                   {NID_authority_key_identifier, "keyid"}});
    out.ca_pem = Pem([&](BIO* bio) { PEM_write_bio_X509(bio, ca); });
    out.server_cert_pem = Pem([&](BIO* bio) { PEM_write_bio_X509(bio, server); });
    out.server_key_pem = Pem([&](BIO* bio) {
      PEM_write_bio_PrivateKey(bio, server_key, nullptr, nullptr, 0, nullptr, nullptr);
    });
    X509_free(server);
    X509_free(ca);
    EVP_PKEY_free(server_key);
    EVP_PKEY_free(ca_key);
    return out;
  }

  // A file holding PEM text; removed by the destructor of the returned
  // holder.
  struct CaFile {
    std::string path;
    ~CaFile() {
      if (!path.empty()) ::unlink(path.c_str());
    }
  };
  static std::unique_ptr<CaFile> WritePemFile(const std::string& pem) {
    auto file = std::make_unique<CaFile>();
    char path[] = "/tmp/berth-test-pem-XXXXXX";
    int fd = ::mkstemp(path);
    EXPECT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << pem;
    file->path = path;
    return file;
  }
  std::unique_ptr<CaFile> WriteCaFile() const { return WritePemFile(ca_pem); }

 private:
  static X509* NewCertificate(EVP_PKEY* key, const char* common_name, X509* issuer,
                              EVP_PKEY* issuer_key, long serial,
                              const std::vector<std::pair<int, std::string>>& extensions) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
    for (const auto& [nid, value] : extensions) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
      EXPECT_NE(ext, nullptr) << "extension " << nid << " = " << value;
      if (ext) X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
    return x;
  }

  template <typename Write>
  static std::string Pem(Write write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    return out;
  }
};

// A server certificate and key on disk, as --tls-cert and --tls-key name
// them, and the CA that signed it; the files go with the object.
struct CertificateFiles {
  TestCertificates certs;
  std::unique_ptr<TestCertificates::CaFile> ca, cert, key;

  static CertificateFiles Make(long server_serial = 2) {
    CertificateFiles out;
    out.certs = TestCertificates::Make("IP:127.0.0.1,DNS:localhost", server_serial);
    out.ca = out.certs.WriteCaFile();
    out.cert = TestCertificates::WritePemFile(out.certs.server_cert_pem);
    out.key = TestCertificates::WritePemFile(out.certs.server_key_pem);
    return out;
  }

  // What a client that trusts the CA dials with.
  TlsOptions Trusting() const {
    TlsOptions tls;
    tls.enabled = true;
    tls.ca_file = ca->path;
    return tls;
  }
};

// Accepts TLS on 127.0.0.1 (an ephemeral port) with the given certificate
// and forwards each connection's plaintext to 127.0.0.1:backend_port.
class TlsFront {
 public:
  TlsFront(const TestCertificates& certs, uint16_t backend_port) : backend_port_(backend_port) {
    namespace asio = boost::asio;
    context_.use_certificate_chain(asio::buffer(certs.server_cert_pem));
    context_.use_private_key(asio::buffer(certs.server_key_pem), asio::ssl::context::pem);
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_context_.run(); });
  }
  ~TlsFront() {
    io_context_.stop();
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  using tcp = boost::asio::ip::tcp;
  using TlsSocket = boost::asio::ssl::stream<tcp::socket>;

  struct Session : std::enable_shared_from_this<Session> {
    Session(tcp::socket socket, boost::asio::ssl::context& context)
        : tls(std::move(socket), context), backend(tls.get_executor()) {}
    TlsSocket tls;
    tcp::socket backend;
    std::array<char, 16384> up{};    // client -> backend
    std::array<char, 16384> down{};  // backend -> client

    void Close() {
      boost::system::error_code ec;
      tls.lowest_layer().close(ec);
      backend.close(ec);
    }
    void PumpUp() {
      auto self = shared_from_this();
      tls.async_read_some(boost::asio::buffer(up), [self](boost::system::error_code ec, size_t n) {
        if (ec) return self->Close();
        boost::asio::async_write(self->backend, boost::asio::buffer(self->up.data(), n),
                                 [self](boost::system::error_code ec, size_t) {
                                   if (ec) return self->Close();
                                   self->PumpUp();
                                 });
      });
    }
    void PumpDown() {
      auto self = shared_from_this();
      backend.async_read_some(
          boost::asio::buffer(down), [self](boost::system::error_code ec, size_t n) {
            if (ec) return self->Close();
            boost::asio::async_write(self->tls, boost::asio::buffer(self->down.data(), n),
                                     [self](boost::system::error_code ec, size_t) {
                                       if (ec) return self->Close();
                                       self->PumpDown();
                                     });
          });
    }
  };

  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto session = std::make_shared<Session>(std::move(socket), context_);
      session->tls.async_handshake(
          boost::asio::ssl::stream_base::server, [this, session](boost::system::error_code ec) {
            if (ec) return session->Close();
            tcp::endpoint backend(boost::asio::ip::make_address("127.0.0.1"), backend_port_);
            session->backend.async_connect(backend, [session](boost::system::error_code ec) {
              if (ec) return session->Close();
              session->PumpUp();
              session->PumpDown();
            });
          });
      Accept();
    });
  }

  // Declared before io_context_: sessions still queued there when it is
  // destroyed hold SSL streams made from this context.
  boost::asio::ssl::context context_{boost::asio::ssl::context::tls_server};
  boost::asio::io_context io_context_{1};
  tcp::acceptor acceptor_{io_context_};
  uint16_t backend_port_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace berth::http::testing
