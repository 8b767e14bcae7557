#include "agent/image/registry_memory.h"

#include <gtest/gtest.h>

namespace berth::agent {
namespace {

TEST(RegistryMemoryTest, ATokenServesItsRepositoryAndCredentialsUntilShortlyBeforeItExpires) {
  FakeClock clock(1'000'000);
  RegistryMemory memory(clock);
  std::string trainer = RegistryMemory::CredentialsKey(RegistryCredentials{"trainer", "s3cret"});
  memory.RememberToken("reg:5000", "train", trainer, "tok", 60);
  EXPECT_EQ(memory.AuthScheme("reg:5000"), RegistryMemory::Scheme::kBearer);
  EXPECT_EQ(memory.Token("reg:5000", "train", trainer), "Bearer tok");

  // Another repository, other credentials, no credentials, another registry.
  EXPECT_EQ(memory.Token("reg:5000", "eval", trainer), std::nullopt);
  EXPECT_EQ(memory.Token("reg:5000", "train",
                         RegistryMemory::CredentialsKey(RegistryCredentials{"trainer", "other"})),
            std::nullopt);
  EXPECT_EQ(memory.Token("reg:5000", "train", RegistryMemory::CredentialsKey(std::nullopt)),
            std::nullopt);
  EXPECT_EQ(memory.Token("reg:5001", "train", trainer), std::nullopt);

  // 60 s - 10 s margin: still sent at 49.9 s, no more at 50 s.
  clock.Advance(49'999);
  EXPECT_EQ(memory.Token("reg:5000", "train", trainer), "Bearer tok");
  clock.Advance(1);
  EXPECT_EQ(memory.Token("reg:5000", "train", trainer), std::nullopt);
}

TEST(RegistryMemoryTest, ATokenAboutToExpireIsNotKept) {
  FakeClock clock(0);
  RegistryMemory memory(clock);
  memory.RememberToken("reg", "train", "", "tok", 10);
  EXPECT_EQ(memory.Token("reg", "train", ""), std::nullopt);
}

TEST(RegistryMemoryTest, ForgettingAuthDropsSchemeAndTokensButNotTheTransport) {
  FakeClock clock(0);
  RegistryMemory memory(clock);
  memory.RememberSpeaksTls("reg", false);
  memory.RememberToken("reg", "train", "", "tok", 300);
  memory.ForgetAuth("reg");
  EXPECT_EQ(memory.AuthScheme("reg"), RegistryMemory::Scheme::kUnknown);
  EXPECT_EQ(memory.Token("reg", "train", ""), std::nullopt);
  EXPECT_EQ(memory.SpeaksTls("reg"), false);
  memory.ForgetTransport("reg");
  EXPECT_EQ(memory.SpeaksTls("reg"), std::nullopt);

  memory.RememberToken("reg", "train", "", "tok", 300);
  memory.RememberBasic("reg");  // the registry changed its mind
  EXPECT_EQ(memory.AuthScheme("reg"), RegistryMemory::Scheme::kBasic);
  EXPECT_EQ(memory.Token("reg", "train", ""), std::nullopt);
}

TEST(RegistryMemoryTest, CredentialsKeyTellsUserAndPasswordApart) {
  EXPECT_EQ(RegistryMemory::CredentialsKey(std::nullopt), "");
  EXPECT_NE(RegistryMemory::CredentialsKey(RegistryCredentials{"ab", "c"}),
            RegistryMemory::CredentialsKey(RegistryCredentials{"a", "bc"}));
  std::string key = RegistryMemory::CredentialsKey(RegistryCredentials{"trainer", "s3cret"});
  EXPECT_EQ(key.size(), 64u) << "a sha256, not the password";
  EXPECT_EQ(key.find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace berth::agent
