#include "cli/pull_progress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace berth::cli {
namespace {

using ::testing::ElementsAre;

boost::json::object Pulls() {
  return boost::json::parse(R"({"containers": [{"name": "train", "image": "r/train:1",
    "layers": [
      {"digest": "sha256:0123456789abcdef0123", "bytesDone": 3145728, "bytesTotal": 3145728,
       "done": true},
      {"digest": "sha256:fedcba9876543210fedc", "bytesDone": 1048576, "bytesTotal": 4194304,
       "done": false}]}]})")
      .as_object();
}

TEST(PullBarsTest, OneLinePerLayerWithItsShareDone) {
  EXPECT_THAT(PullBarLines(Pulls(), 0),
              ElementsAre("train sha256:0123456789ab [##############################] 100% 3.0 MiB",
                          "train sha256:fedcba987654 [#######-----------------------] 25% "
                          "1.0/4.0 MiB"));
}

TEST(PullBarsTest, TheBarNarrowsToTheTerminal) {
  std::vector<std::string> lines = PullBarLines(Pulls(), 60);
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) EXPECT_LE(line.size(), 60u) << line;
  EXPECT_EQ(lines[1], "train sha256:fedcba987654 [####------------] 25% 1.0/4.0 MiB");
}

TEST(PullBarsTest, ACachedImageIsOneLine) {
  EXPECT_THAT(PullBarLines(boost::json::parse(R"({"containers": [{"name": "main",
                  "image": "r/train:1", "cached": true, "layers": []}]})")
                               .as_object(),
                           80),
              ElementsAre("main r/train:1 cached"));
}

TEST(PullBarsTest, NothingPulledNothingShown) {
  EXPECT_TRUE(PullBarLines(boost::json::object{}, 80).empty());
  EXPECT_TRUE(
      PullBarLines(boost::json::parse(R"({"containers": "garbage"})").as_object(), 80).empty());
}

TEST(FormatBytesTest, Units) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(4096), "4 KiB");
  EXPECT_EQ(FormatBytes(5 << 20), "5.0 MiB");
}

}  // namespace
}  // namespace berth::cli
