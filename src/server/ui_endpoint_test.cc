#include "server/ui_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <optional>

#include "server/api/agent_credentials.h"
#include "server/web_assets.h"

namespace berth::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kStart = 1'700'000'000'000;

class UiEndpointTest : public ::testing::Test {
 protected:
  UiEndpointTest()
      : clock_(kStart),
        sessions_(clock_),
        endpoint_(
            sessions_,
            [](std::string_view id) -> std::optional<std::string> {
              if (id == "AKIDUSER") return "user-secret";
              return std::nullopt;
            },
            clock_,
            [this](http::Request&& request, http::Responder respond) {
              passed_.push_back(std::move(request));
              http::Response reply;
              reply.body = "passed";
              respond(std::move(reply));
            }) {}

  http::Response Call(http::Request request) {
    std::optional<http::Response> got;
    EXPECT_TRUE(UiEndpoint::Accepts(request)) << request.target;
    endpoint_.Handle(std::move(request), [&](http::Response r) { got = std::move(r); });
    EXPECT_TRUE(got) << "answered at once";
    return got ? *got : http::Response{};
  }

  static http::Request Get(std::string target, std::string cookie = "", std::string csrf = "") {
    http::Request request;
    request.method = "GET";
    request.target = std::move(target);
    if (!cookie.empty()) request.headers.emplace_back("cookie", cookie);
    if (!csrf.empty()) request.headers.emplace_back("x-berth-csrf", csrf);
    return request;
  }

  static http::Request AwsCall(std::string cookie, std::string csrf) {
    http::Request request = Get("/ui/api/aws", std::move(cookie), std::move(csrf));
    request.method = "POST";
    request.headers.emplace_back("x-amz-target", "AmazonEC2ContainerServiceV20141113.ListClusters");
    request.body = "{}";
    return request;
  }

  // A session logged in through a token, and its cookie header.
  UiSession LogIn() {
    UiLoginToken token = sessions_.CreateLoginToken("AKIDUSER");
    http::Response reply = Call(Get("/ui/login?token=" + token.token));
    EXPECT_EQ(reply.status, 200);
    const std::string* cookie = reply.Header("set-cookie");
    EXPECT_TRUE(cookie);
    std::string id = cookie ? cookie->substr(cookie->find('=') + 1, 64) : "";
    auto session = sessions_.Find(id);
    EXPECT_TRUE(session);
    return session.value_or(UiSession{});
  }
  static std::string CookieOf(const UiSession& session) {
    return "other=1; berth_session=" + session.id;
  }

  FakeClock clock_;
  UiSessions sessions_;
  UiEndpoint endpoint_;
  std::vector<http::Request> passed_;
};

TEST_F(UiEndpointTest, LoginSetsAStrictHttpOnlyCookieAndMovesOnToTheDashboard) {
  UiLoginToken token = sessions_.CreateLoginToken("AKIDUSER");
  http::Response reply = Call(Get("/ui/login?token=" + token.token));
  // A page that moves on, not a redirect (see UiEndpoint::LogIn).
  EXPECT_EQ(reply.status, 200);
  EXPECT_THAT(reply.body, HasSubstr("<meta http-equiv=\"refresh\" content=\"0; url=/ui/\">"));
  EXPECT_THAT(*reply.Header("content-type"), StartsWith("text/html"));
  const std::string* cookie = reply.Header("set-cookie");
  ASSERT_TRUE(cookie);
  EXPECT_THAT(*cookie, StartsWith("berth_session="));
  EXPECT_THAT(*cookie, HasSubstr("; Path=/ui/; HttpOnly; SameSite=Strict; Max-Age=43200"));
  EXPECT_EQ(*reply.Header("referrer-policy"), "no-referrer");
}

TEST_F(UiEndpointTest, ALoginTokenWorksOnce) {
  UiLoginToken token = sessions_.CreateLoginToken("AKIDUSER");
  EXPECT_EQ(Call(Get("/ui/login?token=" + token.token)).status, 200);
  http::Response again = Call(Get("/ui/login?token=" + token.token));
  EXPECT_EQ(again.status, 401);
  EXPECT_THAT(again.body, HasSubstr("login link used or expired"));
  EXPECT_FALSE(again.Header("set-cookie"));
}

TEST_F(UiEndpointTest, ExpiredOrMissingTokensAreRefused) {
  UiLoginToken token = sessions_.CreateLoginToken("AKIDUSER");
  clock_.Advance(UiSessions::kLoginTokenLifetimeMillis);
  EXPECT_EQ(Call(Get("/ui/login?token=" + token.token)).status, 401);
  EXPECT_EQ(Call(Get("/ui/login")).status, 401);
  EXPECT_EQ(Call(Get("/ui/login?token=nonsense")).status, 401);
}

TEST_F(UiEndpointTest, WithoutASessionEveryPathIs401AndNothingElse) {
  for (const char* target :
       {"/ui/", "/ui/index.html", "/ui/app.js", "/ui/style.css", "/ui/api/session", "/ui/api/aws",
        "/ui/api/berth/v1/events", "/ui/nothing-here", "/ui/logout"}) {
    http::Response reply = Call(Get(target));
    EXPECT_EQ(reply.status, 401) << target;
    EXPECT_THAT(reply.body, HasSubstr("berth ui-login")) << target;
    EXPECT_THAT(reply.body, ::testing::Not(HasSubstr("<"))) << target;
  }
  EXPECT_EQ(Call(AwsCall("", "")).status, 401);
  EXPECT_TRUE(passed_.empty());
}

TEST_F(UiEndpointTest, ForgedAndExpiredCookiesAreRefused) {
  UiSession session = LogIn();
  std::string forged = session.id;
  forged[5] = forged[5] == '0' ? '1' : '0';
  EXPECT_EQ(Call(Get("/ui/", "berth_session=" + forged)).status, 401);
  EXPECT_EQ(Call(Get("/ui/", "berth_session=")).status, 401);
  EXPECT_EQ(Call(Get("/ui/", "xberth_session=" + session.id)).status, 401);
  EXPECT_EQ(Call(Get("/ui/", CookieOf(session))).status, 200);
  clock_.Advance(UiSessions::kSessionLifetimeMillis);
  EXPECT_EQ(Call(Get("/ui/", CookieOf(session))).status, 401);
}

TEST_F(UiEndpointTest, ServesTheEmbeddedAssetsWithTheirTypesAndAStrictPolicy) {
  UiSession session = LogIn();
  for (auto [target, name] : {std::pair{"/ui/", "index.html"},
                              {"/ui/index.html", "index.html"},
                              {"/ui/app.js", "app.js"},
                              {"/ui/style.css", "style.css"}}) {
    http::Response reply = Call(Get(target, CookieOf(session)));
    EXPECT_EQ(reply.status, 200) << target;
    const WebAsset* asset = FindWebAsset(name);
    ASSERT_TRUE(asset) << name;
    EXPECT_EQ(reply.body, asset->body) << target;
    EXPECT_EQ(*reply.Header("content-type"), asset->content_type) << target;
    EXPECT_EQ(*reply.Header("cache-control"), "no-store");
    EXPECT_THAT(*reply.Header("content-security-policy"), StartsWith("default-src 'self'"));
  }
  EXPECT_THAT(FindWebAsset("app.js")->content_type, StartsWith("text/javascript"));
  EXPECT_THAT(FindWebAsset("style.css")->content_type, StartsWith("text/css"));
  EXPECT_THAT(FindWebAsset("index.html")->content_type, StartsWith("text/html"));
  EXPECT_EQ(FindWebAsset("favicon.svg")->content_type, "image/svg+xml");
  EXPECT_EQ(Call(Get("/ui/missing.js", CookieOf(session))).status, 404);
  EXPECT_EQ(Call(Get("/ui/../credentials", CookieOf(session))).status, 404);
}

TEST_F(UiEndpointTest, TheSessionEndpointGivesTheCsrfToken) {
  UiSession session = LogIn();
  http::Response reply = Call(Get("/ui/api/session", CookieOf(session)));
  EXPECT_EQ(reply.status, 200);
  auto body = boost::json::parse(reply.body).as_object();
  EXPECT_EQ(body.at("csrfToken").as_string(), session.csrf_token);
  EXPECT_EQ(body.at("accessKeyId").as_string(), "AKIDUSER");
}

TEST_F(UiEndpointTest, ApiCallsWithoutTheRightCsrfHeaderAre403) {
  UiSession session = LogIn();
  EXPECT_EQ(Call(AwsCall(CookieOf(session), "")).status, 403);
  EXPECT_EQ(Call(AwsCall(CookieOf(session), session.id)).status, 403);
  EXPECT_EQ(Call(AwsCall(CookieOf(session), session.csrf_token + "x")).status, 403);
  EXPECT_EQ(Call(Get("/ui/api/berth/v1/events", CookieOf(session))).status, 403);
  http::Request logout = Get("/ui/logout", CookieOf(session));
  logout.method = "POST";
  EXPECT_EQ(Call(logout).status, 403);
  EXPECT_TRUE(passed_.empty());
}

TEST_F(UiEndpointTest, ApiCallsGoOnAsTheSessionsUserWithoutCookieOrSignature) {
  UiSession session = LogIn();
  http::Request call = AwsCall(CookieOf(session), session.csrf_token);
  call.headers.emplace_back("authorization", "AWS4-HMAC-SHA256 forged");
  http::Response reply = Call(std::move(call));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "passed");
  EXPECT_EQ(*reply.Header("cache-control"), "no-store");
  ASSERT_EQ(passed_.size(), 1u);
  EXPECT_EQ(passed_[0].target, "/");
  EXPECT_EQ(passed_[0].authenticated_access_key_id, "AKIDUSER");
  EXPECT_EQ(*passed_[0].Header("x-amz-target"), "AmazonEC2ContainerServiceV20141113.ListClusters");
  EXPECT_EQ(passed_[0].body, "{}");
  EXPECT_FALSE(passed_[0].Header("cookie"));
  EXPECT_FALSE(passed_[0].Header("authorization"));
  EXPECT_FALSE(passed_[0].Header("x-berth-csrf"));

  EXPECT_EQ(Call(Get("/ui/api/berth/v1/events?after=3&waitSeconds=20", CookieOf(session),
                     session.csrf_token))
                .status,
            200);
  ASSERT_EQ(passed_.size(), 2u);
  EXPECT_EQ(passed_[1].target, "/berth/v1/events?after=3&waitSeconds=20");
  EXPECT_EQ(passed_[1].authenticated_access_key_id, "AKIDUSER");
}

TEST_F(UiEndpointTest, OnlyTheApiTheDashboardNeedsIsReachable) {
  UiSession session = LogIn();
  for (const char* target : {"/ui/api/berth/v1/registry/gc", "/ui/api/berth/v1/agent/poll",
                             "/ui/api/v2/", "/ui/api/metrics", "/ui/api/berth/v1/events/../x"}) {
    http::Request request = Get(target, CookieOf(session), session.csrf_token);
    request.method = "POST";
    EXPECT_EQ(Call(std::move(request)).status, 404) << target;
  }
  // The AWS API only as POST with a target.
  EXPECT_EQ(Call(Get("/ui/api/aws", CookieOf(session), session.csrf_token)).status, 400);
  EXPECT_TRUE(passed_.empty());
}

TEST_F(UiEndpointTest, LogoutEndsTheSession) {
  UiSession session = LogIn();
  http::Request logout = Get("/ui/logout", CookieOf(session), session.csrf_token);
  logout.method = "POST";
  http::Response reply = Call(std::move(logout));
  EXPECT_EQ(reply.status, 200);
  EXPECT_THAT(*reply.Header("set-cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(Call(Get("/ui/", CookieOf(session))).status, 401);
}

TEST_F(UiEndpointTest, LoginTokensNeedAUsersSignature) {
  http::Request request;
  request.method = "POST";
  request.target = "/berth/v1/ui/login-tokens";
  request.headers.emplace_back("host", "berth.example:8080");
  http::Response unsigned_reply = Call(request);
  EXPECT_EQ(unsigned_reply.status, 403);

  http::Request signed_request = request;
  http::SignSigV4(signed_request, {"AKIDUSER", "user-secret"}, "us-east-1", "ecs",
                  clock_.NowSeconds());
  http::Response reply = Call(std::move(signed_request));
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto body = boost::json::parse(reply.body).as_object();
  std::string url(body.at("loginUrl").as_string());
  EXPECT_THAT(url, StartsWith("http://berth.example:8080/ui/login?token="));
  EXPECT_EQ(body.at("expiresAt").as_double(),
            (kStart + UiSessions::kLoginTokenLifetimeMillis) / 1000.0);
  auto session = sessions_.RedeemLoginToken(
      url.substr(url.find("token=") + std::string_view("token=").size()));
  ASSERT_TRUE(session);
  EXPECT_EQ(session->access_key_id, "AKIDUSER");
}

}  // namespace
}  // namespace berth::server
