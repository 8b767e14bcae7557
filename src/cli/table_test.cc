#include "cli/table.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

TEST(TableTest, ColumnsArePaddedToTheWidestCell) {
  EXPECT_EQ(RenderTable({{"NAME", "STATUS", "REASON"}, {"a", "RUNNING", ""}, {"bbbbbb", "X", "y"}}),
            "NAME    STATUS   REASON\n"
            "a       RUNNING\n"
            "bbbbbb  X        y\n");
}

TEST(TableTest, WithoutAWidthNothingIsCut) {
  std::string long_reason(200, 'r');
  EXPECT_EQ(RenderTable({{"A", "B"}, {"x", long_reason}}), "A  B\nx  " + long_reason + "\n");
}

TEST(TableTest, TheWidestColumnIsCutToFitTheTerminal) {
  // 4 + 2 + 20 = 26 columns wanted, 20 there: REASON narrowed by 6 to 14.
  EXPECT_EQ(RenderTable({{"NAME", "REASON"}, {"ab", "01234567890123456789"}, {"c", "short"}},
                        {.width = 20}),
            "NAME  REASON\n"
            "ab    01234567890...\n"
            "c     short\n");
}

TEST(TableTest, ACutColumnKeepsEightCharacters) {
  EXPECT_EQ(RenderTable({{"0123456789ABCDEF"}}, {.width = 3}), "01234...\n");
}

TEST(TableTest, ColourMakesTheHeadingsBold) {
  EXPECT_EQ(RenderTable({{"A", "B"}, {"x", "y"}}, {.colour = true}), "\033[1mA  B\033[0m\nx  y\n");
}

}  // namespace
}  // namespace berth::cli
