// What pulls learned about each registry, kept between pulls so that asking
// a registry what a cached tag names (ECS's default pull behaviour, at every
// task start) is one request instead of three or four: whether a loopback
// registry speaks TLS (otherwise probed with a TLS handshake first), which
// authentication scheme it asked for (otherwise learned from a 401), and
// the Bearer tokens its token server handed out, until shortly before they
// expire (otherwise fetched again). A remembered answer that turns out
// wrong (a connection that fails, a 401) is forgotten and the pull goes the
// whole way, as without a memory.
//
// Tokens are kept per registry, repository and credentials (a fingerprint
// of user name and password, never the password itself): a task never
// sends a token that another task's credentials got. Basic credentials are
// not kept at all; only that the registry wants them, so they are looked up
// and sent with the first request. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include "agent/image/image_store.h"
#include "common/clock.h"

namespace berth::agent {

class RegistryMemory {
 public:
  // clock: for token expiry. Not owned; outlives the memory.
  explicit RegistryMemory(const Clock& clock) : clock_(clock) {}

  // Whether the loopback registry answered over TLS; nullopt: not known.
  std::optional<bool> SpeaksTls(const std::string& registry) const;
  void RememberSpeaksTls(const std::string& registry, bool tls);
  void ForgetTransport(const std::string& registry);

  enum class Scheme { kUnknown, kBasic, kBearer };
  // The scheme the registry's last challenge named; kUnknown also for a
  // registry that never asked (anonymous).
  Scheme AuthScheme(const std::string& registry) const;
  void RememberBasic(const std::string& registry);

  // "Bearer <token>" for the repository and credentials while the token is
  // at least kTokenMarginMillis from its expiry; nullopt otherwise.
  // credentials_key: CredentialsKey() of what the token was got with.
  std::optional<std::string> Token(const std::string& registry, const std::string& repository,
                                   const std::string& credentials_key) const;
  // expires_in_seconds as the token server said (Docker's token spec: 60
  // when it says nothing). Tokens valid for less than the margin are not
  // kept.
  void RememberToken(const std::string& registry, const std::string& repository,
                     const std::string& credentials_key, const std::string& token,
                     int64_t expires_in_seconds);
  // After a remembered authorization got a 401: nothing remembered about
  // the registry's authentication is used again until a challenge is
  // answered afresh.
  void ForgetAuth(const std::string& registry);

  // A fingerprint of the credentials (sha256 of user and password), or ""
  // for none.
  static std::string CredentialsKey(const std::optional<RegistryCredentials>& credentials);

  // A token is not sent when it expires sooner than this: the request (and
  // whatever pull follows it, a layer can take minutes) should not outlive
  // it. A token that does expire mid-pull is answered by a 401 and fetched
  // again.
  static constexpr int64_t kTokenMarginMillis = 10'000;

 private:
  struct Registry {
    std::optional<bool> tls;
    Scheme scheme = Scheme::kUnknown;
    // (repository, credentials key) -> token and when it expires (ms).
    std::map<std::tuple<std::string, std::string>, std::pair<std::string, int64_t>> tokens;
  };
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Registry> registries_;
};

}  // namespace berth::agent
