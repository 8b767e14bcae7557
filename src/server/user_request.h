// berth's own endpoints under /berth/v1/ that users call (logs, gangs,
// registry gc) are signed like the AWS APIs, and refuse instance
// credentials: the check they share.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"
#include "http/sigv4.h"

namespace berth::server {

struct RequestRefusal {
  std::string type;  // AWS error type: InvalidSignatureException, AccessDeniedException...
  std::string message;
};

// nullopt when request comes from a user (not an instance's agent): it
// carries a valid SigV4 signature, or a dashboard session vouched for it
// (http::AuthenticateRequest); else why not. `what` ends the refusal of an
// instance credential: "an instance credential cannot <what>". The caller's
// access key id goes to *caller when given.
std::optional<RequestRefusal> CheckUserRequest(const http::Request& request,
                                               const http::SecretLookup& secrets,
                                               int64_t now_seconds, std::string_view what,
                                               std::string* caller = nullptr);

// The start berth's GET endpoints for users share (logs, exec, events,
// gangs): a request id, refusals as JSON 1.1 errors whose message begins
// "<name>: ", and the first checks. Not thread-safe; holds respond by
// reference, so it lives in the handler.
class UserGet {
 public:
  UserGet(std::string_view name, http::Responder& respond);
  const std::string& request_id() const { return request_id_; }
  // Refuses with 405 unless request is a GET, then as CheckUserRequest
  // does (the caller's key to *caller); true when it may go on.
  bool Check(const http::Request& request, const http::SecretLookup& secrets, int64_t now_seconds,
             std::string_view what, std::string* caller = nullptr);
  // status 0: the one ErrorResponse gives type (400, 5xx for ServerException).
  void Refuse(std::string_view type, std::string_view message, int status = 0);

 private:
  std::string name_;
  std::string request_id_;
  http::Responder& respond_;
};

}  // namespace berth::server
