// The dashboard's logins: one-time login tokens (berth ui-login, berth dev)
// that become sessions, each with the user's access key id and a CSRF token.
//
// Secrets (tokens, session ids) are 32 random bytes in hex. They are found
// by their SHA-256, so a lookup's time says nothing about how much of a
// guessed secret matched, and a CSRF token is compared in constant time.
// Everything lives in memory: a server restart logs every user out.
//
// Thread-safe. Time comes from the Clock passed in.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"

namespace berth::server {

struct UiLoginToken {
  std::string token;
  int64_t expires_at_millis = 0;
};

struct UiSession {
  std::string id;  // the berth_session cookie's value
  std::string csrf_token;
  std::string access_key_id;  // the user every request of the session acts as
  int64_t expires_at_millis = 0;
};

class UiSessions {
 public:
  static constexpr int64_t kLoginTokenLifetimeMillis = 10 * 60 * 1000;
  static constexpr int64_t kSessionLifetimeMillis = 12 * 3600 * 1000;
  // Of tokens and of sessions each: past it, the one that would expire first
  // goes, so that no one can grow the server's memory without bound.
  static constexpr size_t kMaxEntries = 10000;

  explicit UiSessions(const Clock& clock) : clock_(clock) {}

  // A token that logs access_key_id in once, within kLoginTokenLifetimeMillis.
  UiLoginToken CreateLoginToken(std::string access_key_id);
  // The new session when token is one not yet used nor expired (it is used
  // up either way); nullopt otherwise.
  std::optional<UiSession> RedeemLoginToken(std::string_view token);
  // The session with this id unless it expired or ended.
  std::optional<UiSession> Find(std::string_view session_id);
  // Whether csrf_token is the session's (constant time).
  static bool CsrfMatches(const UiSession& session, std::string_view csrf_token);
  // Ends the session (logout); false if there was none.
  bool End(std::string_view session_id);

 private:
  struct Entry {
    UiSession session;  // for a token: its user and expiry
  };
  using Table = std::unordered_map<std::string, Entry>;  // by SHA-256 of the secret
  // Drops what expired, then the earliest to expire while table is full.
  void MakeRoom(Table& table, int64_t now);
  // The live entry for secret, or nullptr (an expired one is dropped).
  Table::iterator FindLive(Table& table, std::string_view secret, int64_t now);

  const Clock& clock_;
  std::mutex mu_;
  Table tokens_;
  Table sessions_;
};

}  // namespace berth::server
