// An HTTP/1.1 server on Boost.Beast: keep-alive, a body size limit checked
// before the body is read, and a graceful stop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/message.h"

namespace berth::http {

class ServerTls;

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // "host:port"; port 0 picks a free one
  // An IPv4 TCP socket already bound and listening to serve instead of
  // `listen` (one made in another network namespace); the server takes it
  // over and closes it. -1: none.
  int listen_fd = -1;
  std::string name = "http";        // the listener in metrics (label listener) and logs
  int threads = 2;                  // I/O threads
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413 without being read
  int idle_timeout_seconds = 120;   // a keep-alive connection idle this long is closed
  int stop_grace_seconds = 10;      // Stop() waits this long for requests in flight

  // A request's head must arrive whole within this many seconds of its
  // first byte (for a connection's first request: of the accept, the TLS
  // handshake included), else 408 and close, or a silent close when none
  // of it came. Slow-header clients cannot hold connections for long.
  // 0: only idle_timeout_seconds applies.
  int header_timeout_seconds = 20;
  // Connections open at once, in all and from one client address; over a
  // limit a new connection gets a 503 with the reason and is closed
  // (counted in berth_http_connections_refused_total). 0: no limit.
  int max_connections = 0;
  int max_connections_per_address = 0;

  // TLS on this listener (the certificate presented, reloadable); null:
  // plain HTTP.
  std::shared_ptr<ServerTls> tls;

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
