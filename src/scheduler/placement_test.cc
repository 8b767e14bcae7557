#include "scheduler/placement.h"

#include <gtest/gtest.h>

#include "scheduler/placement_testing.h"

namespace berth::scheduler {
namespace {

using testing::Cluster;
using testing::Instance;
using testing::InstanceIds;
using testing::Trn1;
using testing::WithAttribute;

PlacementResult Place(const ClusterSnapshot& snapshot, const PlacementRequest& request, int count,
                      uint64_t seed = 1) {
  std::mt19937_64 random(seed);
  auto result = PlaceTasks(snapshot, request, count, random);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : PlacementResult{};
}

TEST(PlaceTasksTest, TasksOfOneCallNeverDoubleBook) {
  // One instance, 2048 units: 1024 + 1024 fit, the third finds 0 left.
  PlacementRequest request;
  request.cpu = 1024;
  PlacementResult result = Place(Cluster({Instance("a", 2048)}), request, 3);
  EXPECT_EQ(InstanceIds(result.placements), (std::vector<std::string>{"a", "a"}));
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].reason, "RESOURCE:CPU");
  EXPECT_EQ(result.failures[0].detail,
            "1 instance: 1 RESOURCE:CPU; a: needs 1024 CPU units, has 0");
}

TEST(PlaceTasksTest, TheCallersSnapshotIsNotChanged) {
  PlacementRequest request;
  request.cpu = 1024;
  const ClusterSnapshot snapshot = Cluster({Instance("a", 2048)});
  Place(snapshot, request, 2);
  EXPECT_EQ(snapshot.instances[0].resources.cpu_remaining, 2048);
}

TEST(PlaceTasksTest, StaticHostPortsOncePerInstance) {
  PlacementRequest request;
  request.host_ports = {{80, PortProtocol::kTcp}};
  PlacementResult result = Place(Cluster({Instance("a"), Instance("b")}), request, 3);
  // Default spread by instance: a, then b; port 80 is then taken on both.
  EXPECT_EQ(InstanceIds(result.placements), (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].reason, "RESOURCE:PORTS");
  EXPECT_EQ(result.placements[0].host_ports, request.host_ports);
}

TEST(PlaceTasksTest, FailureNamesTheFilterThatEliminatedTheLastCandidates) {
  // a is disconnected, c lacks cpu, b lacks memory. The filters run agent
  // (removes a), cpu (removes c), memory (removes b, the last one), so the
  // reason is RESOURCE:MEMORY.
  SnapshotInstance a = Instance("a");
  a.facts.agent_connected = false;
  PlacementRequest request;
  request.cpu = 1024;
  request.memory_mib = 1024;
  PlacementResult result =
      Place(Cluster({a, Instance("b", 4096, 512), Instance("c", 512)}), request, 2);
  ASSERT_EQ(result.failures.size(), 2u);
  EXPECT_EQ(result.failures[0].reason, "RESOURCE:MEMORY");
  EXPECT_EQ(result.failures[0].detail,
            "3 instances: 1 AGENT, 1 RESOURCE:CPU, 1 RESOURCE:MEMORY; b: needs 1024 MiB of "
            "memory, has 512");
  EXPECT_EQ(result.failures[1].reason, "RESOURCE:MEMORY");
}

TEST(PlaceTasksTest, EmptyClusterAndZeroCount) {
  PlacementResult result = Place(Cluster({}), PlacementRequest{}, 1);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].reason, "AGENT");
  EXPECT_EQ(result.failures[0].detail, "no container instances in the cluster");
  result = Place(Cluster({Instance("a")}), PlacementRequest{}, 0);
  EXPECT_TRUE(result.placements.empty());
  EXPECT_TRUE(result.failures.empty());
}

TEST(PlaceTasksTest, BinpackFillsOneInstanceFirst) {
  // binpack(memory): a has 3072 left, b 4096; each task takes 1024. a is
  // fullest: a (3072 -> 2048), a (-> 1024), a (-> 0), then b.
  PlacementRequest request;
  request.memory_mib = 1024;
  request.strategies = {{"binpack", "memory"}};
  PlacementResult result =
      Place(Cluster({Instance("a", 4096, 3072), Instance("b", 4096, 4096)}), request, 4);
  EXPECT_EQ(InstanceIds(result.placements), (std::vector<std::string>{"a", "a", "a", "b"}));
}

TEST(PlaceTasksTest, DefaultSpreadsOverZonesThenInstances) {
  // a, b in zone 1a, c in 1b. Task 1: every zone holds 0 -> lowest id a.
  // Task 2: 1a holds 1, 1b 0 -> c. Task 3: 1a 1, 1b 1 -> by instance: b
  // (0) before a, c (1). Task 4: 1a 2, 1b 1 -> c.
  PlacementRequest request;
  request.group = "family:web";
  PlacementResult result =
      Place(Cluster({WithAttribute(Instance("a"), "ecs.availability-zone", "1a"),
                     WithAttribute(Instance("b"), "ecs.availability-zone", "1a"),
                     WithAttribute(Instance("c"), "ecs.availability-zone", "1b")}),
            request, 4);
  EXPECT_EQ(InstanceIds(result.placements), (std::vector<std::string>{"a", "c", "b", "c"}));
}

TEST(PlaceTasksTest, RandomIsReproducibleForOneSeed) {
  PlacementRequest request;
  request.strategies = {{"random", ""}};
  const ClusterSnapshot snapshot =
      Cluster({Instance("a"), Instance("b"), Instance("c"), Instance("d"), Instance("e")});
  auto first = InstanceIds(Place(snapshot, request, 8, 99).placements);
  EXPECT_EQ(first, InstanceIds(Place(snapshot, request, 8, 99).placements));
  bool differs = false;
  for (uint64_t seed = 1; seed < 10 && !differs; ++seed) {
    differs = InstanceIds(Place(snapshot, request, 8, seed).placements) != first;
  }
  EXPECT_TRUE(differs) << "the seed makes no difference";
}

TEST(PlaceTasksTest, MemberOfAndDistinctInstance) {
  PlacementRequest request;
  request.constraints = {{"memberOf", "attribute:ecs.instance-type == trn1.32xlarge"},
                         {"distinctInstance", ""}};
  PlacementResult result =
      Place(Cluster({Instance("cpu-only"), Trn1("t1"), Trn1("t2")}), request, 3);
  EXPECT_EQ(InstanceIds(result.placements), (std::vector<std::string>{"t1", "t2"}));
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].reason, "DISTINCT_INSTANCE");

  request.constraints = {{"memberOf", "attribute:ecs.instance-type == p5.48xlarge"}};
  result = Place(Cluster({Trn1("t1")}), request, 1);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].reason, "ATTRIBUTE");
}

TEST(PlaceTasksTest, Trn1HalvesThenNothing) {
  // 16 devices in a ring: 8 + 8 take disjoint contiguous halves, the third
  // finds none free.
  PlacementRequest request;
  request.neuron_device_count = 8;
  PlacementResult result = Place(Cluster({Trn1("t1")}), request, 3);
  ASSERT_EQ(result.placements.size(), 2u);
  EXPECT_EQ(result.placements[0].neuron_device_ids, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(result.placements[1].neuron_device_ids,
            (std::vector<int>{8, 9, 10, 11, 12, 13, 14, 15}));
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].reason, "RESOURCE:NEURON_DEVICE");
  EXPECT_EQ(result.failures[0].detail,
            "1 instance: 1 RESOURCE:NEURON_DEVICE; t1: needs 8 free Neuron devices, has 0");
}

TEST(PlaceTasksTest, ExactDeviceTwiceOnOneInstance) {
  PlacementRequest request;
  request.exact_neuron_devices = {3};
  PlacementResult result = Place(Cluster({Trn1("t1")}), request, 2);
  ASSERT_EQ(result.placements.size(), 1u);
  EXPECT_EQ(result.placements[0].neuron_device_ids, std::vector<int>{3});
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].reason, "RESOURCE:NEURON_DEVICE");
  EXPECT_EQ(result.failures[0].detail,
            "1 instance: 1 RESOURCE:NEURON_DEVICE; t1: device 3 is taken");
}

TEST(PlaceTasksTest, AllNeuronDevicesNeedsEveryOneFree) {
  PlacementRequest request;
  request.all_neuron_devices = true;
  SnapshotInstance busy = Trn1("t1");
  busy.resources.neuron.taken = {5};
  PlacementResult result = Place(Cluster({busy}), request, 1);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].reason, "RESOURCE:NEURON_DEVICE");

  result = Place(Cluster({busy, Trn1("t2")}), request, 2);
  ASSERT_EQ(result.placements.size(), 1u);
  EXPECT_EQ(result.placements[0].instance_id, "t2");
  EXPECT_EQ(result.placements[0].neuron_device_ids.size(), 16u);
  EXPECT_EQ(result.failures.size(), 1u);
}

TEST(PlaceTasksTest, PrefersAnInstanceWhereTheDevicesAreConnected) {
  // t1 has 4 free devices in two pieces (0, 1 and 8, 9); t2 has 4 in one
  // (4..7). Spread alone would pick t1 (lowest id); topology comes first.
  SnapshotInstance t1 = Trn1("t1");
  SnapshotInstance t2 = Trn1("t2");
  for (int i = 0; i < 16; ++i) {
    if (i != 0 && i != 1 && i != 8 && i != 9) t1.resources.neuron.taken.insert(i);
    if (i < 4 || i > 7) t2.resources.neuron.taken.insert(i);
  }
  PlacementRequest request;
  request.neuron_device_count = 4;
  PlacementResult result = Place(Cluster({t1, t2}), request, 2);
  ASSERT_EQ(result.placements.size(), 2u);
  EXPECT_EQ(result.placements[0].instance_id, "t2");
  EXPECT_EQ(result.placements[0].neuron_device_ids, (std::vector<int>{4, 5, 6, 7}));
  // Then only t1 is left, and its two pieces are better than nothing.
  EXPECT_EQ(result.placements[1].instance_id, "t1");
  EXPECT_EQ(result.placements[1].neuron_device_ids, (std::vector<int>{0, 1, 8, 9}));
}

TEST(PlaceTasksTest, GpusAreCountedAndChosen) {
  SnapshotInstance g = Instance("g");
  g.resources.gpus = {{0, 1, 2, 3}, {}};
  PlacementRequest request;
  request.gpu_count = 3;
  PlacementResult result = Place(Cluster({g}), request, 2);
  ASSERT_EQ(result.placements.size(), 1u);
  EXPECT_EQ(result.placements[0].gpu_ids, (std::vector<int>{0, 1, 2}));
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].reason, "RESOURCE:GPU");
}

// A trn1.32xlarge with its 8 EFA devices.
SnapshotInstance Trn1WithEfa(std::string id) {
  SnapshotInstance instance = Trn1(std::move(id));
  instance.resources.efa.ids = {0, 1, 2, 3, 4, 5, 6, 7};
  return instance;
}

TEST(PlaceTasksTest, EfaDevicesAreExclusive) {
  // Two tasks of 4 split the 8 devices; a third finds none.
  PlacementRequest request;
  request.efa_device_count = 4;
  PlacementResult result = Place(Cluster({Trn1WithEfa("t1")}), request, 3);
  ASSERT_EQ(result.placements.size(), 2u);
  EXPECT_EQ(result.placements[0].efa_device_ids, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(result.placements[1].efa_device_ids, (std::vector<int>{4, 5, 6, 7}));
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].reason, "RESOURCE:EFA");
  EXPECT_EQ(result.failures[0].detail,
            "1 instance: 1 RESOURCE:EFA; t1: needs 4 free EFA devices, has 0");

  // An instance without EFA devices cannot take a task that maps one.
  PlacementRequest exact;
  exact.exact_efa_devices = {3};
  result = Place(Cluster({Trn1("plain"), Trn1WithEfa("t1")}), exact, 2);
  ASSERT_EQ(result.placements.size(), 1u);
  EXPECT_EQ(result.placements[0].instance_id, "t1");
  EXPECT_EQ(result.placements[0].efa_device_ids, std::vector<int>{3});
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].reason, "RESOURCE:EFA");
  EXPECT_EQ(result.failures[0].detail,
            "2 instances: 2 RESOURCE:EFA; plain: has no EFA devices; t1: EFA device 3 is taken");
}

TEST(PlaceTasksTest, EfaDevicesAreReleasedByThePlacer) {
  Placer placer(Cluster({Trn1WithEfa("t1")}));
  PlacementRequest request;
  request.all_efa_devices = true;
  request.group = "family:train";
  std::mt19937_64 random(1);
  auto first = placer.PlaceTasks(request, 2, random);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->placements.size(), 1u);
  EXPECT_EQ(first->placements[0].efa_device_ids.size(), 8u);
  ASSERT_EQ(first->failures.size(), 1u);
  EXPECT_EQ(first->failures[0].reason, "RESOURCE:EFA");
  EXPECT_EQ(placer.Find("t1")->resources.efa.taken.size(), 8u);

  ASSERT_TRUE(placer.Release(request, first->placements[0]).ok());
  EXPECT_TRUE(placer.Find("t1")->resources.efa.taken.empty());
  // Released twice: the instance no longer holds them.
  EXPECT_EQ(placer.Release(request, first->placements[0]).code(), StatusCode::kFailedPrecondition);
  auto again = placer.PlaceTasks(request, 1, random);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->placements.size(), 1u);
}

TEST(PlaceTasksTest, MalformedRequestsAreErrorsNotFailures) {
  struct Case {
    const char* name;
    PlacementRequest request;
    std::string message;
  };
  std::vector<Case> cases(6);
  cases[0] = {
      "strategy", {}, "placementStrategy[1]: binpack field must be cpu or memory, got 'disk'"};
  cases[0].request.strategies = {{"random", ""}, {"binpack", "disk"}};
  cases[1] = {"constraint type",
              {},
              "placementConstraints[0]: type must be distinctInstance or "
              "memberOf, got 'sameInstance'"};
  cases[1].request.constraints = {{"sameInstance", ""}};
  cases[2] = {"memberOf without expression",
              {},
              "placementConstraints[0]: memberOf needs an "
              "expression"};
  cases[2].request.constraints = {{"memberOf", ""}};
  cases[3] = {"negative cpu", {}, "cpu must not be negative"};
  cases[3].request.cpu = -1;
  cases[4] = {"ALL and a count", {}, "NeuronDevice is either ALL or a count, not both"};
  cases[4].request.all_neuron_devices = true;
  cases[4].request.neuron_device_count = 2;
  cases[5] = {"port twice", {}, "host port 80 is mapped twice"};
  cases[5].request.host_ports = {{80, PortProtocol::kTcp}, {80, PortProtocol::kTcp}};
  for (const Case& c : cases) {
    std::mt19937_64 random(1);
    auto result = PlaceTasks(Cluster({Instance("a")}), c.request, 1, random);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(result.status().message(), c.message) << c.name;
  }
}

TEST(PlaceTasksTest, BadMemberOfExpressionIsAnError) {
  PlacementRequest request;
  request.constraints = {{"memberOf", "attribute:x =="}};
  std::mt19937_64 random(1);
  auto result = PlaceTasks(Cluster({Instance("a")}), request, 1, random);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message().rfind("placementConstraints[0]: ", 0), 0u)
      << result.status().message();
}

TEST(ApplyPlacementTest, ReservesAndRefusesAMisfit) {
  ClusterSnapshot snapshot = Cluster({Trn1("t1")});
  PlacementRequest request;
  request.cpu = 1024;
  request.memory_mib = 2048;
  request.group = "family:train";
  TaskPlacement placement{"t1", {2, 3}, {}, {{9000, PortProtocol::kUdp}}, {}};
  ASSERT_TRUE(ApplyPlacement(snapshot, request, placement).ok());
  const InstanceResources& r = snapshot.instances[0].resources;
  EXPECT_EQ(r.cpu_remaining, 128 * 1024 - 1024);
  EXPECT_EQ(r.memory_remaining_mib, 512 * 1024 - 2048);
  EXPECT_EQ(r.neuron.taken, (std::set<int>{2, 3}));
  EXPECT_EQ(r.ports_used.udp, std::set<int>{9000});
  EXPECT_EQ(snapshot.instances[0].facts.task_groups, std::vector<std::string>{"family:train"});

  Status again = ApplyPlacement(snapshot, request, placement);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(snapshot.instances[0].resources.cpu_remaining, 128 * 1024 - 1024);  // unchanged
  placement.instance_id = "nope";
  EXPECT_EQ(ApplyPlacement(snapshot, request, placement).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace berth::scheduler
