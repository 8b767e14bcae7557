#include "registry/open_uploads.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace berth::registry {
namespace {

TEST(OpenUploadsTest, CapsEachRepositoryOnItsOwn) {
  OpenUploads open(2);
  auto alive = [](const std::string&) { return true; };
  EXPECT_TRUE(open.Add("a", "1", alive));
  EXPECT_TRUE(open.Add("a", "2", alive));
  EXPECT_FALSE(open.Add("a", "3", alive));
  EXPECT_TRUE(open.Add("b", "4", alive));  // another repository
  open.Remove("a", "1");                   // completed
  EXPECT_TRUE(open.Add("a", "3", alive));
}

TEST(OpenUploadsTest, ExpiredUploadsMakeRoomWhenTheCapIsReached) {
  OpenUploads open(2);
  std::set<std::string> existing = {"1", "2"};
  auto exists = [&](const std::string& id) { return existing.count(id) > 0; };
  EXPECT_TRUE(open.Add("a", "1", exists));
  EXPECT_TRUE(open.Add("a", "2", exists));
  existing.erase("1");  // garbage-collected
  existing.insert("3");
  EXPECT_TRUE(open.Add("a", "3", exists));
  existing.insert("4");
  EXPECT_FALSE(open.Add("a", "4", exists));
}

TEST(OpenUploadsTest, ZeroMeansNoCap) {
  OpenUploads open(0);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(open.Add("a", std::to_string(i), [](const std::string&) { return true; }));
  }
}

}  // namespace
}  // namespace berth::registry
