#include "http/server_tls.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/log.h"

namespace berth::http {

namespace {

namespace ssl = boost::asio::ssl;

// OpenSSL's reason for the last failure ("no start line", "key values
// mismatch"), cleared from its queue.
std::string OpenSslReason() {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : "OpenSSL error " + std::to_string(code);
}

Status Readable(const std::string& what, const std::string& path) {
  if (path.empty()) return InvalidArgument(what + " file not given");
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read " + what + " " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

std::string Describe(X509* cert) {
  std::string out = "serial=";
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(serial)) {
      out += hex;
      OPENSSL_free(hex);
    }
    BN_free(serial);
  }
  if (char* subject = X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0)) {
    out += ", subject=";
    out += subject;
    OPENSSL_free(subject);
  }
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (ASN1_TIME_print(bio, X509_get0_notAfter(cert)) == 1) {
      char* data = nullptr;
      long n = BIO_get_mem_data(bio, &data);
      out += ", notAfter=";
      out.append(data, static_cast<size_t>(n));
    }
    BIO_free(bio);
  }
  return out;
}

struct Loaded {
  std::shared_ptr<ssl::context> context;
  std::string description;
};

StatusOr<Loaded> LoadPair(const std::string& cert_file, const std::string& key_file) {
  BERTH_RETURN_IF_ERROR(Readable("certificate", cert_file));
  BERTH_RETURN_IF_ERROR(Readable("key", key_file));
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Renegotiation lets one client make the server redo handshakes at will;
  // no berth client needs it.
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return InvalidArgument("certificate " + cert_file + ": " + OpenSslReason());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 &&
      ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
    return InvalidArgument("key " + key_file + ": " + OpenSslReason());
  }
  ERR_clear_error();
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return InvalidArgument("key " + key_file + " does not belong to certificate " + cert_file);
  }
  return Loaded{std::move(context), Describe(SSL_CTX_get0_certificate(ctx))};
}

}  // namespace

StatusOr<std::shared_ptr<ServerTls>> ServerTls::Load(std::string cert_file, std::string key_file) {
  auto tls = std::make_shared<ServerTls>(std::move(cert_file), std::move(key_file));
  BERTH_RETURN_IF_ERROR(tls->Reload());
  return tls;
}

Status ServerTls::Reload() {
  auto loaded = LoadPair(cert_file_, key_file_);
  if (!loaded.ok()) return loaded.status();
  std::lock_guard lock(mu_);
  current_ = std::move(loaded->context);
  description_ = std::move(loaded->description);
  return Status::Ok();
}

std::string ServerTls::Describe() const {
  std::lock_guard lock(mu_);
  return description_;
}

std::shared_ptr<ssl::context> ServerTls::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

void ReloadServerTls(ServerTls* tls) {
  if (tls == nullptr) {
    LogInfo("SIGHUP: nothing to reload (no --tls-cert)");
    return;
  }
  if (Status reloaded = tls->Reload(); !reloaded.ok()) {
    LogError("SIGHUP: tls certificate not reloaded; the one in use stays",
             {{"error", reloaded.message()}, {"serving", tls->Describe()}});
    return;
  }
  LogInfo("SIGHUP: tls certificate reloaded for new connections", {{"serving", tls->Describe()}});
}

}  // namespace berth::http
