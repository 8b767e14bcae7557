// The event stream: ids, retention, resume after a reload from the store,
// and the events the ECS API emits with its changes.
#include "server/api/event_log.h"

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <set>
#include <string>
#include <vector>

#include "server/api/ecs_api_testing.h"
#include "store/store.h"

namespace berth::server::api {
namespace {

namespace json = boost::json;

constexpr int64_t kHour = 3600 * 1000;

void CommitAndWait(store::Store& store, store::Batch batch) {
  ASSERT_TRUE(store.CommitAndWait(std::move(batch)).ok());
}

std::vector<std::string> Kinds(const EventLog::Page& page) {
  std::vector<std::string> out;
  for (const Event& e : page.events) out.push_back(e.kind);
  return out;
}

TEST(EventLogTest, IdsIncreaseAndReadersResumeAfterAnId) {
  EventLog log;
  int appended = 0;
  log.set_on_append([&] { ++appended; });
  store::Batch batch;
  log.Emit(1000, "A", "c", {"arn:a"}, "first");
  log.Emit(2000, "B", "d", {}, "second");
  EXPECT_TRUE(log.After(0, "", 10).events.empty());  // not before its commit
  log.TakePending(batch);
  EXPECT_EQ(appended, 1);
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].key, "events/00000000000000000001");
  EXPECT_EQ(log.LastId(), 2u);

  EventLog::Page all = log.After(0, "", 10);
  EXPECT_EQ(Kinds(all), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(all.next_after, 2u);
  EXPECT_FALSE(all.truncated);
  EXPECT_EQ(Kinds(log.After(1, "", 10)), std::vector<std::string>{"B"});
  EXPECT_EQ(Kinds(log.After(0, "c", 10)), std::vector<std::string>{"A"});
  EXPECT_EQ(log.After(0, "", 1).next_after, 1u);
  EXPECT_TRUE(log.After(2, "", 10).events.empty());
  EXPECT_EQ(log.After(2, "", 10).next_after, 2u);
  EXPECT_EQ(log.LastIdAtOrBefore(1500), 1u);

  json::object j = all.events[0].ToJson();
  EXPECT_EQ(j.at("id").as_string(), "1");
  EXPECT_DOUBLE_EQ(j.at("time").as_double(), 1.0);
  EXPECT_EQ(j.at("resources").as_array()[0].as_string(), "arn:a");
}

TEST(EventLogTest, RetentionSweepsByAgeAndCapAndTellsReadersTheyMissedSome) {
  EventLog log;
  log.SetRetention(10 * kHour, 4);
  store::Batch batch;
  for (int i = 0; i < 5; ++i) log.Emit(i * kHour, "K", "c", {}, std::to_string(i));
  // The cap holds as events are appended: the oldest goes in the same batch.
  log.TakePending(batch);
  ASSERT_EQ(batch.size(), 7u);  // 5 puts, 1 delete, the mark
  EXPECT_EQ(batch[5].key, EventLog::Key(1));
  EXPECT_EQ(batch[5].kind, store::Mutation::Kind::kDelete);
  EXPECT_EQ(batch.back().value, "1");
  // A lower cap is applied by the sweep (all are within 10 h).
  log.SetRetention(10 * kHour, 3);
  store::Batch sweep;
  EXPECT_EQ(log.Sweep(4 * kHour + kHour / 2, sweep), 1u);
  EXPECT_EQ(sweep.back().key, EventLog::kSweptThroughKey);
  EXPECT_EQ(sweep.back().value, "2");
  EventLog::Page page = log.After(0, "", 10);
  EXPECT_TRUE(page.truncated);
  ASSERT_EQ(page.events.size(), 3u);
  EXPECT_EQ(page.events[0].id, 3u);
  EXPECT_FALSE(log.After(2, "", 10).truncated);
  // By age: at 4.5 h with 2 h kept, the event of 2 h goes.
  log.SetRetention(2 * kHour, 3);
  EXPECT_EQ(log.Sweep(4 * kHour + kHour / 2, sweep), 1u);
  EXPECT_EQ(log.After(0, "", 10).events.front().id, 4u);
  EXPECT_TRUE(log.After(2, "", 10).truncated);
  store::Batch none;
  EXPECT_EQ(log.Sweep(4 * kHour + kHour / 2, none), 0u);  // nothing more to sweep
  EXPECT_TRUE(none.empty());
}

TEST(EventLogTest, ReloadKeepsEventsAndIdsKeepIncreasingEvenWhenAllWereSwept) {
  auto store = store::NewMemoryStore();
  {
    EventLog log;
    log.SetRetention(kHour, 100);
    store::Batch batch;
    for (int i = 0; i < 3; ++i) log.Emit(i, "K", "c", {}, std::to_string(i));
    log.TakePending(batch);
    CommitAndWait(*store, std::move(batch));
  }
  {
    EventLog log;
    ASSERT_TRUE(log.Load(*store).ok());
    EXPECT_EQ(log.LastId(), 3u);
    EXPECT_EQ(log.After(1, "", 10).events.size(), 2u);  // resume: nothing lost
    store::Batch batch;
    log.Emit(10, "K", "c", {}, "after reload");
    log.TakePending(batch);
    EXPECT_EQ(log.LastId(), 4u);
    log.SetRetention(kHour, 100);
    log.Sweep(2 * kHour, batch);  // every event is old
    CommitAndWait(*store, std::move(batch));
  }
  EventLog log;
  ASSERT_TRUE(log.Load(*store).ok());
  EXPECT_EQ(log.LastId(), 4u);
  EventLog::Page page = log.After(2, "", 10);
  EXPECT_TRUE(page.truncated);
  EXPECT_TRUE(page.events.empty());
  EXPECT_EQ(page.next_after, 4u);
  store::Batch batch;
  log.Emit(3 * kHour, "K", "c", {}, "next");
  log.TakePending(batch);
  EXPECT_EQ(log.LastId(), 5u);
}

TEST(EventLogTest, AnotherWriterAppendsWithItsOwnBatch) {
  EventLog log;
  int appended = 0;
  log.set_on_append([&] { ++appended; });
  store::Batch ecs, registry;
  log.Emit(1000, "TaskPlaced", "c", {}, "queued");
  log.Append(2000, "ImagePushed", "", {"arn:repo"}, "image r:1 pushed", registry);
  log.TakePending(ecs);
  ASSERT_EQ(registry.size(), 1u);
  EXPECT_EQ(registry[0].key, EventLog::Key(1));
  EXPECT_EQ(ecs[0].key, EventLog::Key(2));
  EXPECT_EQ(appended, 2);
  EXPECT_EQ(Kinds(log.After(0, "", 10)), (std::vector<std::string>{"ImagePushed", "TaskPlaced"}));
}

class EcsEventsTest : public testing::EcsApiTest {
 protected:
  void SetUp() override { ASSERT_TRUE(api_.Load().ok()); }

  // Cluster "c" with one instance of 1024 CPU units and MiB, and task
  // definition "f" of one container with `cpu` units: the instance's ARN.
  std::string ClusterWithInstance(int cpu) {
    Call("CreateCluster", R"({"clusterName": "c"})");
    json::object reg = Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
        {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]})");
    Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
        {"name": "a", "image": "busybox", "cpu": )" +
                                       std::to_string(cpu) + R"(, "memory": 128}]})");
    return std::string(
        reg.at("containerInstance").as_object().at("containerInstanceArn").as_string());
  }
};

TEST_F(EcsEventsTest, TaskAndInstanceChangesEmitEventsWithTheirCommit) {
  std::string instance = ClusterWithInstance(1024);
  json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
  std::string arn(run.at("tasks").as_array()[0].as_object().at("taskArn").as_string());
  Call("StopTask", R"({"cluster": "c", "task": ")" + arn + R"(", "reason": "enough"})");
  Call("UpdateContainerInstancesState",
       R"({"cluster": "c", "status": "DRAINING", "containerInstances": [")" + instance + R"("]})");

  EventLog::Page page = api_.events().After(0, "c", 100);
  EXPECT_EQ(Kinds(page),
            (std::vector<std::string>{"ClusterCreated", "InstanceRegistered", "TaskPlaced",
                                      "TaskStopped", "InstanceDraining"}));
  const Event& placed = page.events[2];
  EXPECT_EQ(placed.resources[0], arn);
  EXPECT_EQ(placed.resources[1], instance);
  EXPECT_EQ(placed.time_millis, kNow);
  EXPECT_NE(page.events[3].message.find("enough"), std::string::npos) << page.events[3].message;

  // Durable with the change: a reload sees the same events.
  EcsApi reloaded(*store_, tracker_, ArnScope{});
  ASSERT_TRUE(reloaded.Load().ok());
  EventLog::Page again = reloaded.events().After(0, "c", 100);
  EXPECT_EQ(Kinds(again), Kinds(page));
  // The task definition's registration is an event of no cluster.
  EXPECT_EQ(Kinds(reloaded.events().After(0, "", 100))[2], "TaskDefinitionRegistered");
  EXPECT_EQ(reloaded.events().LastId(), api_.events().LastId());

  // Retention: the sweep is durable too.
  api_.SweepEvents(kNow + 25 * kHour);
  EXPECT_TRUE(api_.events().After(0, "", 100).events.empty());
  EcsApi swept(*store_, tracker_, ArnScope{});
  ASSERT_TRUE(swept.Load().ok());
  EXPECT_TRUE(swept.events().After(0, "", 100).events.empty());
  EXPECT_TRUE(swept.events().After(0, "", 100).truncated);
}

TEST_F(EcsEventsTest, AServiceAndItsEventsAreEvents) {
  ClusterWithInstance(256);
  Call("CreateService",
       R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f", "desiredCount": 1})");
  api_.ReconcileServices(kNow + 1000);
  EventLog::Page page = api_.events().After(0, "c", 100);
  std::vector<std::string> kinds = Kinds(page);
  ASSERT_EQ(kinds.size(), 5u);
  EXPECT_EQ(kinds[2], "ServiceCreated");
  // The service's own event and its task's, in the pass's one commit.
  EXPECT_EQ((std::set<std::string>{kinds[3], kinds[4]}),
            (std::set<std::string>{"ServiceEvent", "TaskPlaced"}));
  const Event& started = page.events[kinds[3] == "ServiceEvent" ? 3 : 4];
  EXPECT_NE(started.message.find("has started 1 tasks"), std::string::npos) << started.message;
  EXPECT_EQ(started.resources[0], "arn:aws:ecs:us-east-1:000000000000:service/c/s");
}

}  // namespace
}  // namespace berth::server::api
