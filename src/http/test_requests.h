// Tests only: a request and a handler the server's tests share.
#pragma once

#include <string>
#include <utility>

#include "http/message.h"

namespace berth::http::testing {

inline Request Get(std::string target) {
  Request r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

// Answers with the request's path as the body and the peer ("ip:port") in
// x-remote, so a test sees which connection carried a request.
inline void EchoPath(Request&& request, Responder respond) {
  Response r;
  r.SetHeader("x-remote", request.remote_address);
  r.body = std::string(request.Path());
  respond(std::move(r));
}

}  // namespace berth::http::testing
