// Internal to berth_http (client.cc and websocket.cc): the client side of
// TLS that the HTTP client and the WebSocket dialer share. Includes Asio's
// SSL headers; nothing outside src/http may include it.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/tls_options.h"

namespace berth::http::internal {

// One client SSL context per (extra CA file, client certificate, key),
// shared by every client of the process: loading the system's trust store
// takes milliseconds, and an SSL_CTX may serve many connections on many
// threads once set up. TLS 1.2 or later, the peer verified.
StatusOr<std::shared_ptr<boost::asio::ssl::context>> ClientTlsContext(const TlsOptions& tls);

// Before the handshake on ssl: verify the peer's certificate against name
// (an IP address against its IP SANs; a name against its DNS names, and
// sent as SNI). endpoint ("host:port") names the peer in the error.
Status ExpectPeerName(SSL* ssl, const std::string& name, const std::string& endpoint);

// One line for a failed client handshake: "tls handshake with ENDPOINT:
// certificate verify failed: ..." when the certificate was refused,
// "... timed out" or the transport error otherwise.
std::string HandshakeError(SSL* ssl, const boost::system::error_code& ec, const std::string& name,
                           const std::string& endpoint);

// Whether a failed handshake's ssl refused the certificate (as opposed to
// failing in transport or protocol).
bool CertificateRefused(SSL* ssl);

}  // namespace berth::http::internal
