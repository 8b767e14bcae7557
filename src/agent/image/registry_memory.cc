#include "agent/image/registry_memory.h"

#include "common/crypto.h"

namespace berth::agent {

std::optional<bool> RegistryMemory::SpeaksTls(const std::string& registry) const {
  std::lock_guard lock(mu_);
  auto it = registries_.find(registry);
  return it == registries_.end() ? std::nullopt : it->second.tls;
}

void RegistryMemory::RememberSpeaksTls(const std::string& registry, bool tls) {
  std::lock_guard lock(mu_);
  registries_[registry].tls = tls;
}

void RegistryMemory::ForgetTransport(const std::string& registry) {
  std::lock_guard lock(mu_);
  if (auto it = registries_.find(registry); it != registries_.end()) it->second.tls.reset();
}

RegistryMemory::Scheme RegistryMemory::AuthScheme(const std::string& registry) const {
  std::lock_guard lock(mu_);
  auto it = registries_.find(registry);
  return it == registries_.end() ? Scheme::kUnknown : it->second.scheme;
}

void RegistryMemory::RememberBasic(const std::string& registry) {
  std::lock_guard lock(mu_);
  Registry& r = registries_[registry];
  r.scheme = Scheme::kBasic;
  r.tokens.clear();
}

std::optional<std::string> RegistryMemory::Token(const std::string& registry,
                                                 const std::string& repository,
                                                 const std::string& credentials_key) const {
  std::lock_guard lock(mu_);
  auto it = registries_.find(registry);
  if (it == registries_.end() || it->second.scheme != Scheme::kBearer) return std::nullopt;
  auto token = it->second.tokens.find({repository, credentials_key});
  if (token == it->second.tokens.end()) return std::nullopt;
  if (clock_.NowMillis() + kTokenMarginMillis >= token->second.second) return std::nullopt;
  return "Bearer " + token->second.first;
}

void RegistryMemory::RememberToken(const std::string& registry, const std::string& repository,
                                   const std::string& credentials_key, const std::string& token,
                                   int64_t expires_in_seconds) {
  int64_t now = clock_.NowMillis();
  int64_t expiry = now + expires_in_seconds * 1000;
  std::lock_guard lock(mu_);
  Registry& r = registries_[registry];
  r.scheme = Scheme::kBearer;
  // Expired ones go, so that the map holds what is in use.
  std::erase_if(r.tokens, [now](const auto& entry) { return entry.second.second <= now; });
  if (now + kTokenMarginMillis >= expiry) return;
  r.tokens[{repository, credentials_key}] = {token, expiry};
}

void RegistryMemory::ForgetAuth(const std::string& registry) {
  std::lock_guard lock(mu_);
  if (auto it = registries_.find(registry); it != registries_.end()) {
    it->second.scheme = Scheme::kUnknown;
    it->second.tokens.clear();
  }
}

std::string RegistryMemory::CredentialsKey(const std::optional<RegistryCredentials>& credentials) {
  if (!credentials) return "";
  std::string both = credentials->username;
  both.push_back('\0');
  both += credentials->password;
  return Sha256Hex(both);
}

}  // namespace berth::agent
