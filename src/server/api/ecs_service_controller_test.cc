// The service scheduler (EcsApi::ReconcileServices) on a fake clock over
// the in-memory store: scale up and down, replacement of a stopped task,
// the placement failure event and its throttle, the steady-state event and
// rollout, a deleted service drained to INACTIVE. Instances are registered
// through the API alone: tasks stay PENDING and StopTask stops them at once.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <map>
#include <optional>
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
    // As the server does: passes until none stops with more to place.
    while (api_.ReconcileServices(now_)) {
    }
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

  // What an agent reports of a task: its status, and health or a reason.
  void Report(std::string_view arn, std::string_view status, std::string_view health = "",
              std::string_view reason = "") {
    std::string body = R"({"cluster": "c", "task": ")" + std::string(arn) + R"(", "status": ")" +
                       std::string(status) + "\"";
    if (!health.empty()) body += R"(, "healthStatus": ")" + std::string(health) + "\"";
    if (!reason.empty()) body += R"(, "reason": ")" + std::string(reason) + "\"";
    Call("SubmitTaskStateChange", body + "}");
  }

  // Every PENDING task of the service reported RUNNING.
  void RunAll(std::string_view health = "") {
    for (const std::string& arn : Tasks("RUNNING")) {
      if (Task(arn).at("lastStatus").as_string() == "PENDING") Report(arn, "RUNNING", health);
    }
  }

  std::string InstanceIds(int i) {
    return std::string(Call("ListContainerInstances", R"({"cluster": "c"})")
                           .at("containerInstanceArns")
                           .as_array()
                           .at(i)
                           .as_string());
  }

  json::object Deployment(int i) {
    return Service().at("deployments").as_array().at(i).as_object();
  }

  bool HasEvent(std::string_view text) {
    for (const std::string& e : Events()) {
      if (e.find(text) != std::string::npos) return true;
    }
    return false;
  }

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

TEST_F(EcsServiceControllerTest, AServiceLargerThanAPassIsPlacedWholeInPassesOfAThousand) {
  for (int i = 0; i < 5; ++i) {
    Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
        {"name": "CPU", "type": "INTEGER", "integerValue": 128000},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 128000}]})");
  }
  Call("CreateService", R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f",
      "desiredCount": 2500})");
  Tick();
  // All of them in one tick, in passes that each let other requests in:
  // three "has started" events (1,000, 1,000 and 500).
  EXPECT_EQ(Service().at("pendingCount").as_int64(), 2500);
  int started = 0;
  for (const std::string& e : Events()) started += e.find("has started") != std::string::npos;
  EXPECT_EQ(started, 3);
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

TEST_F(EcsServiceControllerTest, TaskFailingItsHealthChecksIsReplaced) {
  AddInstance(4);
  Call("RegisterTaskDefinition", R"({"family": "h", "containerDefinitions": [
      {"name": "a", "image": "busybox", "cpu": 256, "memory": 256,
       "healthCheck": {"command": ["CMD-SHELL", "true"]}}]})");
  Call("CreateService",
       R"({"cluster": "c", "serviceName": "s", "taskDefinition": "h", "desiredCount": 1})");
  Tick();
  const std::string first = Tasks().at(0);
  Report(first, "RUNNING");  // health UNKNOWN: running, not yet healthy
  Tick();
  EXPECT_FALSE(HasEvent("steady state")) << "a health-checked task counts once HEALTHY";
  Report(first, "RUNNING", "HEALTHY");
  Tick();
  EXPECT_TRUE(HasEvent("has reached a steady state."));

  Report(first, "RUNNING", "UNHEALTHY");
  Tick();
  json::object stopped = Task(first);
  EXPECT_EQ(stopped.at("desiredStatus").as_string(), "STOPPED");
  EXPECT_EQ(stopped.at("stopCode").as_string(), "ServiceSchedulerInitiated");
  EXPECT_EQ(stopped.at("stoppedReason").as_string(), "Task failed container health checks");
  EXPECT_TRUE(HasEvent("(service s) (task " + first.substr(first.rfind('/') + 1) +
                       ") failed container health checks."));
  // The replacement started in the same pass.
  std::vector<std::string> now = Tasks();
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(now[0], first);
  EXPECT_EQ(Service().at("pendingCount").as_int64(), 1);
}

TEST_F(EcsServiceControllerTest, GracePeriodIgnoresEarlyUnhealthyReports) {
  AddInstance(4);
  Call("RegisterTaskDefinition", R"({"family": "h", "containerDefinitions": [
      {"name": "a", "image": "busybox", "cpu": 256, "memory": 256,
       "healthCheck": {"command": ["CMD-SHELL", "true"]}}]})");
  Call("CreateService", R"({"cluster": "c", "serviceName": "s", "taskDefinition": "h",
      "desiredCount": 1, "healthCheckGracePeriodSeconds": 60})");
  Tick();
  const std::string task = Tasks().at(0);
  Report(task, "RUNNING", "UNHEALTHY");
  Tick(30'000);  // 30 s after it started: within the 60 s grace
  EXPECT_EQ(Task(task).at("desiredStatus").as_string(), "RUNNING");
  Tick(31'000);  // 61 s: past it
  EXPECT_EQ(Task(task).at("desiredStatus").as_string(), "STOPPED");
}

TEST_F(EcsServiceControllerTest, CircuitBreakerFailsTheDeploymentAndRollsBack) {
  AddInstance(8);
  Call("CreateService", R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f:1",
      "desiredCount": 1, "deploymentConfiguration": {
        "deploymentCircuitBreaker": {"enable": true, "rollback": true}}})");
  Tick();
  const std::string good = Tasks().at(0);
  RunAll();
  Tick();
  const std::string completed(Deployment(0).at("id").as_string());
  ASSERT_EQ(Deployment(0).at("rolloutState").as_string(), "COMPLETED");

  Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
      {"name": "a", "image": "busybox:missing", "cpu": 256, "memory": 256}]})");
  Call("UpdateService", R"({"cluster": "c", "service": "s", "taskDefinition": "f:2"})");
  const std::string broken(Deployment(0).at("id").as_string());
  // desired 1: threshold max(ceil(1/2), 3) = 3 tasks failing to start.
  for (int failure = 1; failure <= 3; ++failure) {
    Tick();
    std::string fresh;
    for (const std::string& arn : Tasks()) {
      if (Task(arn).at("taskDefinitionArn").as_string().ends_with("f:2")) fresh = arn;
    }
    ASSERT_FALSE(fresh.empty()) << "failure " << failure << ": a new task of f:2 was started";
    Report(fresh, "STOPPED", "", "CannotPullContainerError: busybox:missing: not found");
    EXPECT_EQ(Task(fresh).at("stopCode").as_string(), "TaskFailedToStart");
  }
  Tick();
  // Deployments, newest first: the rollback (PRIMARY, f:1), the failed one.
  json::object rollback = Deployment(0);
  json::object failed = Deployment(1);
  EXPECT_EQ(failed.at("id").as_string(), broken);
  EXPECT_EQ(failed.at("status").as_string(), "ACTIVE");
  EXPECT_EQ(failed.at("rolloutState").as_string(), "FAILED");
  EXPECT_EQ(failed.at("failedTasks").as_int64(), 3);
  EXPECT_TRUE(
      failed.at("rolloutStateReason").as_string().starts_with("ECS deployment circuit breaker"));
  EXPECT_EQ(rollback.at("status").as_string(), "PRIMARY");
  EXPECT_TRUE(rollback.at("taskDefinition").as_string().ends_with("f:1"));
  EXPECT_TRUE(Service().at("taskDefinition").as_string().ends_with("f:1"));
  EXPECT_TRUE(HasEvent("(service s) (deployment " + broken +
                       ") deployment failed: tasks failed to start."));
  EXPECT_TRUE(HasEvent("(service s) rolling back to deployment " + completed + "."));
  // The good task served throughout (minimumHealthyPercent 100).
  EXPECT_EQ(Task(good).at("desiredStatus").as_string(), "RUNNING");

  // The rollback's task runs, the first deployment's task gives way, and
  // the service is steady on f:1 again.
  Tick();
  RunAll();
  Tick();
  Report(good, "STOPPED");
  Tick();
  Tick();
  EXPECT_EQ(Service().at("deployments").as_array().size(), 1u);
  EXPECT_EQ(Deployment(0).at("rolloutState").as_string(), "COMPLETED");
  EXPECT_EQ(Service().at("runningCount").as_int64(), 1);

  // The service's deployments as ECS lists them: the failed one rolled back
  // to the first one's revision, which runs again.
  const json::array listed = Call("ListServiceDeployments", R"({"cluster": "c", "service": "s"})")
                                 .at("serviceDeployments")
                                 .as_array();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].at("status").as_string(), "ROLLBACK_SUCCESSFUL");
  EXPECT_EQ(listed[1].at("status").as_string(), "SUCCESSFUL");
  const std::string arn(listed[0].at("serviceDeploymentArn").as_string());
  const json::object described =
      Call("DescribeServiceDeployments", R"({"serviceDeploymentArns": [")" + arn + "\"]}")
          .at("serviceDeployments")
          .as_array()
          .at(0)
          .as_object();
  EXPECT_EQ(described.at("rollback").at("serviceRevisionArn"),
            Service().at("currentServiceRevisions").at(0).at("arn"));
  EXPECT_EQ(described.at("deploymentCircuitBreaker").at("status").as_string(), "TRIGGERED");
  EXPECT_EQ(Service().at("currentServiceDeployment").as_string(), arn);
}

TEST_F(EcsServiceControllerTest, ServiceTasksRunTheDigestTheFirstTaskResolved) {
  AddInstance(4);
  Call("RegisterTaskDefinition", R"({"family": "v", "containerDefinitions": [
      {"name": "app", "image": "127.0.0.1:5000/app:latest", "cpu": 256, "memory": 256},
      {"name": "log", "image": "127.0.0.1:5000/log:1", "cpu": 0, "memory": 16,
       "versionConsistency": "disabled"}]})");
  Call("CreateService", R"({"cluster": "c", "serviceName": "s", "taskDefinition": "v:1",
      "desiredCount": 1})");
  Tick();
  const std::string first = Tasks().at(0);
  Call("SubmitTaskStateChange", R"({"cluster": "c", "task": ")" + first + R"(",
      "status": "RUNNING", "containers": [
        {"containerName": "app", "status": "RUNNING", "imageDigest": "sha256:)" +
                                    std::string(64, 'b') + R"("},
        {"containerName": "log", "status": "RUNNING", "imageDigest": "sha256:)" +
                                    std::string(64, 'c') + R"("}]})");
  Tick();
  SetDesired(2);
  Tick();

  const std::string arn(InstanceIds(0));
  std::optional<json::object> assignments = api_.AgentAssignments(arn.substr(arn.rfind('/') + 1));
  ASSERT_TRUE(assignments);
  std::map<std::string, std::string> app_image;  // task ARN -> what the agent pulls
  for (const auto& t : assignments->at("tasks").as_array()) {
    const json::array& defs = t.at("taskDefinition").at("containerDefinitions").as_array();
    app_image[std::string(t.at("taskArn").as_string())] = defs.at(0).at("image").as_string();
    EXPECT_EQ(defs.at(1).at("image").as_string(), "127.0.0.1:5000/log:1");
  }
  ASSERT_EQ(app_image.size(), 2u);
  for (const auto& [task, image] : app_image) {
    if (task == first) continue;  // started before the digest was known
    EXPECT_EQ(image, "127.0.0.1:5000/app:latest@sha256:" + std::string(64, 'b'));
  }
  const std::string revision(Service().at("currentServiceRevisions").at(0).at("arn").as_string());
  const json::object described =
      Call("DescribeServiceRevisions", R"({"serviceRevisionArns": [")" + revision + "\"]}");
  EXPECT_EQ(described.at("serviceRevisions").at(0).at("containerImages"),
            json::parse(R"([{"containerName": "log", "image": "127.0.0.1:5000/log:1"},
                {"containerName": "app", "image": "127.0.0.1:5000/app:latest",
                 "imageDigest": "sha256:)" +
                        std::string(64, 'b') + R"("}])"));
}

TEST_F(EcsServiceControllerTest, ADigestReportedByATaskThatStoppedSinceStillPinsTheRevision) {
  AddInstance(4);
  Call("RegisterTaskDefinition", R"({"family": "v", "containerDefinitions": [
      {"name": "app", "image": "127.0.0.1:5000/app:latest", "cpu": 256, "memory": 256}]})");
  Call("CreateService", R"({"cluster": "c", "serviceName": "s", "taskDefinition": "v:1",
      "desiredCount": 1})");
  Tick();
  const std::string first = Tasks().at(0);
  const std::string digest = "sha256:" + std::string(64, 'd');
  // RUNNING with its digest, and exited, both before the next pass.
  for (std::string_view status : {"RUNNING", "STOPPED"}) {
    Call("SubmitTaskStateChange", R"({"cluster": "c", "task": ")" + first + R"(", "status": ")" +
                                      std::string(status) + R"(", "containers": [
        {"containerName": "app", "status": ")" +
                                      std::string(status) + R"(", "imageDigest": ")" + digest +
                                      R"("}]})");
  }
  Tick();
  const std::string revision(Service().at("currentServiceRevisions").at(0).at("arn").as_string());
  const json::object described =
      Call("DescribeServiceRevisions", R"({"serviceRevisionArns": [")" + revision + "\"]}");
  EXPECT_EQ(described.at("serviceRevisions").at(0).at("containerImages"),
            json::parse(R"([{"containerName": "app", "image": "127.0.0.1:5000/app:latest",
                 "imageDigest": ")" +
                        digest + R"("}])"));
}

TEST_F(EcsServiceControllerTest, FailedRollbackIsNotRolledBackAgain) {
  AddInstance(8);
  Call("CreateService", R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f:1",
      "desiredCount": 1, "deploymentConfiguration": {
        "deploymentCircuitBreaker": {"enable": true, "rollback": true}}})");
  Tick();
  RunAll();
  Tick();
  Call("UpdateService",
       R"({"cluster": "c", "service": "s", "taskDefinition": "f:1", "forceNewDeployment": true})");
  // Every new task fails to start: the forced deployment trips, the
  // rollback (the same definition) trips too, and there it ends.
  auto fail_new = [&] {
    for (const std::string& arn : Tasks()) {
      if (Task(arn).at("lastStatus").as_string() == "PENDING") {
        Report(arn, "STOPPED", "", "CannotPullContainerError: gone");
      }
    }
  };
  for (int i = 0; i < 12; ++i) {
    Tick(30'000);  // past any throttle
    fail_new();
  }
  Tick();
  std::vector<std::string> events = Events();
  EXPECT_EQ(std::count_if(events.begin(), events.end(),
                          [](const std::string& e) { return e.find("rolling back") != e.npos; }),
            1);
  EXPECT_EQ(
      std::count_if(events.begin(), events.end(),
                    [](const std::string& e) { return e.find("deployment failed") != e.npos; }),
      2);
  EXPECT_EQ(Deployment(0).at("rolloutState").as_string(), "FAILED");
}

TEST_F(EcsServiceControllerTest, TasksThatKeepFailingToStartAreLaunchedMoreSlowly) {
  AddInstance(8);
  Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
      {"name": "a", "image": "busybox:missing", "cpu": 256, "memory": 256}]})");
  Call("CreateService",
       R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f:2", "desiredCount": 1})");
  auto fail_current = [&] {
    for (const std::string& arn : Tasks()) Report(arn, "STOPPED", "", "CannotPullContainerError");
  };
  Tick();
  for (int i = 0; i < 2; ++i) {  // failures 1 and 2: replaced on the next pass
    fail_current();
    Tick();
    ASSERT_EQ(Tasks().size(), 1u);
  }
  fail_current();  // the 3rd in a row: the throttle starts, 10 s
  Tick();
  EXPECT_TRUE(HasEvent("(service s) is unable to consistently start tasks successfully."));
  EXPECT_TRUE(Tasks().empty());
  Tick(8'000);  // 8 s after the pass that saw the failure
  EXPECT_TRUE(Tasks().empty());
  Tick(2'000);  // 10 s
  ASSERT_EQ(Tasks().size(), 1u);
  // A task that reaches RUNNING ends it.
  RunAll();
  Tick();
  Report(Tasks().at(0), "STOPPED", "", "CannotPullContainerError");
  Tick();
  EXPECT_EQ(Tasks().size(), 1u) << "one failure after a success is replaced at once";
}

TEST_F(EcsServiceControllerTest, TasksOnADrainingInstanceMoveFirstThenStop) {
  AddInstance(4);
  Call("CreateService",
       R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f", "desiredCount": 1})");
  Tick();
  const std::string first = Tasks().at(0);
  RunAll();
  Tick();
  AddInstance(4);
  const std::string draining(Task(first).at("containerInstanceArn").as_string());
  Call("UpdateContainerInstancesState", R"({"cluster": "c", "status": "DRAINING",
      "containerInstances": [")" + draining +
                                            "\"]}");
  Tick();
  // The replacement first (min 100: the drained one serves until then).
  std::vector<std::string> tasks = Tasks();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(Task(first).at("desiredStatus").as_string(), "RUNNING");
  for (const std::string& arn : tasks) {
    if (arn != first) {
      EXPECT_NE(Task(arn).at("containerInstanceArn").as_string(), draining);
    }
  }
  RunAll();
  Tick();
  EXPECT_EQ(Task(first).at("desiredStatus").as_string(), "STOPPED");
}

TEST_F(EcsServiceControllerTest, OldDeploymentDesiredCountComesDownStepByStep) {
  AddInstance(8);
  Call("CreateService", R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f:1",
      "desiredCount": 4, "deploymentConfiguration": {
        "maximumPercent": 100, "minimumHealthyPercent": 50}})");
  Tick();
  RunAll();
  Tick();
  Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
      {"name": "a", "image": "busybox:1", "cpu": 256, "memory": 256}]})");
  Call("UpdateService", R"({"cluster": "c", "service": "s", "taskDefinition": "f:2"})");
  // floor ceil(4 * 50%) = 2: 2 old tasks stop, 2 new start; the old
  // deployment now wants 2.
  Tick();
  EXPECT_EQ(Deployment(1).at("desiredCount").as_int64(), 2);
  EXPECT_EQ(Deployment(0).at("pendingCount").as_int64(), 2);
}

TEST_F(EcsServiceControllerTest, DaemonRunsOneTaskOnEveryInstanceAndFollowsJoinsAndDrains) {
  AddInstance(4);
  AddInstance(4);
  json::object created = Call("CreateService", R"({"cluster": "c", "serviceName": "s",
      "taskDefinition": "f", "schedulingStrategy": "DAEMON"})");
  Tick();
  ASSERT_EQ(Tasks().size(), 2u);
  EXPECT_NE(Task(Tasks()[0]).at("containerInstanceArn"),
            Task(Tasks()[1]).at("containerInstanceArn"));
  EXPECT_EQ(Service().at("desiredCount").as_int64(), 2);
  RunAll();
  Tick();
  EXPECT_TRUE(HasEvent("has reached a steady state."));

  AddInstance(4);  // joins later
  Tick();
  EXPECT_EQ(Tasks().size(), 3u);
  EXPECT_EQ(Service().at("desiredCount").as_int64(), 3);

  // DRAINING: its task stops and is not replaced elsewhere.
  const std::string drained = InstanceIds(0);
  Call("UpdateContainerInstancesState", R"({"cluster": "c", "status": "DRAINING",
      "containerInstances": [")" + drained + "\"]}");
  Tick();
  Tick();
  EXPECT_EQ(Tasks().size(), 2u);
  for (const std::string& arn : Tasks()) {
    EXPECT_NE(Task(arn).at("containerInstanceArn").as_string(), drained);
  }
  EXPECT_EQ(Service().at("desiredCount").as_int64(), 2);
}

TEST_F(EcsServiceControllerTest, DaemonHonoursMemberOfConstraints) {
  AddInstance(4);
  AddInstance(4);
  const std::string gpu = InstanceIds(1);
  Call("PutAttributes", R"({"cluster": "c", "attributes": [{"name": "kind", "value": "gpu",
      "targetId": ")" + gpu +
                            "\"}]}");
  Call("CreateService", R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f",
      "schedulingStrategy": "DAEMON", "placementConstraints": [
        {"type": "memberOf", "expression": "attribute:kind == gpu"}]})");
  Tick();
  ASSERT_EQ(Tasks().size(), 1u);
  EXPECT_EQ(Task(Tasks()[0]).at("containerInstanceArn").as_string(), gpu);
  EXPECT_EQ(Service().at("desiredCount").as_int64(), 1);
}

TEST_F(EcsServiceControllerTest, EventsNameTenTasksAndCountTheRest) {
  AddInstance(16);
  Call("CreateService",
       R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f", "desiredCount": 12})");
  Tick();
  const std::string event = Events()[0];
  EXPECT_TRUE(event.starts_with("(service s) has started 12 tasks: (task ")) << event;
  EXPECT_TRUE(event.ends_with(") and 2 more.")) << event;
  EXPECT_EQ(std::count(event.begin(), event.end(), '('), 11);  // (service s) + 10 tasks
}

}  // namespace
}  // namespace berth::server::api
