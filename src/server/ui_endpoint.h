// The dashboard under /ui/: its login, its session, its static assets, and
// the session-authenticated way into the API the page reads and acts
// through. The page has no data endpoints of its own: /ui/api/aws and
// /ui/api/berth/v1/{events,logs,gangs} are the ECS/ECR JSON API and
// berth's own endpoints, as the CLI calls them, reached with a session
// instead of a signature.
//
//   POST /berth/v1/ui/login-tokens   signed by a user: {"loginUrl", "expiresAt"}
//   GET  /ui/login?token=T           a one-time token -> a session cookie and a page
//                                    that moves on to /ui/
//   GET  /ui/, /ui/app.js, ...       the embedded assets (web/)
//   GET  /ui/api/session             {"csrfToken", "accessKeyId"}
//   POST /ui/api/aws                 X-Amz-Target and a JSON body, as the AWS JSON API
//   GET  /ui/api/berth/v1/events?... (and logs, gangs) as /berth/v1/...
//   POST /ui/logout                  ends the session
//
// Every /ui/ path but the login needs the berth_session cookie of a live
// session (else 401 and a line saying to run `berth ui-login`); every
// /ui/api/ path but /ui/api/session, and the logout, also needs the header
// X-Berth-CSRF with the session's token (else 403). An API request passed
// on loses its cookie and any Authorization, and goes through `dispatch`
// (the server's own routing) with Request::authenticated_access_key_id set
// to the session's user.
//
// Thread-safe.
#pragma once

#include <string>

#include "common/clock.h"
#include "http/message.h"
#include "http/sigv4.h"
#include "server/ui_sessions.h"

namespace berth::server {

class UiEndpoint {
 public:
  static constexpr std::string_view kCookieName = "berth_session";

  UiEndpoint(UiSessions& sessions, http::SecretLookup secrets, const Clock& clock,
             http::Handler dispatch)
      : sessions_(sessions),
        secrets_(std::move(secrets)),
        clock_(clock),
        dispatch_(std::move(dispatch)) {}

  // True for /ui, /ui/... and /berth/v1/ui/login-tokens.
  static bool Accepts(const http::Request& request);
  void Handle(http::Request&& request, http::Responder respond);

  // "http://HOST/ui/login?token=T": where a token logs in.
  static std::string LoginUrl(std::string_view host, std::string_view token);

 private:
  void CreateLoginToken(const http::Request& request, const http::Responder& respond);
  void LogIn(const http::Request& request, const http::Responder& respond);
  void PassToApi(http::Request&& request, const UiSession& session, http::Responder respond);

  UiSessions& sessions_;
  http::SecretLookup secrets_;
  const Clock& clock_;
  http::Handler dispatch_;
};

}  // namespace berth::server
