#include "cli/task_wait.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace berth::cli {
namespace {

boost::json::object Parse(const char* text) { return boost::json::parse(text).as_object(); }

TEST(TaskWaitTest, TheFirstEssentialContainerIsFollowed) {
  EXPECT_EQ(EssentialContainer(Parse(R"({"containerDefinitions": [
      {"name": "sidecar", "essential": false}, {"name": "train"}, {"name": "other"}]})")),
            "train");
  EXPECT_EQ(EssentialContainer(Parse(R"({"containerDefinitions": [
      {"name": "a", "essential": true}]})")),
            "a");
  EXPECT_EQ(EssentialContainer(Parse(R"({"containerDefinitions": [
      {"name": "a", "essential": false}]})")),
            "");
  EXPECT_EQ(EssentialContainer(Parse("{}")), "");
}

TEST(TaskWaitTest, TheContainersExitCodeOrOneWhenItNeverRan) {
  auto task = Parse(R"({"stoppedReason": "Essential container in task exited",
      "containers": [{"name": "sidecar", "exitCode": 0}, {"name": "train", "exitCode": 3}]})");
  TaskExit exit = ExitOf(task, "train");
  EXPECT_EQ(exit.code, 3);
  EXPECT_EQ(exit.reason, "Essential container in task exited");
  EXPECT_EQ(ExitOf(task, "sidecar").code, 0);
  EXPECT_EQ(ExitOf(Parse(R"({"stoppedReason": "Task stopped by user",
      "containers": [{"name": "train"}]})"),
                   "train")
                .code,
            1);
}

}  // namespace
}  // namespace berth::cli
