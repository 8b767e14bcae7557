#include "server/api/task_state_rules.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace berth::server::api {
namespace {

namespace json = boost::json;

json::object Parse(std::string_view text) { return json::parse(text).as_object(); }

json::object PendingTask() {
  return Parse(R"({"lastStatus": "PENDING", "desiredStatus": "RUNNING",
    "containers": [{"name": "a", "lastStatus": "PENDING"}, {"name": "b", "lastStatus": "PENDING"}]})");
}

TEST(TaskStateRules, Ranks) {
  EXPECT_LT(StatusRank("PENDING"), StatusRank("RUNNING"));
  EXPECT_LT(StatusRank("RUNNING"), StatusRank("STOPPED"));
  EXPECT_EQ(StatusRank("ACTIVATING"), 0);
  EXPECT_TRUE(IsKnownTaskStatus("DEACTIVATING"));
  EXPECT_FALSE(IsKnownTaskStatus("EXPLODED"));
}

TEST(TaskStateRules, RunningThenStoppedWithExitCodes) {
  json::object task = PendingTask();
  ApplyTaskReport(task, Parse(R"({"status": "RUNNING", "pullStartedAt": 10, "pullStoppedAt": 12})"),
                  20.0);
  EXPECT_EQ(task.at("lastStatus").as_string(), "RUNNING");
  EXPECT_EQ(task.at("startedAt").as_double(), 20.0);
  EXPECT_EQ(task.at("connectivity").as_string(), "CONNECTED");
  EXPECT_EQ(task.at("pullStartedAt").as_double(), 10.0);

  // A repeat changes nothing: startedAt stays the first.
  json::object before = task;
  ApplyTaskReport(task, Parse(R"({"status": "RUNNING"})"), 25.0);
  EXPECT_EQ(task, before);

  ApplyContainerReport(task["containers"].as_array()[0].as_object(),
                       Parse(R"({"status": "STOPPED", "exitCode": 3, "runtimeId": "r1"})"));
  ApplyTaskReport(task, Parse(R"({"status": "STOPPED", "reason": "Essential container exited"})"),
                  30.0);
  EXPECT_EQ(task.at("lastStatus").as_string(), "STOPPED");
  EXPECT_EQ(task.at("desiredStatus").as_string(), "STOPPED");
  EXPECT_EQ(task.at("stopCode").as_string(), "EssentialContainerExited");
  EXPECT_EQ(task.at("stoppedReason").as_string(), "Essential container exited");
  EXPECT_EQ(task.at("stoppedAt").as_double(), 30.0);
  EXPECT_EQ(task.at("executionStoppedAt").as_double(), 30.0);
  const json::object& a = task.at("containers").as_array()[0].as_object();
  EXPECT_EQ(a.at("exitCode").as_int64(), 3);
  EXPECT_EQ(a.at("runtimeId").as_string(), "r1");
  EXPECT_EQ(task.at("containers").as_array()[1].as_object().at("lastStatus").as_string(),
            "STOPPED");

  // Stopped is final.
  before = task;
  ApplyTaskReport(task, Parse(R"({"status": "RUNNING"})"), 40.0);
  ApplyContainerReport(task["containers"].as_array()[0].as_object(),
                       Parse(R"({"status": "RUNNING", "exitCode": 0})"));
  EXPECT_EQ(task, before);
  // ... but a stopped container may still learn an exit code it lacked.
  ApplyContainerReport(task["containers"].as_array()[1].as_object(),
                       Parse(R"({"status": "STOPPED", "exitCode": 137})"));
  EXPECT_EQ(task.at("containers").as_array()[1].as_object().at("exitCode").as_int64(), 137);
}

TEST(TaskStateRules, RegressionsAreIgnored) {
  json::object task = PendingTask();
  ApplyTaskReport(task, Parse(R"({"status": "RUNNING"})"), 20.0);
  json::object before = task;
  ApplyTaskReport(task, Parse(R"({"status": "PENDING"})"), 21.0);
  ApplyTaskReport(task, Parse(R"({"status": "ACTIVATING"})"), 21.0);
  EXPECT_EQ(task, before);
  json::object container = Parse(R"({"name": "a", "lastStatus": "RUNNING"})");
  ApplyContainerReport(container, Parse(R"({"status": "PENDING", "runtimeId": "x"})"));
  EXPECT_FALSE(container.contains("runtimeId"));
}

TEST(TaskStateRules, StopCodes) {
  json::object never_ran = PendingTask();
  ApplyTaskReport(never_ran, Parse(R"({"status": "STOPPED"})"), 5.0);
  EXPECT_EQ(never_ran.at("stopCode").as_string(), "TaskFailedToStart");
  EXPECT_EQ(never_ran.at("stoppedReason").as_string(), "Task failed to start");

  json::object ran = PendingTask();
  ran["startedAt"] = 1.0;
  EXPECT_EQ(StopCodeFor(ran, "CannotPullContainerError: no such image"), "TaskFailedToStart");
  EXPECT_EQ(StopCodeFor(ran, "CannotStartContainerError: bad"), "TaskFailedToStart");
  EXPECT_EQ(StopCodeFor(ran, ""), "EssentialContainerExited");

  // StopTask asked: the user's code and reason stay.
  json::object stopping = ran;
  stopping["desiredStatus"] = "STOPPED";
  stopping["stopCode"] = "UserInitiated";
  stopping["stoppedReason"] = "bye";
  stopping["stoppingAt"] = 3.0;
  ApplyTaskReport(stopping, Parse(R"({"status": "STOPPED", "reason": "exited"})"), 4.0);
  EXPECT_EQ(stopping.at("stopCode").as_string(), "UserInitiated");
  EXPECT_EQ(stopping.at("stoppedReason").as_string(), "bye");
  EXPECT_EQ(stopping.at("stoppingAt").as_double(), 3.0);
}

}  // namespace
}  // namespace berth::server::api
