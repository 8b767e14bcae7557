// The gang controller (EcsApi::ReconcileGangs) on a fake clock over the
// in-memory store: ranks stopped together, restarts after the backoff,
// success, a user's stop, names, bad tags, a restart waiting for room.
// Instances are registered through the API alone: a stop asked of a task
// there is final at once.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

#include "server/api/ecs_api.h"
#include "server/api/ecs_api_testing.h"

namespace berth::server::api {
namespace {

namespace json = boost::json;

class EcsGangControllerTest : public testing::EcsApiTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.Load().ok());
    Call("CreateCluster", R"({"clusterName": "c"})");
    Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
        {"name": "a", "image": "busybox", "cpu": 256, "memory": 256},
        {"name": "sidecar", "image": "busybox", "cpu": 0, "memory": 64, "essential": false}]})");
    for (int i = 0; i < 3; ++i) {
      Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
          {"name": "CPU", "type": "INTEGER", "integerValue": 256},
          {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}]})");
    }
  }

  json::object Call(std::string_view op, std::string_view body) {
    return EcsApiTest::Call(op, body, now_);
  }

  void Tick(int64_t millis = 1000) {
    now_ += millis;
    api_.ReconcileGangs(now_);
  }

  // RunTask of a gang of `size` named `name`; the ranks' ARNs by rank.
  std::vector<std::string> RunGang(std::string_view name, int size, std::string_view restarts) {
    json::object out = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f", "count": )" +
                                           std::to_string(size) + R"(, "tags": [
        {"key": "berth:gang", "value": ")" +
                                           std::string(name) + R"("},
        {"key": "berth:gang-max-restarts", "value": ")" +
                                           std::string(restarts) + "\"}]}");
    return Ranks(out.at("tasks").as_array());
  }

  static std::vector<std::string> Ranks(const json::array& tasks) {
    std::vector<std::string> arns(tasks.size());
    for (const auto& t : tasks) {
      arns[t.at("berthGang").at("rank").as_int64()] = std::string(t.at("taskArn").as_string());
    }
    return arns;
  }

  // The agent's reports: RUNNING, then the essential container exiting.
  void Running(const std::string& arn) {
    Call("SubmitTaskStateChange",
         R"({"cluster": "c", "task": ")" + arn + R"(", "status": "RUNNING"})");
  }
  void Exited(const std::string& arn, int code) {
    Call("SubmitTaskStateChange", R"({"cluster": "c", "task": ")" + arn +
                                      R"(", "status": "STOPPED", "containers": [
        {"containerName": "a", "status": "STOPPED", "exitCode": )" +
                                      std::to_string(code) + R"(},
        {"containerName": "sidecar", "status": "STOPPED", "exitCode": 143}]})");
  }

  json::object Task(const std::string& arn) {
    return Call("DescribeTasks", R"({"cluster": "c", "tasks": [")" + arn + "\"]}")
        .at("tasks")
        .as_array()
        .at(0)
        .as_object();
  }

  // The record stored under key.
  std::optional<std::string> Stored(const std::string& key) {
    std::optional<std::string> found;
    EXPECT_TRUE(store_
                    ->Scan(key,
                           [&](std::string_view k, std::string_view v) {
                             if (k == key) found = std::string(v);
                           })
                    .ok());
    return found;
  }

  // The gang's record as stored.
  json::object Gang(std::string_view name) {
    std::optional<std::string> v = Stored("ecs/gangs/c/" + std::string(name));
    EXPECT_TRUE(v.has_value());
    return v ? json::parse(*v).as_object() : json::object{};
  }

  int64_t now_ = kNow;
};

TEST_F(EcsGangControllerTest, OneRankFailingStopsTheOthersAndTheGangRestarts) {
  std::vector<std::string> ranks = RunGang("g", 2, "1");
  ASSERT_EQ(ranks.size(), 2u);
  Running(ranks[0]);
  Running(ranks[1]);
  Tick();
  EXPECT_EQ(Gang("g").at("status").as_string(), "RUNNING");

  Exited(ranks[1], 3);
  Tick();
  json::object survivor = Task(ranks[0]);
  EXPECT_EQ(survivor.at("desiredStatus").as_string(), "STOPPED");
  EXPECT_EQ(survivor.at("stoppedReason").as_string(),
            "berth gang g (attempt 0): rank 1 failed: Essential container in task exited");
  // Stopped at once here (no agent); the next pass sees all stopped and
  // waits 2 s before attempt 1.
  Tick();
  json::object gang = Gang("g");
  EXPECT_EQ(gang.at("status").as_string(), "RESTARTING");
  EXPECT_EQ(gang.at("attempts").as_array()[0].at("reason").as_string(),
            "rank 1 failed: Essential container in task exited");
  Tick(1000);
  EXPECT_EQ(Gang("g").at("attempts").as_array().size(), 1u) << "within the backoff";
  Tick(1000);
  gang = Gang("g");
  ASSERT_EQ(gang.at("status").as_string(), "RUNNING");
  ASSERT_EQ(gang.at("attempts").as_array().size(), 2u);
  EXPECT_EQ(gang.at("attempt").as_int64(), 1);
  json::array next_arns = gang.at("attempts").as_array()[1].at("taskArns").as_array();
  std::vector<std::string> next;
  for (const auto& a : next_arns) next.emplace_back(a.as_string());
  ASSERT_EQ(next.size(), 2u);
  EXPECT_NE(next[0], ranks[0]);
  json::object rank1 = Task(next[1]);
  EXPECT_EQ(rank1.at("berthGang").at("attempt").as_int64(), 1);
  EXPECT_EQ(rank1.at("berthGang").at("rank").as_int64(), 1);

  // Attempt 1 fails too: no restart left.
  Running(next[0]);
  Exited(next[0], 1);
  Tick();
  Tick();
  gang = Gang("g");
  EXPECT_EQ(gang.at("status").as_string(), "FAILED");
  EXPECT_EQ(gang.at("reason").as_string(),
            "rank 0 failed: Essential container in task exited (after 1 restarts)");
  EXPECT_EQ(Task(next[1]).at("desiredStatus").as_string(), "STOPPED");
}

TEST_F(EcsGangControllerTest, AllRanksExitingZeroSucceedsWhateverNonEssentialContainersDo) {
  std::vector<std::string> ranks = RunGang("ok", 2, "2");
  Running(ranks[0]);
  Running(ranks[1]);
  Exited(ranks[0], 0);  // rank 0 is done first; rank 1 is left alone
  Tick();
  EXPECT_EQ(Task(ranks[1]).at("desiredStatus").as_string(), "RUNNING");
  Exited(ranks[1], 0);
  Tick();
  EXPECT_EQ(Gang("ok").at("status").as_string(), "SUCCEEDED");
  // The name is free again.
  EXPECT_EQ(RunGang("ok", 2, "0").size(), 2u);
}

TEST_F(EcsGangControllerTest, UserStoppingARankStopsTheGangWithoutRestart) {
  std::vector<std::string> ranks = RunGang("u", 3, "5");
  Call("StopTask", R"({"cluster": "c", "task": ")" + ranks[2] + R"(", "reason": "enough"})");
  Tick();
  EXPECT_EQ(Task(ranks[0]).at("stoppedReason").as_string(),
            "berth gang u (attempt 0): rank 2 was stopped: enough");
  Tick();
  Tick(10'000);
  json::object gang = Gang("u");
  EXPECT_EQ(gang.at("status").as_string(), "STOPPED");
  EXPECT_EQ(gang.at("attempts").as_array().size(), 1u);
}

TEST_F(EcsGangControllerTest, LiveNameAndBadRestartTagsAreRefusedAndPlaceNothing) {
  RunGang("live", 1, "0");
  EXPECT_THROW(RunGang("live", 1, "0"), awsjson::ApiException);
  for (std::string_view bad : {"-1", "x", "1001", "2.5", ""}) {
    SCOPED_TRACE(bad);
    try {
      RunGang("bad", 1, bad);
      ADD_FAILURE() << "accepted";
    } catch (const awsjson::ApiException& e) {
      EXPECT_EQ(e.error().type, "InvalidParameterException");
      EXPECT_NE(e.error().message.find("berth:gang-max-restarts"), std::string::npos);
    }
  }
  EXPECT_FALSE(Stored("ecs/gangs/c/bad").has_value());
  json::object list = Call("ListTasks", R"({"cluster": "c"})");
  EXPECT_EQ(list.at("taskArns").as_array().size(), 1u);
}

TEST_F(EcsGangControllerTest, RestartWaitsForRoomAndSurvivesAReload) {
  std::vector<std::string> ranks = RunGang("w", 3, "1");  // all 3 instances
  Exited(ranks[0], 1);
  Tick();
  Tick();
  // Room taken meanwhile: a plain task on one instance.
  Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
  Tick(2000);
  json::object gang = Gang("w");
  EXPECT_EQ(gang.at("status").as_string(), "RESTARTING");
  EXPECT_TRUE(gang.at("reason").as_string().starts_with("waiting for capacity: ")) << gang;

  // A server restart keeps the gang, and its next attempt once room frees.
  EcsApi reloaded{*store_, tracker_, ArnScope{}};
  ASSERT_TRUE(reloaded.Load().ok());
  json::object in = json::parse(R"({"cluster": "c"})").as_object();
  json::object list = reloaded.Call("ListTasks", in, CallContext{"key", now_}).body.as_object();
  for (const auto& arn : list.at("taskArns").as_array()) {
    json::object stop = json::parse(R"({"cluster": "c"})").as_object();
    stop["task"] = arn;
    reloaded.Call("StopTask", stop, CallContext{"key", now_});
  }
  reloaded.ReconcileGangs(now_ + 1000);
  std::optional<std::string> stored = Stored("ecs/gangs/c/w");
  ASSERT_TRUE(stored);
  json::object after = json::parse(*stored).as_object();
  EXPECT_EQ(after.at("status").as_string(), "RUNNING");
  EXPECT_EQ(after.at("attempt").as_int64(), 1);
}

}  // namespace
}  // namespace berth::server::api
