#include "common/crypto.h"

#include <gtest/gtest.h>

#include "common/ids.h"

namespace berth {
namespace {

TEST(Crypto, Sha256OfEmptyStringIsTheKnownValue) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Crypto, HmacMatchesRfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, IncrementalHashEqualsOneShot) {
  Sha256Hasher h;
  h.Update("hello ");
  h.Update("world");
  EXPECT_EQ(h.FinishHex(), Sha256Hex("hello world"));
}

TEST(Crypto, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(Ids, UuidHasCanonicalVersion4Form) {
  std::string a = NewUuid();
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[8], '-');
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(a, NewUuid());
}

}  // namespace
}  // namespace berth
