#include "cli/views.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace berth::cli {
namespace {

namespace json = boost::json;

TEST(ViewsTest, NodeDevicesNameTheTaskHoldingEach) {
  json::object instance = json::parse(R"({
      "containerInstanceArn": "arn:aws:ecs:r:1:container-instance/c/i0",
      "platformDevices": [{"id": "0", "type": "NEURON_DEVICE"}, {"id": "1", "type": "NEURON_DEVICE"},
                          {"id": "0", "type": "EFA"}, {"id": "0", "type": "GPU"}]})")
                              .as_object();
  json::array tasks = json::parse(R"([
      {"taskArn": "arn:aws:ecs:r:1:task/c/t1", "lastStatus": "RUNNING",
       "containerInstanceArn": "arn:aws:ecs:r:1:container-instance/c/i0",
       "containers": [{"name": "main", "neuronDeviceIds": ["1"], "efaDeviceIds": ["0"]}]},
      {"taskArn": "arn:aws:ecs:r:1:task/c/old", "lastStatus": "STOPPED",
       "containerInstanceArn": "arn:aws:ecs:r:1:container-instance/c/i0",
       "containers": [{"name": "main", "neuronDeviceIds": ["0"]}]},
      {"taskArn": "arn:aws:ecs:r:1:task/c/elsewhere", "lastStatus": "RUNNING",
       "containerInstanceArn": "arn:aws:ecs:r:1:container-instance/c/i9",
       "containers": [{"name": "x", "gpuIds": ["0"]}]}])")
                          .as_array();
  EXPECT_EQ(RenderTable(NodeDeviceRows(instance, tasks)),
            "TYPE    ID  TASK  CONTAINER\n"
            "neuron  0   -     -\n"
            "neuron  1   t1    main\n"
            "efa     0   t1    main\n"
            "gpu     0   -     -\n");
}

TEST(ViewsTest, NodeRowsShowFreeOverRegisteredAndDeviceCounts) {
  json::array instances = json::parse(R"([{
      "containerInstanceArn": "arn:aws:ecs:r:1:container-instance/c/i0",
      "ec2InstanceId": "i-0abc", "status": "DRAINING", "agentConnected": true,
      "runningTasksCount": 2, "pendingTasksCount": 1,
      "registeredResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                              {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192}],
      "remainingResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                             {"name": "MEMORY", "type": "INTEGER", "integerValue": 512}],
      "platformDevices": [{"id": "0", "type": "NEURON_DEVICE"}, {"id": "1", "type": "NEURON_DEVICE"},
                          {"id": "0", "type": "EFA"}]}])")
                              .as_array();
  EXPECT_EQ(RenderTable(NodeRows(instances)),
            "ID  EC2     STATUS    AGENT      TASKS  CPU        MEMORY    DEVICES\n"
            "i0  i-0abc  DRAINING  connected  2+1    1024/4096  512/8192  neuron:2 efa:1\n");
}

TEST(ViewsTest, TaskDefinitionRowsSplitFamilyAndRevision) {
  EXPECT_EQ(RenderTable(TaskDefinitionRows(json::parse(R"([
                "arn:aws:ecs:r:1:task-definition/bert:3", "arn:aws:ecs:r:1:task-definition/x:12"])")
                                               .as_array())),
            "FAMILY  REVISION\nbert    3\nx       12\n");
}

TEST(ViewsTest, ServiceEventsAreTheNewestOldestFirst) {
  json::object service = json::parse(R"({"events": [
      {"createdAt": 1700000020, "message": "third"},
      {"createdAt": 1700000010.5, "message": "second"},
      {"createdAt": 1700000000, "message": "first"}]})")
                             .as_object();
  EXPECT_EQ(RenderTable(EventRows(service, 2)),
            "TIME                 MESSAGE\n"
            "2023-11-14 22:13:30  second\n"
            "2023-11-14 22:13:40  third\n");
}

TEST(ViewsTest, ContainerRowsCarryExitCodesAndDevices) {
  json::object task = json::parse(R"({"containers": [
      {"name": "main", "lastStatus": "STOPPED", "exitCode": 3, "gpuIds": ["0", "1"],
       "reason": "OOM"},
      {"name": "side", "lastStatus": "RUNNING"}]})")
                          .as_object();
  EXPECT_EQ(RenderTable(ContainerRows(task)),
            "NAME  STATUS   EXIT  DEVICES  REASON\n"
            "main  STOPPED  3     gpu:0,1  OOM\n"
            "side  RUNNING  -     -\n");
}

TEST(ViewsTest, FieldsAreAligned) {
  EXPECT_EQ(FormatFields({{"Name", "a"}, {"Running tasks", "2"}}),
            "Name:           a\n"
            "Running tasks:  2\n");
}

TEST(ViewsTest, ImageRowsAreAPerRepositoryTagAndDigest) {
  EXPECT_EQ(RenderTable(ImageRows({{"bert", json::parse(R"([
                {"imageDigest": "sha256:aa", "imageTag": "v1"}, {"imageDigest": "sha256:bb"}])")
                                                .as_array()}})),
            "REPOSITORY  TAG  DIGEST\n"
            "bert        v1   sha256:aa\n"
            "bert        -    sha256:bb\n");
}

}  // namespace
}  // namespace berth::cli
