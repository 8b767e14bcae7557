// The Placer against the reference engine: random clusters and random
// sequences of calls, placements, releases and runningTasksCount changes,
// where every answer (instance, device ids, failure reason and detail, draws
// from the generator) must be the reference's, and the incremental state
// must equal a snapshot rebuilt from scratch.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "scheduler/placement.h"
#include "scheduler/placement_devices.h"
#include "scheduler/placement_step.h"
#include "scheduler/placement_testing.h"

namespace berth::scheduler {
namespace {

using testing::Instance;
using testing::Trn1;

int Pick(std::mt19937_64& r, int lo, int hi) {
  return lo + static_cast<int>(r() % static_cast<uint64_t>(hi - lo + 1));
}

const char* const kZones[] = {"1a", "1b", "1c"};
const char* const kGroups[] = {"family:a", "family:b", "service:c", ""};

SnapshotInstance RandomInstance(std::mt19937_64& r, int i) {
  const std::string id = "i-" + std::to_string(Pick(r, 0, 999)) + "-" + std::to_string(i);
  SnapshotInstance s;
  switch (Pick(r, 0, 3)) {
    case 0:
      s = Trn1(id);
      break;
    case 1:
      s = Instance(id, 8192, 32768);
      s.resources.neuron.count = Pick(r, 0, 4);  // no links: i-1, i+1
      s.facts.attributes["ecs.instance-type"] = "trn1.2xlarge";
      break;
    case 2:
      s = Instance(id, 4096, 8192);
      s.resources.gpus.ids = {0, 1, 2, 3};
      s.facts.attributes["ecs.instance-type"] = "g5";
      break;
    default:
      s = Instance(id, Pick(r, 1, 8) * 512, Pick(r, 1, 8) * 1024);
      break;
  }
  if (Pick(r, 0, 5) > 0) s.facts.attributes["ecs.availability-zone"] = kZones[Pick(r, 0, 2)];
  if (Pick(r, 0, 9) == 0) s.facts.agent_connected = false;
  if (Pick(r, 0, 14) == 0) s.facts.status = "DRAINING";
  if (Pick(r, 0, 3) == 0) s.resources.ports_reserved.tcp = {22, 80};
  s.facts.running_tasks_count = Pick(r, 0, 3);
  for (int t = Pick(r, 0, 2); t > 0; --t) s.facts.task_groups.push_back(kGroups[Pick(r, 0, 2)]);
  return s;
}

ClusterSnapshot RandomCluster(std::mt19937_64& r) {
  ClusterSnapshot snapshot;
  const int n = Pick(r, 1, 14);
  for (int i = 0; i < n; ++i) snapshot.instances.push_back(RandomInstance(r, i));
  return snapshot;
}

PlacementRequest RandomRequest(std::mt19937_64& r) {
  PlacementRequest q;
  q.cpu = Pick(r, 0, 4) * 256;
  q.memory_mib = Pick(r, 0, 6) * 512;
  q.group = kGroups[Pick(r, 0, 3)];
  switch (Pick(r, 0, 7)) {
    case 0:
      q.neuron_device_count = Pick(r, 1, 6);
      break;
    case 1:
      q.exact_neuron_devices = {Pick(r, 0, 3)};
      if (Pick(r, 0, 1)) q.neuron_device_count = Pick(r, 1, 3);
      break;
    case 2:
      q.all_neuron_devices = true;
      break;
    case 3:
      q.gpu_count = Pick(r, 1, 3);
      break;
    default:
      break;
  }
  if (Pick(r, 0, 3) == 0) q.host_ports = {{Pick(r, 0, 1) ? 80 : 8080, PortProtocol::kTcp}};
  switch (Pick(r, 0, 5)) {
    case 0:
      q.constraints.push_back({"memberOf", "attribute:ecs.instance-type != g5"});
      break;
    case 1:
      q.constraints.push_back({"memberOf", "runningTasksCount < 4 or task:group == family:a"});
      break;
    case 2:
      q.constraints.push_back({"distinctInstance", ""});
      break;
    default:
      break;
  }
  const std::vector<std::vector<PlacementStrategy>> strategies = {
      {},
      {{"binpack", "memory"}},
      {{"binpack", "cpu"}},
      {{"spread", "attribute:ecs.availability-zone"}, {"binpack", "memory"}},
      {{"spread", "attribute:ecs.availability-zone"}, {"spread", "instanceId"}},
      {{"spread", "attribute:ecs.instance-type"}, {"spread", "attribute:ecs.availability-zone"}},
      {{"spread", "host"}},
      {{"binpack", "memory"}, {"spread", "attribute:ecs.availability-zone"}},
      {{"random", ""}},
      {{"spread", "attribute:ecs.availability-zone"}, {"random", ""}},
  };
  q.strategies = strategies[Pick(r, 0, static_cast<int>(strategies.size()) - 1)];
  return q;
}

// What the server would do on a stop: the inverse of ApplyPlacement.
void ReleaseInSnapshot(ClusterSnapshot& snapshot, const PlacementRequest& q,
                       const TaskPlacement& p) {
  for (SnapshotInstance& s : snapshot.instances) {
    if (s.facts.id != p.instance_id) continue;
    s.resources.cpu_remaining += q.cpu;
    s.resources.memory_remaining_mib += q.memory_mib;
    for (const HostPort& port : p.host_ports) s.resources.ports_used.tcp.erase(port.port);
    for (int id : p.neuron_device_ids) s.resources.neuron.taken.erase(id);
    for (int id : p.gpu_ids) s.resources.gpus.taken.erase(id);
    auto& groups = s.facts.task_groups;
    groups.erase(std::prev(std::find(groups.rbegin(), groups.rend(), q.group).base()));
    return;
  }
}

void ExpectSameState(const ClusterSnapshot& got, const ClusterSnapshot& want,
                     const std::string& where) {
  ASSERT_EQ(got.instances.size(), want.instances.size()) << where;
  for (size_t i = 0; i < got.instances.size(); ++i) {
    const SnapshotInstance& g = got.instances[i];
    const SnapshotInstance& w = want.instances[i];
    EXPECT_EQ(g.facts.id, w.facts.id) << where;
    EXPECT_EQ(g.facts.task_groups, w.facts.task_groups) << where << " " << w.facts.id;
    EXPECT_EQ(g.facts.running_tasks_count, w.facts.running_tasks_count) << where;
    EXPECT_EQ(g.resources.cpu_remaining, w.resources.cpu_remaining) << where;
    EXPECT_EQ(g.resources.memory_remaining_mib, w.resources.memory_remaining_mib) << where;
    EXPECT_EQ(g.resources.ports_used.tcp, w.resources.ports_used.tcp) << where;
    EXPECT_EQ(g.resources.neuron.taken, w.resources.neuron.taken) << where;
    EXPECT_EQ(g.resources.gpus.taken, w.resources.gpus.taken) << where;
  }
}

void ExpectSamePlacements(const std::vector<TaskPlacement>& got,
                          const std::vector<TaskPlacement>& want, const std::string& where) {
  ASSERT_EQ(got.size(), want.size()) << where;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].instance_id, want[i].instance_id) << where << " task " << i;
    EXPECT_EQ(got[i].neuron_device_ids, want[i].neuron_device_ids) << where;
    EXPECT_EQ(got[i].gpu_ids, want[i].gpu_ids) << where;
    EXPECT_EQ(got[i].host_ports, want[i].host_ports) << where;
  }
}

struct Placed {
  PlacementRequest request;
  TaskPlacement placement;
};

// One cluster: the Placer, long-lived, against the reference over a
// snapshot kept with ApplyPlacement. Returns how many tasks were placed.
int CompareOnCluster(uint64_t seed) {
  std::mt19937_64 r(seed);
  ClusterSnapshot reference = RandomCluster(r);
  Placer placer(reference);
  std::vector<Placed> live;
  int placed = 0;
  for (int call = 0; call < 40; ++call) {
    const std::string where = "seed " + std::to_string(seed) + " call " + std::to_string(call);
    const int action = Pick(r, 0, 9);
    if (action == 0 && !live.empty()) {
      // A task stops.
      const size_t k = static_cast<size_t>(Pick(r, 0, static_cast<int>(live.size()) - 1));
      EXPECT_TRUE(placer.Release(live[k].request, live[k].placement).ok()) << where;
      ReleaseInSnapshot(reference, live[k].request, live[k].placement);
      live.erase(live.begin() + static_cast<long>(k));
      continue;
    }
    if (action == 1) {
      SnapshotInstance& s = reference.instances[Pick(r, 0, (int)reference.instances.size() - 1)];
      s.facts.running_tasks_count = Pick(r, 0, 6);
      EXPECT_TRUE(placer.SetRunningTasksCount(s.facts.id, s.facts.running_tasks_count).ok());
      continue;
    }
    if (action == 3) {
      // The instance's own facts change: an attribute (new, changed or
      // gone), its agent, its status.
      SnapshotInstance& s = reference.instances[Pick(r, 0, (int)reference.instances.size() - 1)];
      auto& attributes = s.facts.attributes;
      switch (Pick(r, 0, 4)) {
        case 0:
          attributes["ecs.availability-zone"] = kZones[Pick(r, 0, 2)];
          break;
        case 1:
          attributes.erase("ecs.availability-zone");
          break;
        case 2:
          attributes["ecs.instance-type"] = Pick(r, 0, 1) ? "g5" : "m5.large";
          break;
        case 3:
          s.facts.agent_connected = !s.facts.agent_connected;
          break;
        default:
          s.facts.status = s.facts.status == "ACTIVE" ? "DRAINING" : "ACTIVE";
          break;
      }
      EXPECT_TRUE(placer.UpdateFacts(s.facts).ok()) << where;
      continue;
    }
    if (action == 4 && Pick(r, 0, 1) == 0) {
      // An instance registers (its index makes its id new to the cluster).
      SnapshotInstance added = RandomInstance(r, static_cast<int>(reference.instances.size()));
      EXPECT_TRUE(placer.AddInstance(added).ok()) << where;
      EXPECT_EQ(placer.AddInstance(added).code(), StatusCode::kAlreadyExists) << where;
      reference.instances.push_back(std::move(added));
      continue;
    }
    const PlacementRequest request = RandomRequest(r);
    const uint64_t stream = r();
    std::mt19937_64 want_random(stream), got_random(stream);
    std::vector<TaskPlacement> want_placed, got_placed;
    if (action == 2) {
      const int size = Pick(r, 1, 3);
      std::optional<std::string> same;
      if (Pick(r, 0, 1)) same = "ecs.availability-zone";
      auto want = ReferencePlaceGang(reference, request, size, same, want_random);
      auto got = placer.PlaceGang(request, size, same, got_random);
      EXPECT_EQ(got.ok(), want.ok()) << where;
      if (!want.ok() || !got.ok()) continue;
      ExpectSamePlacements(got->ranks, want->ranks, where + " gang");
      EXPECT_EQ(got->attribute_value, want->attribute_value) << where;
      EXPECT_EQ(got->failure.has_value(), want->failure.has_value()) << where;
      if (got->failure && want->failure) {
        EXPECT_EQ(got->failure->reason, want->failure->reason) << where;
        EXPECT_EQ(got->failure->detail, want->failure->detail) << where;
      }
      want_placed = want->ranks;
    } else {
      const int count = Pick(r, 1, 4);
      auto want = ReferencePlaceTasks(reference, request, count, want_random);
      auto got = placer.PlaceTasks(request, count, got_random);
      EXPECT_EQ(got.ok(), want.ok()) << where;
      if (!want.ok() || !got.ok()) continue;
      ExpectSamePlacements(got->placements, want->placements, where);
      EXPECT_EQ(got->failures.size(), want->failures.size()) << where;
      for (size_t i = 0; i < got->failures.size() && i < want->failures.size(); ++i) {
        EXPECT_EQ(got->failures[i].reason, want->failures[i].reason) << where;
        EXPECT_EQ(got->failures[i].detail, want->failures[i].detail) << where;
      }
      want_placed = want->placements;
    }
    EXPECT_EQ(got_random(), want_random()) << where << ": the generator was drawn differently";
    for (const TaskPlacement& p : want_placed) {
      EXPECT_TRUE(ApplyPlacement(reference, request, p).ok()) << where;
      live.push_back({request, p});
      ++placed;
    }
    ExpectSameState(placer.snapshot(), reference, where);
    if (::testing::Test::HasFailure()) return placed;
  }
  // Rebuilt from scratch, a Placer decides as the incremental one does.
  Placer rebuilt(reference);
  for (int call = 0; call < 10; ++call) {
    const PlacementRequest request = RandomRequest(r);
    std::mt19937_64 a(call), b(call);
    auto x = placer.PlaceTasks(request, 2, a);
    auto y = rebuilt.PlaceTasks(request, 2, b);
    EXPECT_EQ(x.ok(), y.ok());
    if (x.ok() && y.ok()) ExpectSamePlacements(x->placements, y->placements, "rebuilt");
  }
  ExpectSameState(placer.snapshot(), rebuilt.snapshot(), "rebuilt");
  return placed;
}

TEST(PlacerTest, AnswersAsTheReferenceDoes) {
  int placed = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    placed += CompareOnCluster(seed);
    if (HasFailure()) break;
  }
  EXPECT_GT(placed, 1000);
}

TEST(PlacerTest, PlacementsAndReleasesLeaveTheStateOfAFreshSnapshot) {
  ClusterSnapshot base;
  for (int i = 0; i < 6; ++i) {
    base.instances.push_back(testing::WithAttribute(Trn1("t" + std::to_string(i)),
                                                    "ecs.availability-zone", kZones[i % 3]));
  }
  Placer placer(base);
  PlacementRequest request;
  request.cpu = 1024;
  request.memory_mib = 2048;
  request.neuron_device_count = 3;
  request.group = "family:train";
  request.strategies = {{"spread", "attribute:ecs.availability-zone"}, {"binpack", "memory"}};
  std::mt19937_64 random(5);
  auto result = placer.PlaceTasks(request, 40, random);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->placements.size(), 30u);  // 5 groups of 3 on each of 6 instances
  for (const TaskPlacement& p : result->placements) {
    ASSERT_TRUE(placer.Release(request, p).ok()) << p.instance_id;
  }
  ExpectSameState(placer.snapshot(), base, "all released");
  // And it places again as a new Placer over the original snapshot does.
  Placer fresh(base);
  std::mt19937_64 a(9), b(9);
  auto again = placer.PlaceTasks(request, 12, a);
  auto want = fresh.PlaceTasks(request, 12, b);
  ASSERT_TRUE(again.ok() && want.ok());
  ExpectSamePlacements(again->placements, want->placements, "again");
}

TEST(PlacerTest, DeviceChoiceOnMasksIsTheReferences) {
  std::mt19937_64 r(3);
  for (int round = 0; round < 3000; ++round) {
    NeuronDeviceSet devices;
    devices.count = Pick(r, 1, 20);
    const int shape = Pick(r, 0, 2);  // adjacent ids, a ring, random links
    for (int i = 0; i < devices.count && shape > 0; ++i) {
      if (shape == 1) devices.links[i] = {(i + 1) % devices.count};
      if (shape == 2) devices.links[i] = {Pick(r, 0, devices.count - 1)};
    }
    for (int i = 0; i < devices.count; ++i) {
      if (Pick(r, 0, 2) == 0) devices.taken.insert(i);
    }
    PlacementRequest request;
    request.neuron_device_count = Pick(r, 1, 8);
    if (Pick(r, 0, 3) == 0) request.exact_neuron_devices = {Pick(r, 0, devices.count)};
    std::vector<uint64_t> adjacency;
    for (const auto& links : NeuronAdjacency(devices)) {
      uint64_t mask = 0;
      for (int id : links) mask |= uint64_t{1} << id;
      adjacency.push_back(mask);
    }
    uint64_t free_mask = 0;
    for (int i = 0; i < devices.count; ++i) {
      if (!devices.taken.count(i)) free_mask |= uint64_t{1} << i;
    }
    NeuronChoice want = ChooseNeuronDevices(devices, request);
    NeuronChoice got = ChooseNeuronDevicesOnMasks(devices, adjacency, free_mask, request);
    ASSERT_EQ(got.ids, want.ids) << "round " << round;
    ASSERT_EQ(got.refusal, want.refusal) << "round " << round;
  }
}

TEST(PlacerTest, ReleaseRefusesWhatIsNotHeld) {
  Placer placer(testing::Cluster({Trn1("a")}));
  PlacementRequest request;
  request.group = "family:x";
  TaskPlacement p;
  p.instance_id = "nope";
  EXPECT_EQ(placer.Release(request, p).code(), StatusCode::kNotFound);
  p.instance_id = "a";
  EXPECT_EQ(placer.Release(request, p).code(), StatusCode::kFailedPrecondition);
  std::mt19937_64 random(1);
  request.neuron_device_count = 2;
  auto placed = placer.PlaceTasks(request, 1, random);
  ASSERT_TRUE(placed.ok());
  ASSERT_EQ(placed->placements.size(), 1u);
  TaskPlacement other = placed->placements[0];
  other.neuron_device_ids = {7};  // not the one it holds
  EXPECT_EQ(placer.Release(request, other).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(placer.Release(request, placed->placements[0]).ok());
}

}  // namespace
}  // namespace berth::scheduler
