// WebSocket connections (RFC 6455) behind a Beast-free interface: a
// server handler upgrades a request by answering it with
// UpgradeToWebSocket, and a client dials one with DialWebSocket. `berth
// exec` relays a command's streams over them (see exec_protocol.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/message.h"
#include "http/tls_options.h"

namespace berth::http {

// One open WebSocket, messages sent as binary frames. Thread-safe: one
// thread may block in Read while others Write and Close. The blocking calls
// must not run on an HTTP server's I/O thread (they wait for it).
//
// Both ends ping when the connection is quiet, so a peer that vanished is
// noticed within a minute even while no data flows.
class WebSocket {
 public:
  virtual ~WebSocket() = default;  // closes (as Close) if still open

  // The next whole message. kAborted once the connection is closed, by
  // either end (a close frame, Close(), a dropped connection, a server
  // stopping); the message says which.
  virtual StatusOr<std::string> Read() = 0;
  // Sends message as one binary frame; waits until it is written.
  virtual Status Write(std::string_view message) = 0;
  // Starts the closing handshake (a normal close) and returns at once; a
  // Read blocked now or later returns kAborted once it completes. Idempotent.
  virtual void Close() = 0;
};

// Given the open WebSocket on an I/O thread; it must not block there (hand
// the socket to a thread of its own).
using WebSocketHandler = std::function<void(std::unique_ptr<WebSocket>)>;

// A reply that accepts a WebSocket upgrade: the server completes the
// handshake (101) and calls on_open with the socket. If the request was not
// an upgrade (IsWebSocketUpgrade), the client gets 400 instead. When the
// handshake fails, on_open is destroyed without being called. To refuse an
// upgrade, answer with any ordinary response.
Response UpgradeToWebSocket(WebSocketHandler on_open);

// Whether request asks to become a WebSocket (GET with Connection: upgrade,
// Upgrade: websocket).
bool IsWebSocketUpgrade(const Request& request);

// Dials ws://host:port (wss:// with tls.enabled, the server's certificate
// verified as Client verifies it) and sends request's target and headers
// (its method must be GET; a Host header in it is used as is, so a signed
// request stays valid). When the server answers with anything but 101, the
// result is kFailedPrecondition and *refusal (when given) holds that
// answer, body included. Connecting and the handshakes wait timeout_seconds
// at most.
StatusOr<std::unique_ptr<WebSocket>> DialWebSocket(const std::string& host, uint16_t port,
                                                   const Request& request, int timeout_seconds,
                                                   Response* refusal = nullptr,
                                                   const TlsOptions& tls = {});

}  // namespace berth::http
