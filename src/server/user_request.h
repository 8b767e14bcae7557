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

}  // namespace berth::server
