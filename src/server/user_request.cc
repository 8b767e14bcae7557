#include "server/user_request.h"

#include <variant>

#include "awsjson/endpoint.h"
#include "common/ids.h"
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

UserGet::UserGet(std::string_view name, http::Responder& respond)
    : name_(name), request_id_(NewUuid()), respond_(respond) {}

bool UserGet::Check(const http::Request& request, const http::SecretLookup& secrets,
                    int64_t now_seconds, std::string_view what, std::string* caller) {
  if (request.method != "GET") {
    Refuse("UnknownOperationException", "use GET " + std::string(request.Path()), 405);
    return false;
  }
  if (auto refused = CheckUserRequest(request, secrets, now_seconds, what, caller)) {
    Refuse(refused->type, refused->message);
    return false;
  }
  return true;
}

void UserGet::Refuse(std::string_view type, std::string_view message, int status) {
  respond_(awsjson::ErrorResponse(type, name_ + ": " + std::string(message), request_id_, status));
}

}  // namespace berth::server
