// A blocking HTTP/1.1 client over one keep-alive connection, for the command
// line, tests and load tools. Not thread-safe: use one Client per thread.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "http/message.h"

namespace berth::http {

class Client {
 public:
  // host is a name or address, connected lazily on the first request.
  static std::unique_ptr<Client> Create(std::string host, uint16_t port,
                                        int timeout_seconds = 30);
  virtual ~Client() = default;

  // Sends request (Host and Content-Length are filled in when absent) and
  // reads the whole response. Reconnects once if a kept-alive connection was
  // closed by the server.
  virtual StatusOr<Response> Do(const Request& request) = 0;
};

}  // namespace berth::http
