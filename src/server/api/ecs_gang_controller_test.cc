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

  // A gang of `size` in queue `queue` (berth:queue), with a priority.
  json::object QueueGang(std::string_view name, int size, std::string_view queue,
                         int priority = 0) {
    return Call("RunTask", R"({"cluster": "c", "taskDefinition": "f", "count": )" +
                               std::to_string(size) + R"(, "tags": [
        {"key": "berth:gang", "value": ")" +
                               std::string(name) + R"("},
        {"key": "berth:queue", "value": ")" +
                               std::string(queue) + R"("},
        {"key": "berth:priority", "value": ")" +
                               std::to_string(priority) + "\"}]}");
  }

  void Pass(int64_t millis = 1000) {
    now_ += millis;
    api_.ReconcileGangs(now_);
    api_.ReconcileQueue(now_);
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

  // Runs, then exits 0.
  void Finish(const std::string& arn) {
    Running(arn);
    Exited(arn, 0);
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

TEST_F(EcsGangControllerTest, QueuedGangWaitsWithoutReservingAndRunsWhenRoomFrees) {
  std::vector<std::string> first = RunGang("first", 3, "0");  // the whole cluster
  json::object queued = QueueGang("second", 3, "train");
  std::vector<std::string> second = Ranks(queued.at("tasks").as_array());
  ASSERT_EQ(second.size(), 3u);
  for (const std::string& arn : second) {
    json::object task = Task(arn);
    EXPECT_EQ(task.at("lastStatus").as_string(), "PROVISIONING");
    EXPECT_EQ(task.at("desiredStatus").as_string(), "RUNNING");
    EXPECT_FALSE(task.contains("containerInstanceArn"));
  }
  json::object gang = api_.DescribeGang("c", "second");
  EXPECT_EQ(gang.at("status").as_string(), "QUEUED");
  EXPECT_EQ(gang.at("queue").at("queue").as_string(), "train");
  EXPECT_EQ(gang.at("queue").at("position").as_int64(), 1);
  // It holds nothing: a plain task still fits nowhere only because of the
  // first gang; once that ends, the queued one gets the whole cluster.
  Pass();
  EXPECT_EQ(Task(second[0]).at("lastStatus").as_string(), "PROVISIONING");
  for (const std::string& arn : first) Finish(arn);
  Pass();
  for (const std::string& arn : second) {
    json::object task = Task(arn);  // the same ARNs, now placed
    EXPECT_EQ(task.at("lastStatus").as_string(), "PENDING");
    EXPECT_TRUE(task.contains("containerInstanceArn"));
  }
  gang = api_.DescribeGang("c", "second");
  EXPECT_EQ(gang.at("status").as_string(), "RUNNING");
  EXPECT_FALSE(gang.contains("queue"));
}

TEST_F(EcsGangControllerTest, QueueIsFirstInFirstOutAndHigherPriorityGoesFirst) {
  std::vector<std::string> running = RunGang("running", 3, "0");
  QueueGang("a", 3, "q1");
  QueueGang("b", 3, "q1");
  QueueGang("urgent", 3, "q2", 10);  // later, but of a higher priority
  EXPECT_EQ(api_.DescribeGang("c", "urgent").at("queue").at("position").as_int64(), 1);
  EXPECT_EQ(api_.DescribeGang("c", "a").at("queue").at("position").as_int64(), 2);
  EXPECT_EQ(api_.DescribeGang("c", "b").at("queue").at("position").as_int64(), 3);
  // A small plain request of priority 0 waits behind them, though it would fit
  // beside nothing here anyway.
  for (const char* next : {"urgent", "a", "b"}) {
    SCOPED_TRACE(next);
    for (const std::string& arn : running) Finish(arn);
    Pass();
    json::object gang = api_.DescribeGang("c", next);
    ASSERT_EQ(gang.at("status").as_string(), "RUNNING");
    running.clear();
    for (const auto& r : gang.at("attempts").as_array()[0].at("ranks").as_array()) {
      running.emplace_back(r.at("taskArn").as_string());
    }
  }
}

TEST_F(EcsGangControllerTest, StoppingAQueuedRankTakesItsGangOutOfTheQueue) {
  RunGang("running", 3, "0");
  std::vector<std::string> queued = Ranks(QueueGang("q", 2, "train").at("tasks").as_array());
  Call("StopTask", R"({"cluster": "c", "task": ")" + queued[1] + "\"}");
  for (const std::string& arn : queued) {
    EXPECT_EQ(Task(arn).at("lastStatus").as_string(), "STOPPED");
  }
  EXPECT_EQ(Task(queued[0]).at("stoppedReason").as_string(),
            "berth:queue: rank 1 of its gang was stopped while queued");
  json::object gang = api_.DescribeGang("c", "q");
  EXPECT_EQ(gang.at("status").as_string(), "STOPPED");
  EXPECT_FALSE(gang.contains("queue"));
  // The name is free again.
  EXPECT_EQ(QueueGang("q", 2, "train").at("tasks").as_array().size(), 2u);
}

TEST_F(EcsGangControllerTest, QueueRefusesWhatCouldNeverFitAndBadTags) {
  auto refused = [&](std::string_view body) {
    try {
      Call("RunTask", body);
    } catch (const awsjson::ApiException& e) {
      return e.error().message;
    }
    return std::string("accepted");
  };
  // 4 ranks on 3 instances: never.
  EXPECT_NE(refused(R"({"cluster": "c", "taskDefinition": "f", "count": 4, "tags": [
      {"key": "berth:gang", "value": "big"}, {"key": "berth:queue", "value": "q"}]})")
                .find("berth:queue: this request could never be placed in cluster c"),
            std::string::npos);
  EXPECT_NE(refused(R"({"cluster": "c", "taskDefinition": "f", "tags": [
      {"key": "berth:queue", "value": "q"}, {"key": "berth:priority", "value": "1001"}]})")
                .find("berth:priority: want a whole number from -1000 to 1000, got '1001'"),
            std::string::npos);
  EXPECT_NE(refused(R"({"cluster": "c", "taskDefinition": "f", "tags": [
      {"key": "berth:priority", "value": "5"}]})")
                .find("give berth:queue too"),
            std::string::npos);
  EXPECT_NE(refused(R"({"cluster": "c", "taskDefinition": "f", "tags": [
      {"key": "berth:queue", "value": "no spaces"}]})")
                .find("berth:queue: a queue name is"),
            std::string::npos);
  EXPECT_TRUE(Call("ListTasks", R"({"cluster": "c"})").at("taskArns").as_array().empty());
  EXPECT_FALSE(Stored("ecs/gangs/c/big").has_value());
}

TEST_F(EcsGangControllerTest, QueueSurvivesAReload) {
  std::vector<std::string> running = RunGang("running", 3, "0");
  std::vector<std::string> queued = Ranks(QueueGang("later", 3, "train").at("tasks").as_array());
  for (const std::string& arn : running) Finish(arn);
  EcsApi reloaded{*store_, tracker_, ArnScope{}};
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(reloaded.DescribeGang("c", "later").at("queue").at("position").as_int64(), 1);
  reloaded.ReconcileQueue(now_ + 1000);
  EXPECT_EQ(reloaded.DescribeGang("c", "later").at("status").as_string(), "RUNNING");
}

}  // namespace
}  // namespace berth::server::api
