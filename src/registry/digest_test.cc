#include "registry/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::registry {
namespace {

const std::string kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kEmptySha512 =
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

struct ParseCase {
  std::string text;
  bool valid;
};

TEST(Digest, ParseAcceptsOnlyWellFormedSupportedDigests) {
  const ParseCase cases[] = {
      {"sha256:" + kEmptySha256, true},
      {"sha512:" + kEmptySha512, true},
      {"sha256:" + std::string(64, 'A'), false},              // uppercase hex
      {"sha256:E3b0" + kEmptySha256.substr(4), false},        // one uppercase digit
      {"sha256:" + kEmptySha256.substr(1), false},            // 63 digits
      {"sha256:" + kEmptySha256 + "0", false},                // 65 digits
      {"sha256:" + kEmptySha256 + "\n", false},               // trailing newline
      {" sha256:" + kEmptySha256, false},                     // leading space
      {"sha256:" + kEmptySha256.substr(0, 63) + "g", false},  // not hex
      {"sha512:" + kEmptySha256, false},                      // sha512 wants 128
      {"sha256:" + kEmptySha512, false},                      // sha256 wants 64
      {"SHA256:" + kEmptySha256, false},                      // algorithm is lowercase
      {"sha384:" + std::string(96, 'a'), false},              // unsupported algorithm
      {"md5:d41d8cd98f00b204e9800998ecf8427e", false},        // unsupported algorithm
      {"sha256+b64u:" + kEmptySha256, false},                 // unsupported algorithm
      {"sha256" + kEmptySha256, false},                       // no colon
      {"sha256:", false},                                     // no hex
      {":" + kEmptySha256, false},                            // no algorithm
      {"", false},                                            //
      {"sha256:sha256:" + kEmptySha256.substr(7), false},     // two colons
      {"sha256:../../" + kEmptySha256.substr(6), false},      // a path
  };
  for (const ParseCase& c : cases) {
    std::optional<Digest> digest = Digest::Parse(c.text);
    EXPECT_EQ(digest.has_value(), c.valid) << "\"" << c.text << "\"";
    if (digest) {
      EXPECT_EQ(digest->ToString(), c.text);
    }
  }
}

TEST(Digest, ParseSplitsAlgorithmAndHex) {
  std::optional<Digest> digest = Digest::Parse("sha256:" + kEmptySha256);
  ASSERT_TRUE(digest);
  EXPECT_EQ(digest->algorithm, "sha256");
  EXPECT_EQ(digest->hex, kEmptySha256);
}

TEST(Digest, Sha256OfIsTheKnownValue) {
  EXPECT_EQ(Digest::Sha256Of("").ToString(), "sha256:" + kEmptySha256);
  EXPECT_EQ(Digest::Sha256Of("abc").hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestHasher, IncrementalSha256EqualsOneShot) {
  DigestHasher hasher("sha256");
  hasher.Update("hello ");
  hasher.Update("");
  hasher.Update("world");
  EXPECT_EQ(hasher.Finish(), Digest::Sha256Of("hello world"));
}

TEST(DigestHasher, Sha512IsTheKnownValue) {
  DigestHasher empty("sha512");
  EXPECT_EQ(empty.Finish().ToString(), "sha512:" + kEmptySha512);

  DigestHasher abc("sha512");
  abc.Update("a");
  abc.Update("bc");
  EXPECT_EQ(abc.Finish().hex,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(DigestHasher, UnsupportedAlgorithmThrows) {
  EXPECT_THROW(DigestHasher("md5"), std::invalid_argument);
}

}  // namespace
}  // namespace berth::registry
