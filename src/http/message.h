// HTTP messages as plain values, free of Beast types, so that handlers and
// their tests include nothing heavy.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace berth::http {

class WebSocket;  // websocket.h

// Receives a request body piece by piece as it arrives, for bodies too large
// to hold in memory (image layers). Called on the connection's I/O thread.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The next piece of the body, in order. An error stops the upload: the
  // rest of the body is not read, the handler sees the error in
  // Request::body_status, and the connection closes after the reply.
  virtual Status Write(std::string_view piece) = 0;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path plus "?query", not decoded
  Headers headers;     // names lowercased, in the order received
  std::string body;
  std::string remote_address;  // peer "ip:port"; empty for client-side requests

  // Set only by server code, never read from the wire or sent by the client:
  // the access key id a request has already been authenticated as by other
  // means than its signature (the dashboard's session cookie, ui_endpoint.h).
  // AuthenticateRequest (sigv4.h) accepts such a request as that key's.
  std::string authenticated_access_key_id;

  // Set when the body went to a sink that ServerOptions::stream_body chose
  // (body is then empty): the sink, how many bytes it took, and how reading
  // ended (OK once the whole body arrived, else the sink's first error).
  // If the connection breaks mid-body the handler is not called at all and
  // the sink is released.
  std::shared_ptr<BodySink> body_sink;
  uint64_t body_bytes = 0;
  Status body_status;

  // First header with this (lowercase) name, or nullptr.
  const std::string* Header(std::string_view lowercase_name) const;
  std::string_view Path() const;   // target before '?'
  std::string_view Query() const;  // target after '?', or empty
};

struct Response {
  int status = 200;
  Headers headers;  // Content-Length is set by the server from body
  std::string body;

  // When body_file is set, the body is bytes [file_offset, file_offset +
  // file_length) of that file, streamed from disk (body must be empty). For
  // HEAD the length is announced and nothing is sent. A file that cannot be
  // read when the reply is written ends the connection.
  std::string body_file;
  uint64_t file_offset = 0;
  uint64_t file_length = 0;

  // Set by UpgradeToWebSocket (websocket.h): the request becomes a
  // WebSocket, handed to this function once the handshake is done.
  std::function<void(std::unique_ptr<WebSocket>)> on_websocket;

  const std::string* Header(std::string_view lowercase_name) const;
  // Replaces every header of this name (compared case-insensitively) with
  // one entry, stored lowercase; appends it if there was none.
  void SetHeader(std::string name, std::string value);
};

// Sends the response for one request. Call it exactly once, from any thread;
// the reply is written on the connection's own executor.
using Responder = std::function<void(Response)>;

// Serves one request. It may reply before returning or later (for example
// once a write is durable), through the Responder.
using Handler = std::function<void(Request&&, Responder)>;

}  // namespace berth::http
