#include "registry/auth_token.h"

#include <charconv>

#include "common/base64.h"
#include "common/crypto.h"

namespace berth::registry {

namespace {

std::string Mac(std::string_view access_key_id, std::string_view secret, int64_t expires) {
  std::string payload =
      "berth-registry-token\n" + std::string(access_key_id) + "\n" + std::to_string(expires);
  return Base64UrlEncode(HmacSha256(secret, payload));
}

}  // namespace

std::string MintRegistryToken(std::string_view access_key_id, std::string_view secret,
                              int64_t expires_at_seconds) {
  return std::string(access_key_id) + "." + std::to_string(expires_at_seconds) + "." +
         Mac(access_key_id, secret, expires_at_seconds);
}

std::variant<RegistryIdentity, std::string> VerifyRegistryAuthorization(
    std::string_view authorization, const http::SecretLookup& secrets, int64_t now_seconds) {
  constexpr std::string_view kBasic = "Basic ";
  if (authorization.size() < kBasic.size() ||
      !std::equal(kBasic.begin(), kBasic.end(), authorization.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return std::string(
        "authentication required: use Basic auth with user AWS and a token "
        "from ecr get-login-password");
  }
  auto decoded = Base64Decode(authorization.substr(kBasic.size()));
  if (!decoded) return std::string("malformed Basic credentials");
  std::string_view text = *decoded;
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || text.substr(0, colon) != "AWS") {
    return std::string("user must be AWS");
  }
  std::string_view token = text.substr(colon + 1);
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos) return std::string("malformed token");
  std::string_view key = token.substr(0, first);
  std::string_view expiry_text = token.substr(first + 1, second - first - 1);
  std::string_view mac = token.substr(second + 1);
  int64_t expires = 0;
  auto [end, ec] =
      std::from_chars(expiry_text.data(), expiry_text.data() + expiry_text.size(), expires);
  if (ec != std::errc() || end != expiry_text.data() + expiry_text.size()) {
    return std::string("malformed token");
  }
  auto secret = secrets(key);
  if (!secret) return std::string("token was issued for an unknown access key");
  if (!ConstantTimeEquals(mac, Mac(key, *secret, expires))) {
    return std::string("token signature does not match");
  }
  if (expires <= now_seconds) return std::string("token expired; log in again");
  return RegistryIdentity{std::string(key), expires};
}

}  // namespace berth::registry
