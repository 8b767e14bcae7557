// An HTTP/1.1 server on Boost.Beast: keep-alive, a body size limit checked
// before the body is read, and a graceful stop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/message.h"

namespace berth::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // "host:port"; port 0 picks a free one
  int threads = 2;                        // I/O threads
  size_t max_body_bytes = 1 << 20;        // larger bodies get 413 without being read
  int idle_timeout_seconds = 120;         // a keep-alive connection idle this long is closed
  int stop_grace_seconds = 10;            // Stop() waits this long for requests in flight

  // Called once a request's headers are read. A sink it returns receives the
  // body as it arrives instead of Request::body, and max_body_bytes does not
  // apply (the sink sets its own limits). nullptr buffers the body as usual.
  std::function<std::shared_ptr<BodySink>(const Request& head)> stream_body;
};

// Thread-safe. Stop() (or destruction) stops accepting, closes idle
// connections, lets requests in flight finish and reply (for up to
// stop_grace_seconds), then closes every connection. Replies arriving later
// are dropped. Do not call Stop() or destroy the server from a handler.
//
// The handler runs on an I/O thread; one that blocks holds that thread. A
// slow handler should keep the Responder and reply from its own thread.
class Server {
 public:
  static StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options, Handler handler);
  virtual ~Server() = default;

  virtual uint16_t port() const = 0;  // the bound port (useful with port 0)
  virtual void Stop() = 0;            // idempotent; returns when every thread has ended
};

}  // namespace berth::http
