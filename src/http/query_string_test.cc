#include "http/query_string.h"

#include <gtest/gtest.h>

namespace berth::http {
namespace {

TEST(QueryString, ParsesAndDecodes) {
  auto q = ParseQueryString("version=abc-1&waitSeconds=20&name=a%2Fb+c&flag&x=1&x=2&&bad=%zz");
  EXPECT_EQ(q.at("version"), "abc-1");
  EXPECT_EQ(q.at("waitSeconds"), "20");
  EXPECT_EQ(q.at("name"), "a/b c");
  EXPECT_EQ(q.at("flag"), "");
  EXPECT_EQ(q.at("x"), "1");  // the first wins
  EXPECT_EQ(q.at("bad"), "%zz");
  EXPECT_TRUE(ParseQueryString("").empty());
}

TEST(QueryString, PercentDecodeIsStrict) {
  EXPECT_EQ(PercentDecode("/v2/%2e%2E/x"), "/v2/../x");  // an escaped ".." is seen as one
  EXPECT_EQ(PercentDecode("a+b"), "a+b");                // '+' is a space in queries only
  EXPECT_FALSE(PercentDecode("%2"));
  EXPECT_FALSE(PercentDecode("%zz"));
  EXPECT_FALSE(PercentDecode("a%00"));
  auto q = ParseQueryString("n=10&last=a%2Fb&artifactType=application%2Fspdx%2Bjson&flag&n=20");
  EXPECT_EQ(q["n"], "10");
  EXPECT_EQ(q["artifactType"], "application/spdx+json");
}

TEST(QueryString, EncodesAllButUnreserved) {
  EXPECT_EQ(EncodeQueryValue("web-1_a.b~"), "web-1_a.b~");
  EXPECT_EQ(EncodeQueryValue("a b/c&d=é"), "a%20b%2Fc%26d%3D%C3%A9");
  EXPECT_EQ(ParseQueryString("v=" + EncodeQueryValue("a b/c&d=é")).at("v"), "a b/c&d=é");
}

TEST(QueryString, CountsAreWholeNonNegativeNumbers) {
  EXPECT_EQ(ParseQueryCount("0"), 0u);
  EXPECT_EQ(ParseQueryCount("25"), 25u);
  EXPECT_EQ(ParseQueryCount("18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"", "-1", "3s", "1e3", " 5", "+5", "18446744073709551616", "soon"}) {
    EXPECT_FALSE(ParseQueryCount(bad)) << bad;
  }
}

}  // namespace
}  // namespace berth::http
