#include "server/ui_sessions.h"

#include <algorithm>

#include "common/crypto.h"

namespace berth::server {

namespace {

constexpr size_t kSecretBytes = 32;

std::string NewSecret() { return HexEncode(RandomBytes(kSecretBytes)); }

}  // namespace

void UiSessions::MakeRoom(Table& table, int64_t now) {
  std::erase_if(table, [now](const auto& e) { return e.second.session.expires_at_millis <= now; });
  while (table.size() >= kMaxEntries) {
    table.erase(std::min_element(table.begin(), table.end(), [](const auto& a, const auto& b) {
      return a.second.session.expires_at_millis < b.second.session.expires_at_millis;
    }));
  }
}

UiSessions::Table::iterator UiSessions::FindLive(Table& table, std::string_view secret,
                                                 int64_t now) {
  if (secret.size() != 2 * kSecretBytes) return table.end();
  auto it = table.find(Sha256(secret));
  if (it != table.end() && it->second.session.expires_at_millis <= now) {
    table.erase(it);
    return table.end();
  }
  return it;
}

UiLoginToken UiSessions::CreateLoginToken(std::string access_key_id) {
  const int64_t now = clock_.NowMillis();
  UiLoginToken token{NewSecret(), now + kLoginTokenLifetimeMillis};
  std::lock_guard lock(mu_);
  MakeRoom(tokens_, now);
  tokens_[Sha256(token.token)] =
      Entry{UiSession{"", "", std::move(access_key_id), token.expires_at_millis}};
  return token;
}

std::optional<UiSession> UiSessions::RedeemLoginToken(std::string_view token) {
  const int64_t now = clock_.NowMillis();
  std::lock_guard lock(mu_);
  auto it = FindLive(tokens_, token, now);
  if (it == tokens_.end()) return std::nullopt;
  UiSession session{NewSecret(), NewSecret(), std::move(it->second.session.access_key_id),
                    now + kSessionLifetimeMillis};
  tokens_.erase(it);
  MakeRoom(sessions_, now);
  sessions_[Sha256(session.id)] = Entry{session};
  return session;
}

std::optional<UiSession> UiSessions::Find(std::string_view session_id) {
  std::lock_guard lock(mu_);
  auto it = FindLive(sessions_, session_id, clock_.NowMillis());
  if (it == sessions_.end()) return std::nullopt;
  return it->second.session;
}

bool UiSessions::CsrfMatches(const UiSession& session, std::string_view csrf_token) {
  return !session.csrf_token.empty() && ConstantTimeEquals(session.csrf_token, csrf_token);
}

bool UiSessions::End(std::string_view session_id) {
  std::lock_guard lock(mu_);
  auto it = FindLive(sessions_, session_id, clock_.NowMillis());
  if (it == sessions_.end()) return false;
  sessions_.erase(it);
  return true;
}

}  // namespace berth::server
