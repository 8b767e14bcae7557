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

TEST(Ids, TimeOrderedIdsSortByTimeThenDiffer) {
  std::string a = NewTimeOrderedId(1'700'000'000'000);
  ASSERT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a.substr(0, 12), "018bcfe56800");  // 1700000000000 in hex, 48 bits
  EXPECT_LT(a, NewTimeOrderedId(1'700'000'000'001));
  EXPECT_NE(a, NewTimeOrderedId(1'700'000'000'000));
}

}  // namespace
}  // namespace berth
