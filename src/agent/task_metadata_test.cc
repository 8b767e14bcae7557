#include "agent/task_metadata.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace berth::agent {
namespace {

namespace json = boost::json;

// 2023-11-14T22:13:20Z
constexpr int64_t kAt = 1'700'000'000'000;

TaskSnapshot Training() {
  TaskSnapshot task;
  task.cluster_arn = "arn:aws:ecs:us-east-1:123456789012:cluster/train";
  task.task_arn = "arn:aws:ecs:us-east-1:123456789012:task/train/0123";
  task.family = "bert";
  task.revision = "3";
  task.known_status = "RUNNING";
  task.task_cpu = "2048";
  task.task_memory = "4096";
  task.pull_started_at = kAt;
  task.pull_stopped_at = kAt + 1500;
  task.availability_zone = "us-east-1a";
  task.network_mode = "host";
  task.host_address = "10.0.0.7";
  task.tags = json::parse(R"([{"key":"team","value":"nlp"}])").as_array();
  task.gang = json::parse(R"({"name":"g","rank":1,"size":2,"attempt":0})").as_object();
  ContainerSnapshot c;
  c.name = "trainer";
  c.runtime_id = "0123-trainer";
  c.container_arn = "arn:aws:ecs:us-east-1:123456789012:container/train/0123/c1";
  c.image = "127.0.0.1:8080/bert:v1";
  c.image_id = "sha256:" + std::string(64, 'c');
  c.known_status = "RUNNING";
  c.started_at = kAt + 2000;
  c.created_at = kAt + 2000;
  c.labels = json::parse(R"({"stage":"pretrain"})").as_object();
  c.cpu = 1024;
  c.memory_mib = 2048;
  c.health = "HEALTHY";
  c.restart_count = 2;
  c.neuron_device_ids = {0, 1};
  task.containers.push_back(c);
  ContainerSnapshot sidecar;
  sidecar.name = "log";
  sidecar.runtime_id = "0123-log";
  sidecar.known_status = "STOPPED";
  sidecar.exit_code = 3;
  sidecar.finished_at = kAt + 9000;
  task.containers.push_back(sidecar);
  return task;
}

TEST(TaskMetadataTest, TheContainerDocumentHasECSsFields) {
  TaskSnapshot task = Training();
  json::object c = ContainerMetadataJson(task, task.containers[0]);
  EXPECT_EQ(c.at("DockerId"), json::value("0123-trainer"));
  EXPECT_EQ(c.at("Name"), json::value("trainer"));
  EXPECT_EQ(c.at("DockerName"), json::value("0123-trainer"));
  EXPECT_EQ(c.at("Image"), json::value("127.0.0.1:8080/bert:v1"));
  EXPECT_EQ(c.at("ImageID"), json::value("sha256:" + std::string(64, 'c')));
  EXPECT_EQ(c.at("Labels"), json::parse(R"({"stage":"pretrain"})"));
  EXPECT_EQ(c.at("DesiredStatus"), json::value("RUNNING"));
  EXPECT_EQ(c.at("KnownStatus"), json::value("RUNNING"));
  EXPECT_EQ(c.at("Limits"), json::parse(R"({"CPU":1024.0,"Memory":2048})"));
  EXPECT_EQ(c.at("CreatedAt"), json::value("2023-11-14T22:13:22Z"));
  EXPECT_EQ(c.at("StartedAt"), json::value("2023-11-14T22:13:22Z"));
  EXPECT_FALSE(c.contains("FinishedAt"));
  EXPECT_FALSE(c.contains("ExitCode"));
  EXPECT_EQ(c.at("Type"), json::value("NORMAL"));
  EXPECT_EQ(c.at("Networks"),
            json::parse(R"([{"NetworkMode":"host","IPv4Addresses":["10.0.0.7"]}])"));
  EXPECT_EQ(c.at("Health"), json::parse(R"({"status":"HEALTHY"})"));
  EXPECT_EQ(c.at("RestartCount"), json::value(2));
  EXPECT_EQ(c.at("ContainerARN"),
            json::value("arn:aws:ecs:us-east-1:123456789012:container/train/0123/c1"));
  EXPECT_EQ(c.at("Berth"), json::parse(R"({"NeuronDeviceIds":["0","1"]})"));

  json::object log = ContainerMetadataJson(task, task.containers[1]);
  EXPECT_EQ(log.at("ExitCode"), json::value(3));
  EXPECT_EQ(log.at("FinishedAt"), json::value("2023-11-14T22:13:29Z"));
  // ECS's floor of 2 CPU units; no health check, no restart policy, no devices.
  EXPECT_EQ(log.at("Limits").at("CPU"), json::value(2.0));
  EXPECT_FALSE(log.contains("Health"));
  EXPECT_FALSE(log.contains("RestartCount"));
  EXPECT_FALSE(log.contains("Berth"));
}

TEST(TaskMetadataTest, TheTaskDocumentHasTheTaskAndEveryContainer) {
  TaskSnapshot task = Training();
  json::object t = TaskMetadataJson(task, false);
  EXPECT_EQ(t.at("Cluster"), json::value(task.cluster_arn));
  EXPECT_EQ(t.at("TaskARN"), json::value(task.task_arn));
  EXPECT_EQ(t.at("Family"), json::value("bert"));
  EXPECT_EQ(t.at("Revision"), json::value("3"));
  EXPECT_EQ(t.at("DesiredStatus"), json::value("RUNNING"));
  EXPECT_EQ(t.at("KnownStatus"), json::value("RUNNING"));
  // vCPUs and MiB.
  EXPECT_EQ(t.at("Limits"), json::parse(R"({"CPU":2.0,"Memory":4096})"));
  EXPECT_EQ(t.at("PullStartedAt"), json::value("2023-11-14T22:13:20Z"));
  EXPECT_EQ(t.at("PullStoppedAt"), json::value("2023-11-14T22:13:21.5Z"));
  EXPECT_FALSE(t.contains("ExecutionStoppedAt"));
  EXPECT_EQ(t.at("AvailabilityZone"), json::value("us-east-1a"));
  EXPECT_EQ(t.at("LaunchType"), json::value("EC2"));
  ASSERT_EQ(t.at("Containers").as_array().size(), 2u);
  EXPECT_EQ(t.at("Containers").as_array()[1].at("Name"), json::value("log"));
  EXPECT_FALSE(t.contains("TaskTags"));
  EXPECT_EQ(t.at("Berth"), json::parse(R"({"Gang":{"Name":"g","Rank":1,"Size":2,"Attempt":0}})"));

  EXPECT_EQ(TaskMetadataJson(task, true).at("TaskTags"), json::parse(R"({"team":"nlp"})"));

  // Without task-level sizes there are no task Limits; a private network
  // shows its loopback.
  task.task_cpu.clear();
  task.task_memory.clear();
  task.network_mode = "awsvpc";
  task.gang = {};
  t = TaskMetadataJson(task, false);
  EXPECT_FALSE(t.contains("Limits"));
  EXPECT_FALSE(t.contains("Berth"));
  EXPECT_EQ(t.at("Containers").as_array()[0].at("Networks"),
            json::parse(R"([{"NetworkMode":"awsvpc","IPv4Addresses":["127.0.0.1"]}])"));
}

}  // namespace
}  // namespace berth::agent
