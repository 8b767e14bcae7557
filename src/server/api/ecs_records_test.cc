// The typed views over ECS records: what well-formed records read as, the
// documented defaults for absent and wrong-typed members, and the setters.
#include "server/api/ecs_records.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace berth::server::api {
namespace {

namespace json = boost::json;

json::object Parse(std::string_view text) { return json::parse(text).as_object(); }

// Every member the views read, with a type none of them expects.
const json::object kWrongTyped = Parse(R"({
    "clusterName": 1, "clusterArn": [], "status": {}, "taskDefinition": "x",
    "containerInstanceArn": 2, "version": "3", "pendingTasksCount": "1",
    "runningTasksCount": null, "berthAgent": "host:1", "taskArn": false,
    "taskDefinitionArn": 4, "lastStatus": 5, "desiredStatus": [], "stopCode": 6,
    "startedBy": {}, "createdAt": "1700000000", "stoppedAt": true,
    "berthClientToken": 7, "berthRequest": 8, "containers": {"name": "a"}})");

TEST(TaskIdOfTest, LastSegmentOfAnArnOrTheIdItself) {
  EXPECT_EQ(TaskIdOf("arn:aws:ecs:us-east-1:1:task/c/abc"), "abc");
  EXPECT_EQ(TaskIdOf("abc"), "abc");
  EXPECT_EQ(TaskIdOf(""), "");
}

TEST(ClusterRecordTest, ReadsTheRecord) {
  json::object record = Parse(
      R"({"clusterName": "c", "clusterArn": "arn:aws:ecs:r:1:cluster/c", "status": "ACTIVE"})");
  ClusterRecord cluster(record);
  EXPECT_EQ(cluster.name(), "c");
  EXPECT_EQ(cluster.arn(), "arn:aws:ecs:r:1:cluster/c");
  EXPECT_TRUE(cluster.is_active());

  MutableClusterRecord(record).SetStatus(kInactive);
  EXPECT_EQ(cluster.status(), "INACTIVE");
  EXPECT_FALSE(cluster.is_active());
}

TEST(ClusterRecordTest, AbsentAndWrongTypedReadAsDefaults) {
  for (const json::object& record : {json::object(), kWrongTyped}) {
    ClusterRecord cluster(record);
    EXPECT_EQ(cluster.name(), "");
    EXPECT_EQ(cluster.arn(), "");
    EXPECT_EQ(cluster.status(), "");
    EXPECT_FALSE(cluster.is_active());
  }
}

TEST(TaskDefinitionRecordTest, ReadsTheRecord) {
  json::object record = Parse(R"({"taskDefinition": {
      "family": "f", "revision": 3, "status": "ACTIVE",
      "taskDefinitionArn": "arn:aws:ecs:r:1:task-definition/f:3"}, "tags": []})");
  TaskDefinitionRecord td(record);
  EXPECT_EQ(td.family(), "f");
  EXPECT_EQ(td.revision(), 3);
  EXPECT_EQ(td.arn(), "arn:aws:ecs:r:1:task-definition/f:3");
  EXPECT_TRUE(td.is_active());
  EXPECT_EQ(&td.definition(), &record.at("taskDefinition").as_object());  // no copy

  MutableTaskDefinitionRecord mutable_td(record);
  mutable_td.SetStatus(kInactive);
  mutable_td.SetDeregisteredAt(1700000000.5);
  EXPECT_EQ(td.status(), "INACTIVE");
  EXPECT_EQ(record.at("taskDefinition").at("deregisteredAt").as_double(), 1700000000.5);
  EXPECT_EQ(record.at("tags"), json::array());  // the rest stays
}

TEST(TaskDefinitionRecordTest, AbsentAndWrongTypedReadAsDefaults) {
  const json::object inner_wrong =
      Parse(R"({"taskDefinition": {"family": 1, "revision": "2", "status": 3,
                                   "taskDefinitionArn": null}})");
  for (const json::object& record : {json::object(), kWrongTyped, inner_wrong}) {
    TaskDefinitionRecord td(record);
    EXPECT_EQ(td.family(), "");
    EXPECT_EQ(td.revision(), 0);
    EXPECT_EQ(td.arn(), "");
    EXPECT_EQ(td.status(), "");
    EXPECT_FALSE(td.is_active());
  }
  EXPECT_TRUE(TaskDefinitionRecord(kWrongTyped).definition().empty());
}

TEST(TaskDefinitionRecordTest, SettersCreateTheDefinitionWhenMissing) {
  json::object record;
  MutableTaskDefinitionRecord(record).SetStatus(kDeleteInProgress);
  EXPECT_EQ(TaskDefinitionRecord(record).status(), "DELETE_IN_PROGRESS");
}

TEST(InstanceRecordTest, ReadsTheRecord) {
  json::object record = Parse(R"({
      "containerInstanceArn": "arn:aws:ecs:r:1:container-instance/c/i1", "status": "DRAINING",
      "version": 4, "pendingTasksCount": 1, "runningTasksCount": 2,
      "berthAgent": {"endpoint": "10.0.0.1:9000", "joinedAt": 1.0}})");
  InstanceRecord instance(record);
  EXPECT_EQ(instance.arn(), "arn:aws:ecs:r:1:container-instance/c/i1");
  EXPECT_EQ(instance.id(), "i1");
  EXPECT_EQ(instance.status(), "DRAINING");
  EXPECT_FALSE(instance.is_active());
  EXPECT_FALSE(instance.is_inactive());
  EXPECT_EQ(instance.version(), 4);
  EXPECT_EQ(instance.pending_tasks_count(), 1);
  EXPECT_EQ(instance.running_tasks_count(), 2);
  EXPECT_TRUE(instance.has_agent());
  EXPECT_TRUE(instance.served_by_agent());
  EXPECT_EQ(instance.agent_endpoint(), "10.0.0.1:9000");
}

TEST(InstanceRecordTest, AbsentAndWrongTypedReadAsDefaults) {
  for (const json::object& record : {json::object(), kWrongTyped}) {
    InstanceRecord instance(record);
    EXPECT_EQ(instance.arn(), "");
    EXPECT_EQ(instance.id(), "");
    EXPECT_EQ(instance.status(), "");
    EXPECT_FALSE(instance.is_active());
    EXPECT_FALSE(instance.is_inactive());
    EXPECT_EQ(instance.version(), 0);
    EXPECT_EQ(instance.pending_tasks_count(), std::nullopt);
    EXPECT_EQ(instance.running_tasks_count(), std::nullopt);
    EXPECT_EQ(instance.agent_endpoint(), "");
  }
  EXPECT_FALSE(InstanceRecord(json::object()).has_agent());
  // Present, though not as the server writes it: an agent joined.
  EXPECT_TRUE(InstanceRecord(kWrongTyped).has_agent());
}

TEST(InstanceRecordTest, Setters) {
  json::object record = Parse(R"({"status": "ACTIVE", "agentConnected": true})");
  MutableInstanceRecord instance(record);
  instance.BumpVersion();  // from absent
  EXPECT_EQ(instance.version(), 1);
  instance.BumpVersion();
  EXPECT_EQ(instance.version(), 2);
  instance.SetStatus(kInactive);
  instance.SetAgentConnected(false);
  EXPECT_TRUE(instance.is_inactive());
  EXPECT_EQ(record.at("agentConnected"), false);
  instance.SetAgent("h:1", 1700000000.25);
  EXPECT_TRUE(instance.has_agent());
  EXPECT_FALSE(instance.served_by_agent());  // deregistered
  EXPECT_EQ(instance.agent_endpoint(), "h:1");
  EXPECT_EQ(record.at(InstanceRecord::kAgentKey).at("joinedAt").as_double(), 1700000000.25);
}

constexpr std::string_view kTask = R"({
    "taskArn": "arn:aws:ecs:r:1:task/c/t1", "clusterArn": "arn:aws:ecs:r:1:cluster/c",
    "taskDefinitionArn": "arn:aws:ecs:r:1:task-definition/f:1",
    "containerInstanceArn": "arn:aws:ecs:r:1:container-instance/c/i1",
    "lastStatus": "RUNNING", "desiredStatus": "RUNNING", "startedBy": "me", "version": 2,
    "createdAt": 1700000000.5, "startedAt": 1700000001, "berthClientToken": "tok",
    "berthRequest": "{}",
    "containers": [{"name": "a", "lastStatus": "RUNNING"}, {"name": "b", "lastStatus": "PENDING"}]})";

TEST(TaskRecordTest, ReadsTheRecord) {
  json::object record = Parse(kTask);
  TaskRecord task(record);
  EXPECT_EQ(task.arn(), "arn:aws:ecs:r:1:task/c/t1");
  EXPECT_EQ(task.id(), "t1");
  EXPECT_EQ(task.cluster_arn(), "arn:aws:ecs:r:1:cluster/c");
  EXPECT_EQ(task.cluster_name(), "c");
  EXPECT_EQ(task.task_definition_arn(), "arn:aws:ecs:r:1:task-definition/f:1");
  EXPECT_EQ(task.instance_arn(), "arn:aws:ecs:r:1:container-instance/c/i1");
  EXPECT_EQ(task.instance_id(), "i1");
  EXPECT_TRUE(task.is_running());
  EXPECT_FALSE(task.is_stopped());
  EXPECT_FALSE(task.stop_requested());
  EXPECT_EQ(task.started_by(), "me");
  EXPECT_EQ(task.version(), 2);
  EXPECT_EQ(task.created_at_millis(), 1700000000500);
  EXPECT_EQ(task.stopped_at_millis(), std::nullopt);
  EXPECT_TRUE(task.has_started());
  EXPECT_EQ(task.client_token(), "tok");
  EXPECT_EQ(task.request_text(), "{}");
  EXPECT_EQ(task.containers().size(), 2u);
  EXPECT_TRUE(task.has_container("b"));
  EXPECT_FALSE(task.has_container("c"));
}

TEST(TaskRecordTest, AbsentAndWrongTypedReadAsDefaults) {
  for (const json::object& record : {json::object(), kWrongTyped}) {
    TaskRecord task(record);
    EXPECT_EQ(task.arn(), "");
    EXPECT_EQ(task.id(), "");
    EXPECT_EQ(task.cluster_arn(), "");
    EXPECT_EQ(task.cluster_name(), "");
    EXPECT_EQ(task.task_definition_arn(), "");
    EXPECT_EQ(task.instance_arn(), "");
    EXPECT_EQ(task.instance_id(), "");
    EXPECT_EQ(task.last_status(), "");
    EXPECT_EQ(task.desired_status(), "");
    EXPECT_FALSE(task.is_stopped());
    EXPECT_FALSE(task.is_running());
    EXPECT_FALSE(task.stop_requested());
    EXPECT_EQ(task.stop_code(), "");
    EXPECT_EQ(task.started_by(), "");
    EXPECT_EQ(task.version(), 0);
    EXPECT_EQ(task.created_at_millis(), std::nullopt);
    EXPECT_EQ(task.stopped_at_millis(), std::nullopt);
    EXPECT_FALSE(task.has_started());
    EXPECT_EQ(task.client_token(), "");
    EXPECT_EQ(task.request_text(), "");
    EXPECT_TRUE(task.containers().empty());
    EXPECT_FALSE(task.has_container("a"));
  }
  // Containers that are not objects are no containers.
  json::object odd = Parse(R"({"containers": [1, "a", {"name": 2}]})");
  EXPECT_FALSE(TaskRecord(odd).has_container("a"));
  EXPECT_EQ(MutableTaskRecord(odd).FindContainer("a"), nullptr);
  MutableTaskRecord(odd).StopContainers();  // leaves them be
  EXPECT_EQ(odd, Parse(R"({"containers": [1, "a", {"name": 2, "lastStatus": "STOPPED"}]})"));
}

TEST(TaskRecordTest, RequestStopKeepsAnEarlierStoppingAt) {
  json::object record = Parse(kTask);
  MutableTaskRecord task(record);
  task.RequestStop("Task stopped by user", 1700000100);
  EXPECT_TRUE(task.stop_requested());
  EXPECT_EQ(task.stop_code(), "UserInitiated");
  EXPECT_EQ(record.at("stoppedReason"), "Task stopped by user");
  EXPECT_EQ(record.at("stoppingAt").as_double(), 1700000100);
  EXPECT_TRUE(task.is_running());  // until an agent reports it stopped

  task.RequestStop("Container instance deregistered", 1700000200);
  EXPECT_EQ(record.at("stoppedReason"), "Container instance deregistered");
  EXPECT_EQ(record.at("stoppingAt").as_double(), 1700000100);
}

TEST(TaskRecordTest, StopNowStopsTheTaskAndItsContainers) {
  json::object record = Parse(kTask);
  MutableTaskRecord task(record);
  task.StopNow(1700000100.5);
  task.BumpVersion();
  EXPECT_TRUE(task.is_stopped());
  EXPECT_EQ(task.stopped_at_millis(), 1700000100500);
  EXPECT_EQ(record.at("executionStoppedAt").as_double(), 1700000100.5);
  EXPECT_EQ(task.version(), 3);
  for (const auto& c : task.containers()) EXPECT_EQ(c.at("lastStatus"), "STOPPED");
}

TEST(TaskRecordTest, FindContainerGivesTheRecordsOwn) {
  json::object record = Parse(kTask);
  json::object* b = MutableTaskRecord(record).FindContainer("b");
  ASSERT_NE(b, nullptr);
  (*b)["exitCode"] = 1;
  EXPECT_EQ(record.at("containers").at(1).at("exitCode"), 1);
}

}  // namespace
}  // namespace berth::server::api
