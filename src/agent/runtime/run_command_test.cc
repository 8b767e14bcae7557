#include "agent/runtime/run_command.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

namespace berth::agent {
namespace {

using ::testing::HasSubstr;

TEST(RunCommandTest, OutputErrorsAndTheExitCodeComeBackApart) {
  StatusOr<CommandResult> r = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
}

TEST(RunCommandTest, AKilledProgramsCodeIs128PlusTheSignal) {
  StatusOr<CommandResult> r = RunCommand({"sh", "-c", "kill -KILL $$"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 128 + 9);
}

TEST(RunCommandTest, AProgramThatCannotRunIsNotFoundNamingIt) {
  StatusOr<CommandResult> missing = RunCommand({"berth-no-such-program"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("berth-no-such-program"));
  EXPECT_FALSE(RunCommand({"/proc/self/no-such-file"}).ok());
  EXPECT_FALSE(RunCommand({}).ok());
}

// Its input is empty and it holds none of the caller's descriptors (a pipe
// kept open by a child would keep the caller's reads waiting).
TEST(RunCommandTest, TheProgramGetsNoInputAndOnlyItsThreeDescriptors) {
  int kept = open("/dev/null", O_RDONLY);  // not close-on-exec
  ASSERT_GE(kept, 3);
  StatusOr<CommandResult> r = RunCommand({"sh", "-c", "cat; ls /proc/$$/fd"});
  close(kept);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, "0\n1\n2\n");
}

TEST(RunCommandTest, AProgramPastItsTimeoutIsKilled) {
  bool told = false;
  RunLimits limits;
  limits.timeout_millis = 200;
  limits.on_timeout = [&] { told = true; };
  auto begin = std::chrono::steady_clock::now();
  StatusOr<CommandResult> r = RunCommand({"sleep", "30"}, limits);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_TRUE(told);
  EXPECT_EQ(r->exit_code, 128 + 9);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(10));
}

}  // namespace
}  // namespace berth::agent
