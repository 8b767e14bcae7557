// EcsApi with a node agent joined: assignments and their versions, state
// reports, StopTask through the agent, and liveness in views and placement.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "server/api/agent_credentials.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_api_testing.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {

namespace {

namespace json = boost::json;

class EcsAgentsTest : public testing::EcsApiTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.Load().ok());
    api_.agents().set_started_millis(kNow);
    api_.agents().set_heartbeat_timeout_millis(30'000);
    Call("CreateCluster", R"({"clusterName": "c"})");
    Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
        {"name": "a", "image": "busybox", "cpu": 1024, "memory": 512}]})");
    Call("RegisterTaskDefinition", R"({"family": "tiny", "containerDefinitions": [
        {"name": "a", "image": "busybox", "cpu": 1, "memory": 6}]})");
    instance_ = Register();
    api_.JoinAgent("c", instance_, "127.0.0.1:9", kNow);
    agent_key_ = AgentKeyId(ContainerInstanceId(instance_));
  }

  // RunTask of a task too small to fill an instance: "placed", or the
  // reason of the failure.
  std::string PlaceTiny(int64_t now) {
    json::object reply = Call("RunTask", R"({"cluster": "c", "taskDefinition": "tiny"})", now);
    const json::array& failures = reply.at("failures").as_array();
    return failures.empty() ? "placed" : std::string(failures[0].at("reason").as_string());
  }

  std::string Register() {
    json::object r = Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
        {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]})");
    return std::string(r.at("containerInstance").at("containerInstanceArn").as_string());
  }

  // RunTask of a task of half an instance's CPU: two fit.
  std::string RunHalf() {
    Call("RegisterTaskDefinition", R"({"family": "half", "containerDefinitions": [
        {"name": "a", "image": "busybox", "cpu": 512, "memory": 256}]})");
    json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "half"})");
    return std::string(run.at("tasks").as_array()[0].at("taskArn").as_string());
  }

  std::string RunOne() {
    json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
    EXPECT_EQ(run.at("tasks").as_array().size(), 1u) << json::serialize(run);
    return std::string(run.at("tasks").as_array()[0].at("taskArn").as_string());
  }

  json::object Describe(const std::string& arn) {
    return Call("DescribeTasks", R"({"cluster": "c", "tasks": [")" + arn + R"("]})")
        .at("tasks")
        .as_array()[0]
        .as_object();
  }

  json::object Instance(int64_t now = kNow) {
    return Call("DescribeContainerInstances",
                R"({"cluster": "c", "containerInstances": [")" + instance_ + R"("]})", now)
        .at("containerInstances")
        .as_array()[0]
        .as_object();
  }

  std::string Id() const { return ContainerInstanceId(instance_); }

  // A SubmitTaskStateChange from the instance's agent; members: what
  // follows "cluster" and "task" in its body.
  void Report(const std::string& arn, std::string_view members, int64_t now) {
    Call("SubmitTaskStateChange",
         R"({"cluster": "c", "task": ")" + arn + R"(", )" + std::string(members) + "}", now,
         agent_key_);
  }
  std::string AssignmentsVersion() {
    return std::string(api_.AgentAssignments(Id())->at("version").as_string());
  }

  std::string instance_;
  std::string agent_key_;
};

TEST_F(EcsAgentsTest, JoinIsDurableAndHiddenFromClients) {
  EXPECT_TRUE(api_.AgentMayAuthenticate(Id()));
  json::object view = Instance();
  EXPECT_FALSE(view.contains("berthAgent"));
  EXPECT_TRUE(view.at("agentConnected").as_bool());
  EXPECT_THROW(api_.JoinAgent("c", "nope", "h:1", kNow), ApiException);
  EXPECT_THROW(api_.JoinAgent("missing", instance_, "h:1", kNow), ApiException);

  EcsApi reloaded{*store_, tracker_, ArnScope{}};
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_TRUE(reloaded.AgentMayAuthenticate(Id()));

  Call("DeregisterContainerInstance",
       R"({"cluster": "c", "containerInstance": ")" + instance_ + R"("})");
  EXPECT_FALSE(api_.AgentMayAuthenticate(Id()));
  EXPECT_FALSE(api_.AgentAssignments(Id()).has_value());
}

TEST_F(EcsAgentsTest, AssignmentsListTasksWithTheirDefinitionAndMoveTheVersion) {
  json::object empty = *api_.AgentAssignments(Id());
  EXPECT_TRUE(empty.at("tasks").as_array().empty());
  std::string v0(empty.at("version").as_string());

  std::string arn = RunOne();
  json::object one = *api_.AgentAssignments(Id());
  EXPECT_NE(one.at("version").as_string(), v0);
  ASSERT_EQ(one.at("tasks").as_array().size(), 1u);
  const json::object& task = one.at("tasks").as_array()[0].as_object();
  EXPECT_EQ(task.at("taskArn").as_string(), arn);
  EXPECT_EQ(task.at("taskDefinition").at("family").as_string(), "f");
  EXPECT_TRUE(task.contains("overrides"));
  EXPECT_FALSE(task.contains("berthReservation"));
  // Reading does not move it.
  EXPECT_EQ(api_.AgentAssignments(Id())->at("version"), one.at("version"));
}

// What a validated request keeps of a newer SDK's members
// (model/unknown_members.h) is the client's: the agent never sees it.
TEST_F(EcsAgentsTest, AssignmentsCarryNoMemberTheModelDoesNotDefine) {
  Call("RegisterTaskDefinition", R"({"family": "newer", "@unknownMembers": {"future": 1},
      "containerDefinitions": [{"name": "a", "image": "busybox", "cpu": 1, "memory": 6,
                                "@unknownMembers": {"restartEverything": true}}]})");
  json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "newer",
      "@unknownMembers": {"volumeConfigurations": []}})");
  ASSERT_EQ(run.at("tasks").as_array().size(), 1u);
  EXPECT_TRUE(run.at("tasks").at(0).as_object().contains("@unknownMembers"))
      << "kept on the task for DescribeTasks";
  const std::string sent = json::serialize(*api_.AgentAssignments(Id()));
  EXPECT_EQ(sent.find("@unknownMembers"), std::string::npos) << sent;
  EXPECT_EQ(sent.find("restartEverything"), std::string::npos) << sent;
}

TEST_F(EcsAgentsTest, AnAgentsOwnReportDoesNotMoveTheVersionAnotherCallersDoes) {
  std::string mine = RunHalf(), theirs = RunHalf();
  std::string version = AssignmentsVersion();
  // What the agent reported it knows: its poll is not answered for it.
  Report(mine, R"("status": "RUNNING")", kNow + 1000);
  EXPECT_EQ(Describe(mine).at("lastStatus").as_string(), "RUNNING");
  EXPECT_EQ(AssignmentsVersion(), version);
  // A report by another caller (a user key) is news to the agent.
  Call("SubmitTaskStateChange",
       R"({"cluster": "c", "task": ")" + theirs + R"(", "status": "STOPPED",
       "reason": "stopped by an operator"})",
       kNow + 2000);
  EXPECT_NE(AssignmentsVersion(), version);
}

TEST_F(EcsAgentsTest, AssignmentsGivenWhatTheAgentHoldsNameUnchangedTasksByArn) {
  std::string first = RunHalf();
  EcsApi::AgentTaskMarks held;
  json::object all = *api_.AgentAssignments(Id(), nullptr, &held);
  ASSERT_EQ(all.at("tasks").as_array().size(), 1u);
  EXPECT_FALSE(all.contains("unchangedTaskArns"));  // no marks given: the old shape
  EXPECT_EQ(held.size(), 1u);

  // A new task comes in full, the one the agent has by its ARN alone.
  std::string second = RunHalf();
  EcsApi::AgentTaskMarks after_second;
  json::object delta = *api_.AgentAssignments(Id(), &held, &after_second);
  ASSERT_EQ(delta.at("tasks").as_array().size(), 1u);
  EXPECT_EQ(delta.at("tasks").as_array()[0].at("taskArn").as_string(), second);
  EXPECT_TRUE(delta.at("tasks").as_array()[0].as_object().contains("taskDefinition"));
  EXPECT_EQ(delta.at("unchangedTaskArns"), json::array{json::string(first)});

  // The agent's own RUNNING report changes what DescribeTasks shows, and
  // the task comes again in full; a StopTask (desired STOPPED) too.
  Report(first, R"("status": "RUNNING")", kNow + 1000);
  Call("StopTask", R"({"cluster": "c", "task": ")" + second + R"("})");
  json::object changed = *api_.AgentAssignments(Id(), &after_second, nullptr);
  ASSERT_EQ(changed.at("tasks").as_array().size(), 2u);
  EXPECT_TRUE(changed.at("unchangedTaskArns").as_array().empty());
  for (const auto& task : changed.at("tasks").as_array()) {
    if (task.at("taskArn").as_string() == second) {
      EXPECT_EQ(task.at("desiredStatus").as_string(), "STOPPED");
    } else {
      EXPECT_EQ(task.at("lastStatus").as_string(), "RUNNING");
    }
  }
}

TEST_F(EcsAgentsTest, ReportsMoveTheTaskForwardAndFreeItsResources) {
  std::string arn = RunOne();
  std::string task_body = R"({"cluster": "c", "task": ")" + arn + R"(", )";
  Call("SubmitTaskStateChange", task_body + R"("status": "RUNNING"})", kNow + 1000, agent_key_);
  json::object running = Describe(arn);
  EXPECT_EQ(running.at("lastStatus").as_string(), "RUNNING");
  EXPECT_EQ(Instance().at("runningTasksCount").as_int64(), 1);

  std::string version(api_.AgentAssignments(Id())->at("version").as_string());
  // A regression and a repeat change nothing, not even the version.
  Call("SubmitTaskStateChange", task_body + R"("status": "PENDING"})", kNow + 2000, agent_key_);
  Call("SubmitTaskStateChange", task_body + R"("status": "RUNNING"})", kNow + 2000, agent_key_);
  EXPECT_EQ(Describe(arn), running);
  EXPECT_EQ(api_.AgentAssignments(Id())->at("version").as_string(), version);

  Call("SubmitTaskStateChange", task_body + R"("status": "STOPPED", "reason": "done",
           "containers": [{"containerName": "a", "status": "STOPPED", "exitCode": 2}]})",
       kNow + 3000, agent_key_);
  json::object stopped = Describe(arn);
  EXPECT_EQ(stopped.at("lastStatus").as_string(), "STOPPED");
  EXPECT_EQ(stopped.at("stopCode").as_string(), "EssentialContainerExited");
  EXPECT_EQ(stopped.at("containers").as_array()[0].at("exitCode").as_int64(), 2);
  EXPECT_TRUE(api_.AgentAssignments(Id())->at("tasks").as_array().empty());
  // The CPU came back: another task fits.
  RunOne();
}

TEST_F(EcsAgentsTest, ReportedHealthIsShownByDescribeTasksAndMayGoBothWays) {
  std::string arn = RunOne();
  std::string task_body = R"({"cluster": "c", "task": ")" + arn + R"(", "status": "RUNNING", )";
  auto report = [&](std::string_view task_health, std::string_view container_health, int64_t at) {
    Call("SubmitTaskStateChange",
         task_body + R"("healthStatus": ")" + std::string(task_health) +
             R"(", "containers": [{"containerName": "a", "status": "RUNNING",
             "healthStatus": ")" +
             std::string(container_health) + R"("}]})",
         at, agent_key_);
  };
  report("UNKNOWN", "UNKNOWN", kNow + 1000);
  EXPECT_EQ(Describe(arn).at("healthStatus").as_string(), "UNKNOWN");
  report("HEALTHY", "HEALTHY", kNow + 2000);
  json::object healthy = Describe(arn);
  EXPECT_EQ(healthy.at("healthStatus").as_string(), "HEALTHY");
  EXPECT_EQ(healthy.at("containers").as_array()[0].at("healthStatus").as_string(), "HEALTHY");
  report("UNHEALTHY", "UNHEALTHY", kNow + 3000);
  json::object unhealthy = Describe(arn);
  EXPECT_EQ(unhealthy.at("healthStatus").as_string(), "UNHEALTHY");
  EXPECT_EQ(unhealthy.at("containers").as_array()[0].at("healthStatus").as_string(), "UNHEALTHY");
  EXPECT_EQ(unhealthy.at("lastStatus").as_string(), "RUNNING");

  EXPECT_THROW(report("SICK", "HEALTHY", kNow + 4000), ApiException);
  EXPECT_THROW(report("HEALTHY", "SICK", kNow + 4000), ApiException);
  EXPECT_EQ(Describe(arn), unhealthy);
}

TEST_F(EcsAgentsTest, ReportedRestartCountIsShownByDescribeTasks) {
  std::string arn = RunOne();
  std::string body = R"({"cluster": "c", "task": ")" + arn + R"(", )";
  Call("SubmitTaskStateChange", body + R"("status": "RUNNING", "containers": [
           {"containerName": "a", "status": "RUNNING", "restartCount": 2}]})",
       kNow + 1000, agent_key_);
  EXPECT_EQ(Describe(arn).at("containers").as_array()[0].at("restartCount").as_int64(), 2);
  Call("SubmitContainerStateChange",
       body + R"("containerName": "a", "status": "RUNNING", "restartCount": 3})", kNow + 2000,
       agent_key_);
  EXPECT_EQ(Describe(arn).at("containers").as_array()[0].at("restartCount").as_int64(), 3);
}

TEST_F(EcsAgentsTest, AnAgentReportsOnlyItsOwnTasks) {
  std::string other = Register();
  api_.JoinAgent("c", other, "127.0.0.1:10", kNow);
  std::string arn = RunOne();
  std::string on(Describe(arn).at("containerInstanceArn").as_string());
  std::string stranger = AgentKeyId(ContainerInstanceId(on == instance_ ? other : instance_));
  std::string body = R"({"cluster": "c", "task": ")" + arn + R"(", "status": "RUNNING"})";
  try {
    Call("SubmitTaskStateChange", body, kNow, stranger);
    FAIL() << "another instance's agent changed the task";
  } catch (const ApiException& e) {
    EXPECT_EQ(e.error().type, "AccessDeniedException");
  }
  EXPECT_THROW(Call("SubmitTaskStateChange", R"({"cluster": "c", "task": "nope"})"), ApiException);
  EXPECT_THROW(Call("SubmitContainerStateChange",
                    R"({"cluster": "c", "task": ")" + arn + R"(", "containerName": "zz"})"),
               ApiException);
  EXPECT_EQ(Describe(arn).at("lastStatus").as_string(), "PENDING");
}

TEST_F(EcsAgentsTest, StopTaskWaitsForTheAgent) {
  std::string arn = RunOne();
  Call("SubmitTaskStateChange",
       R"({"cluster": "c", "task": ")" + arn + R"(", "status": "RUNNING"})", kNow, agent_key_);
  std::string version(api_.AgentAssignments(Id())->at("version").as_string());
  json::object stop = Call("StopTask", R"({"cluster": "c", "task": ")" + arn + R"("})");
  EXPECT_EQ(stop.at("task").at("desiredStatus").as_string(), "STOPPED");
  EXPECT_EQ(stop.at("task").at("lastStatus").as_string(), "RUNNING");
  json::object assigned = *api_.AgentAssignments(Id());
  EXPECT_NE(assigned.at("version").as_string(), version);
  EXPECT_EQ(assigned.at("tasks").as_array()[0].at("desiredStatus").as_string(), "STOPPED");

  Call("SubmitTaskStateChange",
       R"({"cluster": "c", "task": ")" + arn + R"(", "status": "STOPPED"})", kNow + 5000,
       agent_key_);
  json::object stopped = Describe(arn);
  EXPECT_EQ(stopped.at("lastStatus").as_string(), "STOPPED");
  EXPECT_EQ(stopped.at("stopCode").as_string(), "UserInitiated");
}

TEST_F(EcsAgentsTest, SilentAgentIsDisconnectedAndTakesNoTasks) {
  api_.agents().set_heartbeat_timeout_millis(2000);
  int64_t later = kNow + 10'000;
  EXPECT_FALSE(Call("DescribeContainerInstances",
                    R"({"cluster": "c", "containerInstances": [")" + instance_ + R"("]})", later)
                   .at("containerInstances")
                   .as_array()[0]
                   .at("agentConnected")
                   .as_bool());
  json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})", later);
  ASSERT_EQ(run.at("failures").as_array().size(), 1u);
  EXPECT_EQ(run.at("failures").as_array()[0].at("reason").as_string(), "AGENT");

  // An instance no agent ever joined counts as connected.
  std::string modelled = Register();
  json::object view =
      Call("DescribeContainerInstances",
           R"({"cluster": "c", "containerInstances": [")" + modelled + R"("]})", later)
          .at("containerInstances")
          .as_array()[0]
          .as_object();
  EXPECT_TRUE(view.at("agentConnected").as_bool());

  // Polling again reconnects.
  api_.agents().PollStarted(Id(), later);
  api_.agents().PollEnded(Id(), later);
  EXPECT_TRUE(Call("DescribeContainerInstances",
                   R"({"cluster": "c", "containerInstances": [")" + instance_ + R"("]})", later)
                  .at("containerInstances")
                  .as_array()[0]
                  .at("agentConnected")
                  .as_bool());
}

// Lost instances: an agent silent for longer than lost-after has its tasks
// stopped; a second check finds nothing more to do.
TEST_F(EcsAgentsTest, ATaskOfALostInstanceStopsAndGivesBackWhatItHeld) {
  api_.agents().set_lost_after_millis(60'000);
  std::string arn = RunOne();
  Report(arn, R"("status": "RUNNING")", kNow);
  api_.agents().PollStarted(Id(), kNow + 1000);
  api_.agents().PollEnded(Id(), kNow + 1000);
  EXPECT_EQ(Instance().at("remainingResources").as_array()[0].at("integerValue").as_int64(), 0);

  // Silent for lost-after less a second, and for exactly lost-after: nothing.
  EXPECT_TRUE(api_.StopTasksOfLostInstances(kNow + 60'000).empty());
  EXPECT_TRUE(api_.StopTasksOfLostInstances(kNow + 61'000).empty());
  EXPECT_EQ(Describe(arn).at("lastStatus").as_string(), "RUNNING");

  const int64_t lost_at = kNow + 61'001;
  std::vector<EcsApi::LostInstance> lost = api_.StopTasksOfLostInstances(lost_at);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].cluster, "c");
  EXPECT_EQ(lost[0].instance_id, Id());
  EXPECT_EQ(lost[0].silent_millis, 60'001);
  EXPECT_EQ(lost[0].task_ids, std::vector<std::string>{TaskIdOf(arn)});

  json::object task = Describe(arn);
  EXPECT_EQ(task.at("lastStatus").as_string(), "STOPPED");
  EXPECT_EQ(task.at("desiredStatus").as_string(), "STOPPED");
  EXPECT_EQ(task.at("stopCode").as_string(), "TerminationNotice");
  EXPECT_EQ(task.at("stoppedReason").as_string(),
            "Container instance " + Id() +
                " was lost: its agent has been silent for 61 s, longer than "
                "--agent-lost-after 60 s");
  EXPECT_EQ(task.at("stoppedAt").to_number<double>(), lost_at / 1000.0);
  EXPECT_EQ(task.at("connectivity").as_string(), "DISCONNECTED");
  EXPECT_EQ(task.at("containers").as_array()[0].at("lastStatus").as_string(), "STOPPED");

  // The instance stays registered, disconnected, with its resources back.
  json::object instance = Instance(lost_at);
  EXPECT_EQ(instance.at("status").as_string(), "ACTIVE");
  EXPECT_FALSE(instance.at("agentConnected").as_bool());
  EXPECT_EQ(instance.at("remainingResources").as_array()[0].at("integerValue").as_int64(), 1024);
  EXPECT_EQ(instance.at("runningTasksCount").as_int64(), 0);
  json::object cluster =
      Call("DescribeClusters", R"({"clusters": ["c"]})").at("clusters").as_array()[0].as_object();
  EXPECT_EQ(cluster.at("runningTasksCount").as_int64(), 0);
  EXPECT_TRUE(api_.AgentAssignments(Id())->at("tasks").as_array().empty());
  EXPECT_TRUE(api_.CheckPlacers(lost_at).ok()) << api_.CheckPlacers(lost_at).ToString();

  // A second check changes nothing.
  EXPECT_TRUE(api_.StopTasksOfLostInstances(lost_at + 120'000).empty());
  EXPECT_EQ(Describe(arn), task);

  // Durable: a restarted server has it STOPPED too.
  EcsApi reloaded{*store_, tracker_, ArnScope{}};
  ASSERT_TRUE(reloaded.Load().ok());
  json::object in{{"cluster", "c"}, {"tasks", json::array{json::string(arn)}}};
  EXPECT_EQ(reloaded.Call("DescribeTasks", in, CallContext{"user", lost_at})
                .body.at("tasks")
                .at(0)
                .at("lastStatus")
                .as_string(),
            "STOPPED");
}

TEST_F(EcsAgentsTest, ALateReportNeverBringsALostTaskBack) {
  api_.agents().set_lost_after_millis(60'000);
  std::string arn = RunOne();
  Report(arn, R"("status": "RUNNING")", kNow);
  ASSERT_EQ(api_.StopTasksOfLostInstances(kNow + 120'000).size(), 1u);
  json::object lost = Describe(arn);
  std::string version = AssignmentsVersion();

  // The agent comes back and reports what it saw before it went away.
  const int64_t back = kNow + 130'000;
  api_.agents().PollStarted(Id(), back);
  Report(arn, R"("status": "RUNNING", "containers": [{"containerName": "a", "status": "RUNNING"}])",
         back);
  Call("SubmitContainerStateChange",
       R"({"cluster": "c", "task": ")" + arn + R"(", "containerName": "a", "status": "RUNNING"})",
       back, agent_key_);
  EXPECT_EQ(Describe(arn), lost);
  EXPECT_EQ(AssignmentsVersion(), version);

  // It stops the container the server no longer lists: the report of that
  // adds the exit code and leaves the stop as it was.
  Report(arn, R"("status": "STOPPED", "reason": "gone",
      "containers": [{"containerName": "a", "status": "STOPPED", "exitCode": 143}])",
         back + 1000);
  json::object stopped = Describe(arn);
  EXPECT_EQ(stopped.at("lastStatus").as_string(), "STOPPED");
  EXPECT_EQ(stopped.at("stopCode").as_string(), "TerminationNotice");
  EXPECT_EQ(stopped.at("stoppedReason"), lost.at("stoppedReason"));
  EXPECT_EQ(stopped.at("stoppedAt"), lost.at("stoppedAt"));
  EXPECT_EQ(stopped.at("containers").as_array()[0].at("exitCode").as_int64(), 143);
  EXPECT_TRUE(api_.AgentAssignments(Id())->at("tasks").as_array().empty());
  // The instance takes tasks again.
  std::string next = RunOne();
  EXPECT_EQ(api_.AgentAssignments(Id())->at("tasks").as_array()[0].at("taskArn").as_string(), next);
}

TEST_F(EcsAgentsTest, ALostInstanceGivesBackItsDevices) {
  api_.agents().set_lost_after_millis(60'000);
  std::string neuron =
      std::string(Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
          {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
          {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}],
          "platformDevices": [{"id": "0", "type": "NEURON_DEVICE"}]})")
                      .at("containerInstance")
                      .at("containerInstanceArn")
                      .as_string());
  api_.JoinAgent("c", neuron, "127.0.0.1:11", kNow);
  Call("RegisterTaskDefinition", R"({"family": "n", "containerDefinitions": [
      {"name": "a", "image": "busybox", "cpu": 1, "memory": 6,
       "resourceRequirements": [{"type": "NeuronDevice", "value": "1"}]}]})");
  std::string start =
      R"({"cluster": "c", "taskDefinition": "n", "containerInstances": [")" + neuron + R"("]})";
  json::object first = Call("StartTask", start);
  ASSERT_EQ(first.at("tasks").as_array().size(), 1u) << json::serialize(first);
  EXPECT_EQ(Call("StartTask", start).at("failures").as_array().size(), 1u);  // the device is taken

  ASSERT_EQ(api_.StopTasksOfLostInstances(kNow + 60'001).size(), 1u);
  api_.agents().PollStarted(ContainerInstanceId(neuron), kNow + 70'000);
  json::object again = Call("StartTask", start, kNow + 70'000);
  ASSERT_EQ(again.at("tasks").as_array().size(), 1u) << json::serialize(again);
  EXPECT_EQ(again.at("tasks").at(0).at("containers").at(0).at("neuronDeviceIds"),
            json::parse(R"(["0"])"));
}

TEST_F(EcsAgentsTest, ALostInstanceKeepsAStopAskedForBefore) {
  api_.agents().set_lost_after_millis(60'000);
  std::string arn = RunOne();
  Call("StopTask", R"({"cluster": "c", "task": ")" + arn + R"(", "reason": "enough"})");
  EXPECT_EQ(Describe(arn).at("lastStatus").as_string(), "PENDING");  // the agent stops it
  ASSERT_EQ(api_.StopTasksOfLostInstances(kNow + 60'001).size(), 1u);
  json::object task = Describe(arn);
  EXPECT_EQ(task.at("lastStatus").as_string(), "STOPPED");
  EXPECT_EQ(task.at("stopCode").as_string(), "UserInitiated");
  EXPECT_EQ(task.at("stoppedReason").as_string(), "enough");
}

TEST_F(EcsAgentsTest, DrainingLeavesTasksRunningAndDeregisteringEndsThemWhenLost) {
  api_.agents().set_lost_after_millis(60'000);
  std::string arn = RunOne();
  Report(arn, R"("status": "RUNNING")", kNow);
  // DRAINING moves service tasks only (there are no services yet): a
  // standalone task keeps running.
  Call("UpdateContainerInstancesState",
       R"({"cluster": "c", "status": "DRAINING", "containerInstances": [")" + instance_ + R"("]})");
  json::object draining = Describe(arn);
  EXPECT_EQ(draining.at("lastStatus").as_string(), "RUNNING");
  EXPECT_EQ(draining.at("desiredStatus").as_string(), "RUNNING");

  // Deregistered with force, the task is to stop; its agent's key no longer
  // resolves, so no report can finish it: once the agent is lost, the check
  // does.
  Call("DeregisterContainerInstance",
       R"({"cluster": "c", "force": true, "containerInstance": ")" + instance_ + R"("})");
  EXPECT_EQ(Describe(arn).at("lastStatus").as_string(), "RUNNING");
  EXPECT_TRUE(api_.StopTasksOfLostInstances(kNow + 60'000).empty());
  ASSERT_EQ(api_.StopTasksOfLostInstances(kNow + 60'001).size(), 1u);
  json::object task = Describe(arn);
  EXPECT_EQ(task.at("lastStatus").as_string(), "STOPPED");
  EXPECT_EQ(task.at("stoppedReason").as_string(), "Container instance deregistered");
  json::object cluster =
      Call("DescribeClusters", R"({"clusters": ["c"]})").at("clusters").as_array()[0].as_object();
  EXPECT_EQ(cluster.at("runningTasksCount").as_int64(), 0);
}

TEST_F(EcsAgentsTest, InstancesWithoutAnAgentAreNeverLostAndZeroTurnsTheCheckOff) {
  std::string modelled = Register();  // no agent joins it
  std::string start = R"({"cluster": "c", "taskDefinition": "tiny", "containerInstances": [")" +
                      modelled + R"("]})";
  std::string arn(Call("StartTask", start).at("tasks").at(0).at("taskArn").as_string());
  std::string on_agent = RunOne();
  api_.agents().set_lost_after_millis(0);
  EXPECT_TRUE(api_.StopTasksOfLostInstances(kNow + 86'400'000).empty());
  api_.agents().set_lost_after_millis(60'000);
  EXPECT_EQ(api_.StopTasksOfLostInstances(kNow + 86'400'000).size(), 1u);
  EXPECT_EQ(Describe(arn).at("lastStatus").as_string(), "PENDING");
  EXPECT_EQ(Describe(on_agent).at("lastStatus").as_string(), "STOPPED");
}

TEST_F(EcsAgentsTest, PlacementFollowsAnAgentGoingSilentAndComingBack) {
  // The cluster's Placer keeps agentConnected between plans; each flip must
  // still reach it.
  api_.agents().set_heartbeat_timeout_millis(2000);
  api_.agents().PollStarted(Id(), kNow + 1000);
  api_.agents().PollEnded(Id(), kNow + 1000);
  EXPECT_EQ(PlaceTiny(kNow + 1000), "placed");   // builds the Placer
  EXPECT_EQ(PlaceTiny(kNow + 3000), "placed");   // last heard at +1000: connected to +3000
  EXPECT_EQ(PlaceTiny(kNow + 3001), "AGENT");    // silent since: no plan places on it
  api_.agents().PollStarted(Id(), kNow + 3002);  // comes back, holds a poll
  EXPECT_EQ(PlaceTiny(kNow + 3002), "placed");
  EXPECT_EQ(PlaceTiny(kNow + 60'000), "placed");  // connected while the poll is held
  api_.agents().PollEnded(Id(), kNow + 60'000);
  EXPECT_EQ(PlaceTiny(kNow + 62'000), "placed");
  EXPECT_EQ(PlaceTiny(kNow + 62'001), "AGENT");
}

TEST_F(EcsAgentsTest, AnAgentJoiningAfterThePlacerIsBuiltIsWatchedToo) {
  api_.agents().set_heartbeat_timeout_millis(2000);
  EXPECT_EQ(PlaceTiny(kNow + 5000), "AGENT");  // the first agent is silent; no agent is watched
  // A second instance, joined within the grace instances get after a start,
  // so that its join is no reconnection: only its own deadline can make the
  // Placer look at the agents again.
  api_.agents().set_started_millis(kNow + 4000);
  std::string second = Register();
  EXPECT_EQ(PlaceTiny(kNow + 5000), "placed");  // no agent on it yet: the API models it
  api_.JoinAgent("c", second, "127.0.0.1:9", kNow + 5000);
  EXPECT_EQ(PlaceTiny(kNow + 7000), "placed");
  EXPECT_EQ(PlaceTiny(kNow + 7001), "AGENT");  // its agent never polled after the join
}

TEST_F(EcsAgentsTest, ConnectedToMustNameRegisteredDevices) {
  EXPECT_THROW(Call("RegisterContainerInstance", R"({"cluster": "c", "platformDevices": [
      {"id": "0", "type": "NEURON_DEVICE", "connectedTo": ["5"]}]})"),
               ApiException);
  EXPECT_THROW(Call("RegisterContainerInstance", R"({"cluster": "c", "platformDevices": [
      {"id": "0", "type": "NEURON_DEVICE", "connectedTo": ["0"]}]})"),
               ApiException);
  json::object ok = Call("RegisterContainerInstance", R"({"cluster": "c", "platformDevices": [
      {"id": "0", "type": "NEURON_DEVICE", "connectedTo": ["1"]},
      {"id": "1", "type": "NEURON_DEVICE", "connectedTo": ["0"]}]})");
  EXPECT_EQ(ok.at("containerInstance").at("platformDevices").as_array()[0].at("connectedTo"),
            json::parse(R"(["1"])"));
}

// The event stream follows a task through its agent: placed, pulling,
// pulled, running, asked to stop, stopped; and the instance joined and lost.
TEST_F(EcsAgentsTest, AnAgentsTaskIsFollowedByTheEventStream) {
  api_.agents().set_lost_after_millis(60'000);
  std::string arn = RunOne();
  Report(arn, R"("pullStartedAt": 1700000000.5)", kNow + 1500);
  Report(arn, R"("pullStartedAt": 1700000000.5, "pullStoppedAt": 1700000001)", kNow + 1600);
  Report(arn, R"("status": "RUNNING")", kNow + 2000);
  Call("StopTask", R"({"cluster": "c", "task": ")" + arn + R"(", "reason": "bye"})", kNow + 3000);
  Report(arn, R"("status": "STOPPED", "reason": "exited")", kNow + 4000);
  std::string second = RunOne();
  ASSERT_EQ(api_.StopTasksOfLostInstances(kNow + 120'000).size(), 1u);

  std::vector<std::string> kinds;
  std::vector<int64_t> times;
  for (const Event& e : api_.events().After(0, "c", 100).events) {
    kinds.push_back(e.kind);
    times.push_back(e.time_millis);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{
                       "ClusterCreated", "InstanceRegistered", "InstanceJoined", "TaskPlaced",
                       "TaskPulling", "TaskPulled", "TaskRunning", "TaskStopRequested",
                       "TaskStopped", "TaskPlaced", "TaskStopped", "InstanceLost"}));
  EXPECT_EQ(times[4], kNow + 500);   // pullStartedAt
  EXPECT_EQ(times[5], kNow + 1000);  // pullStoppedAt
  EXPECT_EQ(times[6], kNow + 2000);
  EXPECT_EQ(times[7], kNow + 3000);
  EXPECT_EQ(times.back(), kNow + 120'000);
  EXPECT_NE(api_.events().After(0, "c", 100).events[7].message.find("bye"), std::string::npos);
}

}  // namespace
}  // namespace berth::server::api
