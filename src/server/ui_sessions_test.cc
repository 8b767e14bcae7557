#include "server/ui_sessions.h"

#include <gtest/gtest.h>

namespace berth::server {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;

// A session logged in through a fresh token.
UiSession LoggedIn(UiSessions& sessions) {
  auto session = sessions.RedeemLoginToken(sessions.CreateLoginToken("AKID").token);
  EXPECT_TRUE(session);
  return session.value_or(UiSession{});
}

TEST(UiSessionsTest, ATokenLogsInOnceAsItsUser) {
  FakeClock clock(kStart);
  UiSessions sessions(clock);
  UiLoginToken token = sessions.CreateLoginToken("AKIDUSER");
  EXPECT_EQ(token.token.size(), 64u);
  EXPECT_EQ(token.expires_at_millis, kStart + UiSessions::kLoginTokenLifetimeMillis);

  auto session = sessions.RedeemLoginToken(token.token);
  ASSERT_TRUE(session);
  EXPECT_EQ(session->access_key_id, "AKIDUSER");
  EXPECT_EQ(session->id.size(), 64u);
  EXPECT_EQ(session->csrf_token.size(), 64u);
  EXPECT_NE(session->id, session->csrf_token);
  EXPECT_NE(session->id, token.token);
  EXPECT_EQ(session->expires_at_millis, kStart + UiSessions::kSessionLifetimeMillis);

  EXPECT_FALSE(sessions.RedeemLoginToken(token.token)) << "a token works once";
  auto found = sessions.Find(session->id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->access_key_id, "AKIDUSER");
  EXPECT_EQ(found->csrf_token, session->csrf_token);
}

TEST(UiSessionsTest, TokensExpireAfterTenMinutes) {
  FakeClock clock(kStart);
  UiSessions sessions(clock);
  UiLoginToken late = sessions.CreateLoginToken("AKID");
  UiLoginToken in_time = sessions.CreateLoginToken("AKID");
  clock.Advance(UiSessions::kLoginTokenLifetimeMillis - 1);
  EXPECT_TRUE(sessions.RedeemLoginToken(in_time.token));
  clock.Advance(1);
  EXPECT_FALSE(sessions.RedeemLoginToken(late.token));
}

TEST(UiSessionsTest, SessionsExpireAfterTwelveHours) {
  FakeClock clock(kStart);
  UiSessions sessions(clock);
  std::optional<UiSession> session = LoggedIn(sessions);
  clock.Advance(UiSessions::kSessionLifetimeMillis - 1);
  EXPECT_TRUE(sessions.Find(session->id));
  clock.Advance(1);
  EXPECT_FALSE(sessions.Find(session->id));
}

TEST(UiSessionsTest, ForgedOrEndedIdsFindNothing) {
  FakeClock clock(kStart);
  UiSessions sessions(clock);
  std::optional<UiSession> session = LoggedIn(sessions);
  std::string forged = session->id;
  forged[0] = forged[0] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(sessions.Find(forged));
  EXPECT_FALSE(sessions.Find(""));
  EXPECT_FALSE(sessions.Find(session->id.substr(1)));
  EXPECT_FALSE(sessions.Find(session->csrf_token)) << "the CSRF token is no session id";
  EXPECT_FALSE(sessions.RedeemLoginToken(session->id)) << "nor is a session id a login token";

  EXPECT_TRUE(sessions.End(session->id));
  EXPECT_FALSE(sessions.Find(session->id));
  EXPECT_FALSE(sessions.End(session->id));
}

TEST(UiSessionsTest, CsrfTokenMustMatchExactly) {
  FakeClock clock(kStart);
  UiSessions sessions(clock);
  std::optional<UiSession> session = LoggedIn(sessions);
  EXPECT_TRUE(UiSessions::CsrfMatches(*session, session->csrf_token));
  EXPECT_FALSE(UiSessions::CsrfMatches(*session, ""));
  EXPECT_FALSE(UiSessions::CsrfMatches(*session, session->csrf_token + "0"));
  EXPECT_FALSE(UiSessions::CsrfMatches(*session, session->id));
}

TEST(UiSessionsTest, OutstandingTokensAreCapped) {
  FakeClock clock(kStart);
  UiSessions sessions(clock);
  UiLoginToken oldest = sessions.CreateLoginToken("AKID");
  clock.Advance(1);
  for (size_t i = 1; i < UiSessions::kMaxEntries; ++i) sessions.CreateLoginToken("AKID");
  clock.Advance(1);
  // Full: the next one pushes out the one that would expire first.
  UiLoginToken newest = sessions.CreateLoginToken("AKID");
  EXPECT_FALSE(sessions.RedeemLoginToken(oldest.token));
  EXPECT_TRUE(sessions.RedeemLoginToken(newest.token));
}

}  // namespace
}  // namespace berth::server
