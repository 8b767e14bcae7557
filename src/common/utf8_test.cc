#include "common/utf8.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(ValidUtf8Test, KeepsWellFormedText) {
  EXPECT_EQ(ValidUtf8(""), "");
  EXPECT_EQ(ValidUtf8("waitSeconds=30"), "waitSeconds=30");
  EXPECT_EQ(ValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x9A\xA2"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x9A\xA2");
}

TEST(ValidUtf8Test, ReplacesEachBadByte) {
  EXPECT_EQ(ValidUtf8("0\xFA"), "0\xEF\xBF\xBD");  // a lead byte that never starts a sequence
  EXPECT_EQ(ValidUtf8("\xC3"), "\xEF\xBF\xBD");    // cut short
  EXPECT_EQ(ValidUtf8("\x80x"), "\xEF\xBF\xBDx");  // a lone continuation byte
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(ValidUtf8("\xF4\x90\x80\x80"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // past U+10FFFF
}

}  // namespace
}  // namespace berth
