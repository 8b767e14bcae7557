#include "http/client_tls.h"

#include <openssl/x509_vfy.h>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/error.hpp>
#include <map>
#include <mutex>
#include <tuple>

namespace berth::http::internal {

namespace asio = boost::asio;

// The files are read once (the flags do not change while berth runs);
// failures are not kept, so a fixed file is picked up on the next
// connection.
StatusOr<std::shared_ptr<asio::ssl::context>> ClientTlsContext(const TlsOptions& tls) {
  static std::mutex mu;
  static std::map<std::tuple<std::string, std::string, std::string>,
                  std::shared_ptr<asio::ssl::context>>
      contexts;
  std::lock_guard lock(mu);
  auto id = std::make_tuple(tls.ca_file, tls.cert_file, tls.key_file);
  if (auto it = contexts.find(id); it != contexts.end()) return it->second;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return InvalidArgument("a client certificate needs both its certificate and its key file");
  }
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  context->set_default_verify_paths(ec);
  if (ec) return Internal("load the system's trusted certificates: " + ec.message());
  if (!tls.ca_file.empty()) {
    context->load_verify_file(tls.ca_file, ec);
    if (ec) return InvalidArgument("load CA file " + tls.ca_file + ": " + ec.message());
  }
  if (!tls.cert_file.empty()) {
    context->use_certificate_chain_file(tls.cert_file, ec);
    if (ec)
      return InvalidArgument("load client certificate " + tls.cert_file + ": " + ec.message());
    context->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
    if (ec) return InvalidArgument("load client key " + tls.key_file + ": " + ec.message());
  }
  context->set_verify_mode(asio::ssl::verify_peer);
  contexts[id] = context;
  return context;
}

Status ExpectPeerName(SSL* ssl, const std::string& name, const std::string& endpoint) {
  boost::system::error_code ec;
  asio::ip::make_address(name, ec);
  bool ok;
  if (!ec) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1 && SSL_set1_host(ssl, name.c_str()) == 1;
  }
  if (ok) return Status::Ok();
  return InvalidArgument("tls handshake with " + endpoint + ": cannot verify the name \"" + name +
                         "\"");
}

bool CertificateRefused(SSL* ssl) { return SSL_get_verify_result(ssl) != X509_V_OK; }

std::string HandshakeError(SSL* ssl, const boost::system::error_code& ec, const std::string& name,
                           const std::string& endpoint) {
  long verify = SSL_get_verify_result(ssl);
  std::string message = "tls handshake with " + endpoint + ": ";
  if (verify != X509_V_OK) {
    message += "certificate verify failed: ";
    message += X509_verify_cert_error_string(verify);
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      message += " (the certificate is not for \"" + name + "\")";
    }
  } else if (ec == boost::beast::error::timeout) {
    message += "timed out";
  } else {
    message += ec.message();
  }
  return message;
}

}  // namespace berth::http::internal
