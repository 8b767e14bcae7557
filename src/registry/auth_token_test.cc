#include "registry/auth_token.h"

#include <gtest/gtest.h>

#include "common/base64.h"

namespace berth::registry {
namespace {

constexpr int64_t kNow = 1'800'000'000;

std::optional<std::string> Lookup(std::string_view id) {
  if (id == "AKIDEXAMPLE") return std::string("secret");
  return std::nullopt;
}

std::string BasicHeader(std::string_view user, std::string_view password) {
  return "Basic " + Base64Encode(std::string(user) + ":" + std::string(password));
}

TEST(RegistryToken, AMintedTokenAuthenticatesItsKey) {
  std::string token = MintRegistryToken("AKIDEXAMPLE", "secret", kNow + 60);
  auto result = VerifyRegistryAuthorization(BasicHeader("AWS", token), Lookup, kNow);
  ASSERT_TRUE(std::holds_alternative<RegistryIdentity>(result));
  EXPECT_EQ(std::get<RegistryIdentity>(result).access_key_id, "AKIDEXAMPLE");
}

TEST(RegistryToken, RefusesExpiredForgedAndMalformedTokens) {
  std::string token = MintRegistryToken("AKIDEXAMPLE", "secret", kNow + 60);
  std::string forged = MintRegistryToken("AKIDEXAMPLE", "wrong-secret", kNow + 60);
  std::string longer = MintRegistryToken("AKIDEXAMPLE", "secret", kNow + 60);
  longer.replace(longer.find('.') + 1, 10, std::to_string(kNow + 99999).substr(0, 10));
  for (const std::string& header :
       {BasicHeader("AWS", token).substr(0, 5), BasicHeader("bob", token),
        BasicHeader("AWS", forged), BasicHeader("AWS", longer), BasicHeader("AWS", "x.y.z"),
        BasicHeader("AWS", MintRegistryToken("AKIDUNKNOWN", "secret", kNow + 60)),
        std::string("Bearer ") + token, std::string("Basic !!!")}) {
    auto result = VerifyRegistryAuthorization(header, Lookup, kNow);
    EXPECT_TRUE(std::holds_alternative<std::string>(result)) << header;
  }
  auto expired = VerifyRegistryAuthorization(BasicHeader("AWS", token), Lookup, kNow + 61);
  ASSERT_TRUE(std::holds_alternative<std::string>(expired));
  EXPECT_NE(std::get<std::string>(expired).find("expired"), std::string::npos);
}

}  // namespace
}  // namespace berth::registry
