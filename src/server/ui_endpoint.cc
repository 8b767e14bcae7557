#include "server/ui_endpoint.h"

#include <boost/json/serialize.hpp>

#include "awsjson/endpoint.h"
#include "common/ids.h"
#include "http/query_string.h"
#include "server/user_request.h"
#include "server/web_assets.h"

namespace berth::server {

namespace {

constexpr std::string_view kLoginTokensPath = "/berth/v1/ui/login-tokens";
constexpr std::string_view kApiPrefix = "/ui/api";
constexpr std::string_view kCsrfHeader = "x-berth-csrf";

// What every /ui/ reply carries: nothing cached, nothing loaded from
// elsewhere, no inline script, no framing, no Referer (a login URL holds
// its token).
void SecureHeaders(http::Response& response) {
  response.SetHeader("cache-control", "no-store");
  response.SetHeader("content-security-policy",
                     "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                     "form-action 'self'");
  response.SetHeader("x-content-type-options", "nosniff");
  response.SetHeader("referrer-policy", "no-referrer");
}

http::Response TextReply(int status, std::string text) {
  http::Response response;
  response.status = status;
  response.SetHeader("content-type", "text/plain; charset=utf-8");
  response.body = std::move(text);
  SecureHeaders(response);
  return response;
}

http::Response NoSession() {
  return TextReply(401, "no dashboard session: run `berth ui-login` and open the URL it prints\n");
}

std::string Cookie(std::string_view name, std::string_view value, int64_t max_age_seconds) {
  return std::string(name) + "=" + std::string(value) +
         "; Path=/ui/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_seconds);
}

// The value of cookie `name` in the request's Cookie headers, or empty.
std::string_view CookieValue(const http::Request& request, std::string_view name) {
  for (const auto& [header, value] : request.headers) {
    if (header != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t semicolon = rest.find(';');
      std::string_view pair = rest.substr(0, semicolon);
      rest = semicolon == std::string_view::npos ? "" : rest.substr(semicolon + 1);
      while (pair.starts_with(' ')) pair.remove_prefix(1);
      if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
        return pair.substr(name.size() + 1);
      }
    }
  }
  return {};
}

// The berth endpoints a session may read, as /ui/api/berth/v1/NAME.
bool IsPassedBerthPath(std::string_view path) {
  return path == "/berth/v1/events" || path == "/berth/v1/logs" || path == "/berth/v1/gangs";
}

}  // namespace

bool UiEndpoint::Accepts(const http::Request& request) {
  std::string_view path = request.Path();
  return path == "/ui" || path.starts_with("/ui/") || path == kLoginTokensPath;
}

std::string UiEndpoint::LoginUrl(std::string_view host, std::string_view token) {
  return "http://" + std::string(host) + "/ui/login?token=" + std::string(token);
}

void UiEndpoint::Handle(http::Request&& request, http::Responder respond) {
  std::string_view path = request.Path();
  if (path == kLoginTokensPath) return CreateLoginToken(request, respond);
  if (path == "/ui") {
    http::Response moved = TextReply(308, "");
    moved.SetHeader("location", "/ui/");
    return respond(std::move(moved));
  }
  if (path == "/ui/login") return LogIn(request, respond);

  auto session = sessions_.Find(CookieValue(request, kCookieName));
  if (!session) return respond(NoSession());

  const bool is_api = path.starts_with(std::string(kApiPrefix) + "/");
  if (is_api && path == "/ui/api/session") {
    if (request.method != "GET") return respond(TextReply(405, "use GET\n"));
    http::Response reply;
    reply.SetHeader("content-type", "application/json");
    reply.body = boost::json::serialize(boost::json::object{
        {"csrfToken", session->csrf_token}, {"accessKeyId", session->access_key_id}});
    SecureHeaders(reply);
    return respond(std::move(reply));
  }
  if (is_api || path == "/ui/logout") {
    const std::string* csrf = request.Header(kCsrfHeader);
    if (csrf == nullptr || !UiSessions::CsrfMatches(*session, *csrf)) {
      return respond(TextReply(403, "missing or wrong X-Berth-CSRF header\n"));
    }
    if (is_api) return PassToApi(std::move(request), *session, std::move(respond));
    if (request.method != "POST") return respond(TextReply(405, "use POST\n"));
    sessions_.End(session->id);
    http::Response out = TextReply(200, "logged out\n");
    out.SetHeader("set-cookie", Cookie(kCookieName, "", 0));
    return respond(std::move(out));
  }

  if (request.method != "GET" && request.method != "HEAD") {
    return respond(TextReply(405, "use GET\n"));
  }
  std::string_view name = path.substr(4);  // after "/ui/"
  const WebAsset* asset = FindWebAsset(name.empty() ? "index.html" : name);
  if (asset == nullptr) return respond(TextReply(404, "no such page\n"));
  http::Response reply;
  reply.SetHeader("content-type", std::string(asset->content_type));
  reply.body = std::string(asset->body);
  SecureHeaders(reply);
  respond(std::move(reply));
}

void UiEndpoint::CreateLoginToken(const http::Request& request, const http::Responder& respond) {
  const std::string request_id = NewUuid();
  if (request.method != "POST") {
    return respond(awsjson::ErrorResponse(
        "UnknownOperationException", "use POST " + std::string(kLoginTokensPath), request_id, 405));
  }
  std::string user;
  if (auto refused = CheckUserRequest(request, secrets_, clock_.NowSeconds(),
                                      "log in to the dashboard", &user)) {
    return respond(awsjson::ErrorResponse(refused->type, refused->message, request_id));
  }
  // The URL names the server as the client reached it.
  const std::string* host = request.Header("host");
  if (host == nullptr || host->empty()) {
    return respond(
        awsjson::ErrorResponse("InvalidParameterException", "no Host header", request_id));
  }
  UiLoginToken token = sessions_.CreateLoginToken(user);
  http::Response reply;
  reply.SetHeader("content-type", "application/x-amz-json-1.1");
  reply.SetHeader("x-amzn-requestid", request_id);
  reply.body = boost::json::serialize(
      boost::json::object{{"loginUrl", LoginUrl(*host, token.token)},
                          {"expiresAt", static_cast<double>(token.expires_at_millis) / 1000.0}});
  respond(std::move(reply));
}

void UiEndpoint::LogIn(const http::Request& request, const http::Responder& respond) {
  if (request.method != "GET") return respond(TextReply(405, "use GET\n"));
  auto query = http::ParseQueryString(request.Query());
  auto token = query.find("token");
  auto session = token == query.end() ? std::nullopt : sessions_.RedeemLoginToken(token->second);
  if (!session) {
    return respond(TextReply(401, "login link used or expired; run `berth ui-login`\n"));
  }
  // Not a redirect: a browser does not send a SameSite=Strict cookie along a
  // redirect chain that began on another site (a login link clicked in a
  // web mail or chat), so /ui/ would say "no session" after the token was
  // used up. A page of this site that moves on (meta refresh) starts a
  // same-site navigation, which carries the new cookie. The icon is named,
  // or a browser asks for /favicon.ico, which berth does not serve.
  http::Response reply;
  reply.SetHeader("content-type", "text/html; charset=utf-8");
  reply.body =
      "<!doctype html><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0; "
      "url=/ui/\"><link rel=\"icon\" href=\"/ui/favicon.svg\" type=\"image/svg+xml\">"
      "<title>berth</title><p>Logged in. <a href=\"/ui/\">Continue to the "
      "dashboard</a>.</p>\n";
  SecureHeaders(reply);
  reply.SetHeader("set-cookie",
                  Cookie(kCookieName, session->id, UiSessions::kSessionLifetimeMillis / 1000));
  respond(std::move(reply));
}

void UiEndpoint::PassToApi(http::Request&& request, const UiSession& session,
                           http::Responder respond) {
  std::string_view path = request.Path().substr(kApiPrefix.size());
  std::string target;
  if (path == "/aws") {
    if (request.method != "POST" || request.Header("x-amz-target") == nullptr) {
      return respond(TextReply(400, "POST /ui/api/aws with an X-Amz-Target header\n"));
    }
    target = "/";
  } else if (IsPassedBerthPath(path)) {
    if (request.method != "GET") return respond(TextReply(405, "use GET\n"));
    target = std::string(path);
    if (!request.Query().empty()) target += "?" + std::string(request.Query());
  } else {
    return respond(TextReply(404,
                             "the dashboard reaches /ui/api/aws and "
                             "/ui/api/berth/v1/{events,logs,gangs}\n"));
  }
  request.target = std::move(target);
  std::erase_if(request.headers, [](const auto& header) {
    return header.first == "cookie" || header.first == "authorization" ||
           header.first == kCsrfHeader;
  });
  request.authenticated_access_key_id = session.access_key_id;
  dispatch_(std::move(request), [respond = std::move(respond)](http::Response response) {
    SecureHeaders(response);
    respond(std::move(response));
  });
}

}  // namespace berth::server
