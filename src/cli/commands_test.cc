#include "cli/commands.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "cli/verbs.h"

namespace berth::cli {
namespace {

using ::testing::internal::CaptureStderr;
using ::testing::internal::GetCapturedStderr;

Verb Returning(std::function<StatusOr<int>()> run) { return {"registry gc", nullptr, run}; }

TEST(RunVerbTest, AnExitStatusPassesThroughSilently) {
  CaptureStderr();
  EXPECT_EQ(RunVerb(Returning([] { return 0; })), 0);
  EXPECT_EQ(RunVerb(Returning([] { return 3; })), 3);
  EXPECT_EQ(GetCapturedStderr(), "");
}

TEST(RunVerbTest, AnErrorIsOneLineNamingTheVerb) {
  CaptureStderr();
  int exit_status = RunVerb(Returning([]() -> StatusOr<int> {
    return FailedPrecondition("UnrecognizedClientException: unknown key");
  }));
  EXPECT_EQ(exit_status, 1);
  EXPECT_EQ(GetCapturedStderr(), "berth registry gc: UnrecognizedClientException: unknown key\n");
}

TEST(RunVerbTest, AnExceptionIsCaughtAndPrintedTheSameWay) {
  CaptureStderr();
  int exit_status =
      RunVerb(Returning([]() -> StatusOr<int> { throw std::invalid_argument("stoull"); }));
  EXPECT_EQ(exit_status, 1);
  EXPECT_EQ(GetCapturedStderr(), "berth registry gc: stoull\n");
}

TEST(RunVerbTest, AMultiLineMessageStaysOnOneLine) {
  CaptureStderr();
  RunVerb(Returning([]() -> StatusOr<int> {
    return Unavailable("server answered 502: <html>\r\nbad gateway\n</html>");
  }));
  EXPECT_EQ(GetCapturedStderr(),
            "berth registry gc: server answered 502: <html>  bad gateway </html>\n");
}

// Runs `berth ARGS...` and returns its exit status; stderr is captured.
int RunMain(std::vector<std::string> args) {
  args.insert(args.begin(), "berth");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return Main(static_cast<int>(argv.size()), argv.data());
}

TEST(ExecCommandTest, NoCommandIsOneLineWithStatus1) {
  CaptureStderr();
  EXPECT_EQ(RunMain({"exec", "abc"}), 1);
  EXPECT_EQ(GetCapturedStderr(),
            "berth exec: no command: give it after --, e.g. berth exec TASK -- sh\n");
}

TEST(ExecCommandTest, AnUnreachableServerIsOneLineWithStatus1) {
  CaptureStderr();
  EXPECT_EQ(RunMain({"exec", "--endpoint", "http://127.0.0.1:1", "--container", "main", "abc", "--",
                     "echo", "hi"}),
            1);
  std::string err = GetCapturedStderr();
  EXPECT_EQ(err.rfind("berth exec: ", 0), 0u) << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
}

// The flag is checked by the parser the agent uses, so the two cannot
// disagree on the values.
TEST(AgentCommandTest, AnUnknownImagePullBehaviorIsRefusedNamingTheValues) {
  CaptureStderr();
  EXPECT_NE(RunMain({"agent", "--image-pull-behavior", "never"}), 0);
  EXPECT_NE(GetCapturedStderr().find(
                "image pull behavior 'never': must be default, always, once or prefer-cached"),
            std::string::npos);
}

}  // namespace
}  // namespace berth::cli
