// EcsApi task lifecycle over an in-memory store: placement bookkeeping,
// stop, and the cleanup of stopped tasks an hour later.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "server/api/ecs_api.h"

namespace berth::server::api {
namespace {

namespace json = boost::json;

class EcsTasksTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(api_.Load().ok()); }

  json::object Call(std::string_view op, std::string_view body, int64_t now = kNow) {
    json::object in = json::parse(body).as_object();
    return api_.Call(op, in, CallContext{"key", now}).body.as_object();
  }

  static constexpr int64_t kNow = 1'700'000'000'000;
  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  CommitTracker tracker_;
  EcsApi api_{*store_, tracker_, ArnScope{}};
};

TEST_F(EcsTasksTest, StopFreesAndCleanupRemovesAfterAnHour) {
  Call("CreateCluster", R"({"clusterName": "c"})");
  Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
      {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
      {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]})");
  Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
      {"name": "a", "image": "busybox", "cpu": 1024, "memory": 512}]})");

  json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
  ASSERT_EQ(run.at("tasks").as_array().size(), 1u);
  std::string arn(run.at("tasks").as_array()[0].as_object().at("taskArn").as_string());
  // The instance is full (1024 of 1024 CPU units).
  json::object full = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
  EXPECT_EQ(full.at("failures").as_array()[0].as_object().at("reason").as_string(), "RESOURCE:CPU");

  Call("StopTask", R"({"cluster": "c", "task": ")" + arn + R"("})");
  EXPECT_EQ(
      Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})").at("tasks").as_array().size(),
      1u);

  std::string describe = R"({"cluster": "c", "tasks": [")" + arn + R"("]})";
  api_.CleanUpStoppedTasks(kNow + 59 * 60 * 1000);  // still within the hour
  EXPECT_EQ(Call("DescribeTasks", describe).at("tasks").as_array().size(), 1u);
  api_.CleanUpStoppedTasks(kNow + 61 * 60 * 1000);
  json::object gone = Call("DescribeTasks", describe);
  EXPECT_TRUE(gone.at("tasks").as_array().empty());
  EXPECT_EQ(gone.at("failures").as_array()[0].as_object().at("reason").as_string(), "MISSING");

  // A server that loads the same store sees the running task and not the
  // removed one.
  EcsApi reloaded{*store_, tracker_, ArnScope{}};
  ASSERT_TRUE(reloaded.Load().ok());
  json::object in = json::parse(R"({"cluster": "c"})").as_object();
  json::object list = reloaded.Call("ListTasks", in, CallContext{"key", kNow}).body.as_object();
  EXPECT_EQ(list.at("taskArns").as_array().size(), 1u);
}

}  // namespace
}  // namespace berth::server::api
