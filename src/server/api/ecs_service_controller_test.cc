// The service scheduler (EcsApi::ReconcileServices) on a fake clock over
// the in-memory store: scale up and down, replacement of a stopped task,
// the placement failure event and its throttle, the steady-state event and
// rollout, a deleted service drained to INACTIVE. Instances are registered
// through the API alone: tasks stay PENDING and StopTask stops them at once.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

#include "server/api/ecs_api.h"
#include "server/api/ecs_api_testing.h"

namespace berth::server::api {
namespace {

namespace json = boost::json;

class EcsServiceControllerTest : public testing::EcsApiTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.Load().ok());
    Call("CreateCluster", R"({"clusterName": "c"})");
    Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
        {"name": "a", "image": "busybox", "cpu": 256, "memory": 256}]})");
  }

  // An instance with room for `tasks` tasks of "f".
  void AddInstance(int tasks) {
    Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
        {"name": "CPU", "type": "INTEGER", "integerValue": )" +
                                          std::to_string(256 * tasks) + R"(},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}]})");
  }

  // Requests at the controller's clock.
  json::object Call(std::string_view op, std::string_view body) {
    return EcsApiTest::Call(op, body, now_);
  }

  void Tick(int64_t millis = 1000) {
    now_ += millis;
    api_.ReconcileServices(now_);
  }

  json::object Service() {
    return Call("DescribeServices", R"({"cluster": "c", "services": ["s"]})")
        .at("services")
        .as_array()
        .at(0)
        .as_object();
  }

  std::vector<std::string> Tasks(std::string_view status = "RUNNING") {
    const json::object list = Call("ListTasks", R"({"cluster": "c", "serviceName": "s",
        "desiredStatus": ")" + std::string(status) + "\"}");
    std::vector<std::string> out;
    for (const auto& a : list.at("taskArns").as_array()) out.emplace_back(a.as_string());
    return out;
  }

  json::object Task(std::string_view arn) {
    return Call("DescribeTasks", R"({"cluster": "c", "tasks": [")" + std::string(arn) + "\"]}")
        .at("tasks")
        .as_array()
        .at(0)
        .as_object();
  }

  std::vector<std::string> Events() {
    std::vector<std::string> out;
    const json::object service = Service();
    for (const auto& e : service.at("events").as_array()) {
      out.emplace_back(e.at("message").as_string());
    }
    return out;
  }

  int64_t now_ = kNow;

  void SetDesired(int n) {
    Call("UpdateService",
         R"({"cluster": "c", "service": "s", "desiredCount": )" + std::to_string(n) + "}");
  }
};

TEST_F(EcsServiceControllerTest, ScalesUpAndDownAndReplacesStoppedTasks) {
  AddInstance(4);
  json::object created = Call("CreateService", R"({"cluster": "c", "serviceName": "s",
      "taskDefinition": "f", "desiredCount": 2, "propagateTags": "SERVICE",
      "tags": [{"key": "team", "value": "x"}]})");
  const std::string deployment(
      created.at("service").at("deployments").as_array()[0].at("id").as_string());
  Tick();
  std::vector<std::string> tasks = Tasks();
  ASSERT_EQ(tasks.size(), 2u);
  json::object task = Call("DescribeTasks", R"({"cluster": "c", "include": ["TAGS"], "tasks": [")" +
                                                tasks[0] + "\"]}")
                          .at("tasks")
                          .as_array()[0]
                          .as_object();
  EXPECT_EQ(task.at("group").as_string(), "service:s");
  EXPECT_EQ(task.at("startedBy").as_string(), deployment);
  EXPECT_EQ(task.at("tags").as_array()[0].at("key").as_string(), "team");
  EXPECT_EQ(Service().at("pendingCount").as_int64(), 2);
  EXPECT_TRUE(Events()[0].starts_with("(service s) has started 2 tasks: (task ")) << Events()[0];

  Tick();  // nothing changed: nothing placed
  EXPECT_EQ(Tasks().size(), 2u);

  // A stopped task is replaced.
  Call("StopTask", R"({"cluster": "c", "task": ")" + tasks[0] + "\"}");
  Tick();
  std::vector<std::string> after = Tasks();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(std::count(after.begin(), after.end(), tasks[0]), 0);

  // Scaling in stops the newest first, as the scheduler's doing.
  SetDesired(3);
  Tick();
  ASSERT_EQ(Tasks().size(), 3u);
  SetDesired(1);
  Tick();
  std::vector<std::string> left = Tasks();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0], after[0]) << "the oldest one stays";
  std::vector<std::string> stopped = Tasks("STOPPED");
  json::object stopped_task = Task(stopped.back());
  EXPECT_EQ(Events()[0].substr(0, 41), "(service s) has stopped 2 running tasks: ");
  bool scheduler_stopped = false;
  for (const std::string& arn : stopped) {
    json::object t = Task(arn);
    if (t.at("stopCode").as_string() != "ServiceSchedulerInitiated") continue;
    scheduler_stopped = true;
    EXPECT_EQ(t.at("stoppedReason").as_string(),
              "Scaling activity initiated by (deployment " + deployment + ")");
  }
  EXPECT_TRUE(scheduler_stopped);
}

TEST_F(EcsServiceControllerTest, PlacementFailureEventIsThrottledToOneAMinute) {
  AddInstance(1);
  Call("CreateService",
       R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f", "desiredCount": 2})");
  Tick();
  EXPECT_EQ(Tasks().size(), 1u);
  std::vector<std::string> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].starts_with(
      "(service s) was unable to place a task because no container instance met all of its "
      "requirements. Reason: RESOURCE:CPU"))
      << events[0];
  for (int i = 0; i < 30; ++i) Tick();
  EXPECT_EQ(Events().size(), 2u) << "at most once a minute";
  for (int i = 0; i < 31; ++i) Tick();
  EXPECT_EQ(Events().size(), 3u);
  // Room appears: the missing task is placed.
  AddInstance(1);
  Tick();
  EXPECT_EQ(Tasks().size(), 2u);
}

TEST_F(EcsServiceControllerTest, SteadyStateIsAnnouncedOncePerPeriod) {
  AddInstance(4);
  Call("CreateService",
       R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f", "desiredCount": 0})");
  Tick();
  Tick();
  std::vector<std::string> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "(service s) has reached a steady state.");
  json::object deployment = Service().at("deployments").as_array()[0].as_object();
  EXPECT_EQ(deployment.at("rolloutState").as_string(), "COMPLETED");
  EXPECT_EQ(deployment.at("rolloutStateReason").as_string(),
            "ECS deployment " + std::string(deployment.at("id").as_string()) + " completed.");
  EXPECT_FALSE(Service().contains("berthSteadyDeployment"));

  // Tasks PENDING (nothing runs them here): not steady; back at zero, a new
  // steady period.
  SetDesired(1);
  Tick();
  SetDesired(0);
  Tick();
  Tick();
  events = Events();
  EXPECT_EQ(events[0], "(service s) has reached a steady state.");
  EXPECT_EQ(std::count(events.begin(), events.end(), events[0]), 2);
}

TEST_F(EcsServiceControllerTest, NewDeploymentRollsAndOldOneIsRetired) {
  AddInstance(8);
  Call("CreateService",
       R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f", "desiredCount": 2})");
  Tick();
  Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
      {"name": "a", "image": "busybox:1", "cpu": 256, "memory": 256}]})");
  Call("UpdateService", R"({"cluster": "c", "service": "s", "taskDefinition": "f:2"})");
  // Old tasks are PENDING, so not healthy: they go at once, and the new
  // deployment places its 2 (ceiling 2*200/100 = 4).
  Tick();
  Tick();
  std::vector<std::string> tasks = Tasks();
  ASSERT_EQ(tasks.size(), 2u);
  for (const std::string& arn : tasks) {
    EXPECT_TRUE(Task(arn).at("taskDefinitionArn").as_string().ends_with("f:2"));
  }
  EXPECT_EQ(Service().at("deployments").as_array().size(), 1u);
}

TEST_F(EcsServiceControllerTest, DeletedServiceIsDrainedToInactive) {
  AddInstance(4);
  Call("CreateService",
       R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f", "desiredCount": 2})");
  Tick();
  ASSERT_EQ(Tasks().size(), 2u);
  Call("DeleteService", R"({"cluster": "c", "service": "s", "force": true})");
  EXPECT_EQ(Service().at("status").as_string(), "DRAINING");
  Tick();
  EXPECT_TRUE(Tasks().empty());
  EXPECT_EQ(Service().at("status").as_string(), "INACTIVE");
  // Written down, not only read so.
  EcsApi reloaded{*store_, tracker_, ArnScope{}};
  ASSERT_TRUE(reloaded.Load().ok());
  json::object in = json::parse(R"({"cluster": "c", "services": ["s"]})").as_object();
  EXPECT_EQ(reloaded.Call("DescribeServices", in, CallContext{"key", now_})
                .body.at("services")
                .as_array()[0]
                .at("status")
                .as_string(),
            "INACTIVE");
}

}  // namespace
}  // namespace berth::server::api
