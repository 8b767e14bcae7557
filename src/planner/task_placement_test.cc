#include "planner/task_placement.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace berth::planner {

namespace {

namespace json = boost::json;

json::object Parse(std::string_view text) { return json::parse(text).as_object(); }

TEST(BuildPlacementRequest, SumsContainersPrefersReservationAndReadsDevices) {
  json::object td = Parse(R"({
    "family": "train", "networkMode": "host",
    "containerDefinitions": [
      {"name": "a", "cpu": 512, "memory": 2048, "memoryReservation": 1024,
       "portMappings": [{"containerPort": 8080}],
       "linuxParameters": {"devices": [{"hostPath": "/dev/neuron3"}, {"hostPath": "/dev/null"}]}},
      {"name": "b", "cpu": 256, "memory": 512,
       "resourceRequirements": [{"type": "NeuronDevice", "value": "2"},
                                {"type": "GPU", "value": "1"}]}
    ]})");
  scheduler::PlacementRequest r = BuildPlacementRequest(td, json::object()).value();
  EXPECT_EQ(r.cpu, 512 + 256);
  EXPECT_EQ(r.memory_mib, 1024 + 512);  // a's reservation, b's hard limit
  ASSERT_EQ(r.host_ports.size(), 1u);   // host mode: the container port
  EXPECT_EQ(r.host_ports[0].port, 8080);
  EXPECT_EQ(r.exact_neuron_devices, std::set<int>{3});
  EXPECT_EQ(r.neuron_device_count, 2);
  EXPECT_EQ(r.gpu_count, 1);
}

TEST(BuildPlacementRequest, ReadsEfaDevices) {
  json::object td = Parse(R"({"containerDefinitions": [
      {"name": "a", "linuxParameters": {"devices": [
         {"hostPath": "/dev/infiniband/uverbs3"}, {"hostPath": "/dev/infiniband/rdma_cm"}]},
       "resourceRequirements": [{"type": "EFA", "value": "2"}]},
      {"name": "b", "resourceRequirements": [{"type": "EFA", "value": "1"}]}]})");
  scheduler::PlacementRequest r = BuildPlacementRequest(td, json::object()).value();
  EXPECT_EQ(r.exact_efa_devices, std::set<int>{3});  // rdma_cm is shared, not reserved
  EXPECT_EQ(r.efa_device_count, 3);
  EXPECT_FALSE(r.all_efa_devices);
  json::object all = Parse(R"({"containerOverrides": [
      {"name": "b", "resourceRequirements": [{"type": "EFA", "value": "ALL"}]}]})");
  r = BuildPlacementRequest(td, all).value();
  EXPECT_TRUE(r.all_efa_devices);
  EXPECT_EQ(r.efa_device_count, 2);  // a's; CompileRequest refuses ALL with a count
  json::object bad = Parse(R"({"containerOverrides": [
      {"name": "b", "resourceRequirements": [{"type": "EFA", "value": "many"}]}]})");
  auto refused = BuildPlacementRequest(td, bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "resourceRequirements: EFA value must be a count, got 'many'");
  EXPECT_EQ(EfaIndex("/dev/infiniband/uverbs12"), 12);
  EXPECT_EQ(EfaIndex("/dev/infiniband/rdma_cm"), std::nullopt);
  EXPECT_EQ(EfaIndex("/dev/infiniband/uverbs"), std::nullopt);
}

TEST(BuildPlacementRequest, OverridesAndTaskLevelSizes) {
  json::object td = Parse(R"({"cpu": "2048", "containerDefinitions": [
      {"name": "a", "cpu": 1, "memory": 100,
       "resourceRequirements": [{"type": "NeuronDevice", "value": "2"}]}]})");
  json::object ov = Parse(R"({"memory": "4096", "containerOverrides": [
      {"name": "a", "resourceRequirements": [{"type": "NeuronDevice", "value": "ALL"}]}]})");
  scheduler::PlacementRequest r = BuildPlacementRequest(td, ov).value();
  EXPECT_EQ(r.cpu, 2048);
  EXPECT_EQ(r.memory_mib, 4096);
  EXPECT_TRUE(r.all_neuron_devices);
  EXPECT_EQ(r.neuron_device_count, 0);
  auto unknown = BuildPlacementRequest(td, Parse(R"({"containerOverrides": [{"name": "x"}]})"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
}

TEST(InstanceSnapshot, SubtractsReservationsOfTasks) {
  json::object instance = Parse(R"({
    "containerInstanceArn": "arn:aws:ecs:us-east-1:0:container-instance/c/abc",
    "status": "ACTIVE", "agentConnected": false, "registeredAt": 10.5,
    "attributes": [{"name": "ecs.instance-type", "value": "trn1.2xlarge"}, {"name": "efa"}],
    "registeredResources": [
      {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
      {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
      {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]}],
    "platformDevices": [{"id": "0", "type": "NEURON_DEVICE", "connectedTo": ["1"]},
                        {"id": "1", "type": "NEURON_DEVICE", "connectedTo": ["0"]},
                        {"id": "0", "type": "GPU"},
                        {"id": "0", "type": "EFA"}, {"id": "1", "type": "EFA"}]})");
  json::object task = Parse(R"({"lastStatus": "PENDING", "group": "family:x",
    "berthReservation": {"cpu": 1024, "memory": 1000, "tcp": [80], "udp": [],
                         "neuron": [1], "gpu": [0], "efa": [1]}})");
  scheduler::SnapshotInstance s = InstanceSnapshot(instance, {&task}, true);
  EXPECT_EQ(s.facts.id, "abc");
  EXPECT_TRUE(s.facts.agent_connected);  // as the caller said
  EXPECT_EQ(s.facts.registered_at_millis, 10500);
  EXPECT_EQ(s.facts.attributes.at("efa"), "");
  EXPECT_EQ(s.facts.task_groups, std::vector<std::string>{"family:x"});
  EXPECT_EQ(s.resources.cpu_remaining, 4096 - 1024);
  EXPECT_EQ(s.resources.memory_remaining_mib, 8192 - 1000);
  EXPECT_EQ(s.resources.ports_reserved.tcp, std::set<int>{22});
  EXPECT_EQ(s.resources.ports_used.tcp, std::set<int>{80});
  EXPECT_EQ(s.resources.neuron.count, 2);
  EXPECT_EQ(s.resources.neuron.taken, std::set<int>{1});
  EXPECT_EQ(s.resources.neuron.links.at(0), std::vector<int>{1});
  EXPECT_EQ(s.resources.neuron.links.at(1), std::vector<int>{0});
  EXPECT_EQ(s.resources.gpus.ids, std::set<int>{0});
  EXPECT_EQ(s.resources.gpus.taken, std::set<int>{0});
  EXPECT_EQ(s.resources.efa.ids, (std::set<int>{0, 1}));
  EXPECT_EQ(s.resources.efa.taken, std::set<int>{1});
  // The record of a reservation reads back as the placement it was made from.
  scheduler::PlacementRequest request;
  request.cpu = 1024;
  scheduler::TaskPlacement placement;
  placement.instance_id = "abc";
  placement.efa_device_ids = {0, 1};
  json::object record =
      Parse(R"({"containerInstanceArn": "arn:aws:ecs:us-east-1:0:container-instance/c/abc"})");
  record[kReservationKey] = ReservationRecord(request, placement);
  scheduler::PlacementRequest read_request;
  scheduler::TaskPlacement read;
  ReservationOf(record, read_request, read);
  EXPECT_EQ(read.instance_id, "abc");
  EXPECT_EQ(read.efa_device_ids, (std::vector<int>{0, 1}));
  EXPECT_FALSE(InstanceSnapshot(instance, {}, false).facts.agent_connected);
}

TEST(InstanceUsage, RemainingResourcesFollowTasksPlacedAndStopped) {
  json::object instance = Parse(R"({"registeredResources": [
      {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
      {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
      {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]}]})");
  json::object task = Parse(R"({"containerInstanceArn": "arn:x:container-instance/c/abc",
    "berthReservation": {"cpu": 1024, "memory": 1000, "tcp": [80], "udp": []}})");
  scheduler::PlacementRequest request;
  scheduler::TaskPlacement placement;
  ReservationOf(task, request, placement);
  InstanceUsage usage;
  usage.Add(request, placement);
  usage.Add(request, placement);  // StartTask may put a second one on port 80
  json::array remaining = RemainingResources(instance, usage);
  EXPECT_EQ(remaining[0].as_object().at("integerValue").as_int64(), 4096 - 2 * 1024);
  EXPECT_EQ(remaining[1].as_object().at("integerValue").as_int64(), 8192 - 2 * 1000);
  // Reserved 22 and held 80, once each, in port order.
  EXPECT_EQ(remaining[2].as_object().at("stringSetValue"), json::array({"22", "80"}));

  usage.Remove(request, placement);
  remaining = RemainingResources(instance, usage);
  EXPECT_EQ(remaining[0].as_object().at("integerValue").as_int64(), 4096 - 1024);
  EXPECT_EQ(remaining[2].as_object().at("stringSetValue"),
            json::array({"22", "80"}));  // one holds it

  usage.Remove(request, placement);
  EXPECT_EQ(RemainingResources(instance, usage), instance.at("registeredResources").as_array());
}

}  // namespace
}  // namespace berth::planner
