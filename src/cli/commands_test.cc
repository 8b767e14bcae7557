#include <gtest/gtest.h>

#include <stdexcept>

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

}  // namespace
}  // namespace berth::cli
