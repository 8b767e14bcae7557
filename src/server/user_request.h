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

// nullopt when request carries a valid SigV4 signature of a user (not of an
// instance's agent); else why not. `what` ends the refusal of an instance
// credential: "an instance credential cannot <what>".
std::optional<RequestRefusal> CheckUserRequest(const http::Request& request,
                                               const http::SecretLookup& secrets,
                                               int64_t now_seconds, std::string_view what);

}  // namespace berth::server
