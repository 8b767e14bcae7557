#include "server/user_request.h"

#include <variant>

#include "server/api/agent_credentials.h"

namespace berth::server {

std::optional<RequestRefusal> CheckUserRequest(const http::Request& request,
                                               const http::SecretLookup& secrets,
                                               int64_t now_seconds, std::string_view what,
                                               std::string* caller) {
  auto identity = http::AuthenticateRequest(request, secrets, now_seconds);
  if (auto* error = std::get_if<http::SigV4Error>(&identity)) {
    return RequestRefusal{error->type, error->message};
  }
  if (api::IsAgentKey(std::get<http::SigV4Identity>(identity).access_key_id)) {
    return RequestRefusal{"AccessDeniedException",
                          "an instance credential cannot " + std::string(what)};
  }
  if (caller) *caller = std::get<http::SigV4Identity>(identity).access_key_id;
  return std::nullopt;
}

}  // namespace berth::server
