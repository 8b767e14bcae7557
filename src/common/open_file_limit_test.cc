#include "common/open_file_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace berth {
namespace {

TEST(OpenFileLimitTest, RaisesTheSoftLimitToTheHardLimit) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max < 64) GTEST_SKIP() << "a hard limit below 64 leaves nothing to lower";
  rlimit lowered = saved;
  lowered.rlim_cur = 32;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);

  OpenFileLimit raised = RaiseOpenFileLimit();

  rlimit now{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(raised.before, 32u);
  EXPECT_EQ(raised.now, saved.rlim_max);
  EXPECT_EQ(now.rlim_cur, saved.rlim_max);
  // Already at the hard limit: nothing changes.
  OpenFileLimit again = RaiseOpenFileLimit();
  EXPECT_EQ(again.before, saved.rlim_max);
  EXPECT_EQ(again.now, saved.rlim_max);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

}  // namespace
}  // namespace berth
