#include "scheduler/placement_devices.h"

#include <gtest/gtest.h>

#include "scheduler/placement_testing.h"

namespace berth::scheduler {
namespace {

using testing::Trn1;

std::vector<std::vector<int>> Ring(int n) {
  NeuronDeviceSet devices;
  devices.count = n;
  for (int i = 0; i < n; ++i) devices.links[i] = {(i + 1) % n};  // one way: taken both ways
  return NeuronAdjacency(devices);
}

std::set<int> Range(int from, int to) {  // [from, to)
  std::set<int> ids;
  for (int i = from; i < to; ++i) ids.insert(i);
  return ids;
}

TEST(NeuronAdjacencyTest, DefaultsToNeighbouringIndexes) {
  NeuronDeviceSet devices;
  devices.count = 4;
  EXPECT_EQ(NeuronAdjacency(devices), (std::vector<std::vector<int>>{{1}, {0, 2}, {1, 3}, {2}}));
}

TEST(NeuronAdjacencyTest, RegisteredLinksAreSymmetricAndInRange) {
  NeuronDeviceSet devices;
  devices.count = 3;
  devices.links = {{0, {2, 7, 0}}};  // 7 does not exist, 0 -> 0 is no link
  EXPECT_EQ(NeuronAdjacency(devices), (std::vector<std::vector<int>>{{2}, {}, {0}}));
}

struct ChooseCase {
  const char* name;
  std::set<int> free_ids;
  int count;
  std::vector<int> want;
};

TEST(ChooseConnectedDevicesTest, OnARingOf16) {
  const std::vector<ChooseCase> cases = {
      // Whole ring free: growing from 0 by lowest linked id gives 0..7, and
      // the rest (8..15) stays one group.
      {"half of a free ring", Range(0, 16), 8, {0, 1, 2, 3, 4, 5, 6, 7}},
      {"the other half", Range(8, 16), 8, {8, 9, 10, 11, 12, 13, 14, 15}},
      // Free: 0..7 (8) and 10..13 (4), two groups (8 and 15 are taken, so
      // neither 7-8 nor 15-0 joins them). Best fit for 4 is the group of
      // exactly 4, which leaves the 8 whole for an 8-device task.
      {"best fit group",
       [] {
         auto s = Range(0, 8);
         auto t = Range(10, 14);
         s.insert(t.begin(), t.end());
         return s;
       }(),
       4,
       {10, 11, 12, 13}},
      // Free: 14, 15, 0, 1 wrap around the ring: one group of 4.
      {"segment across the wrap", {0, 1, 14, 15}, 4, {0, 1, 14, 15}},
      // Free: 2..5 (4) and 9..11 (3); 6 wanted: no group holds 6, so the
      // largest (4) whole plus 2 of the 3, grown from 9 (9, 10: leaves 11,
      // one piece; from 10 would take 9 too).
      {"two groups when none is large enough",
       [] {
         auto s = Range(2, 6);
         auto t = Range(9, 12);
         s.insert(t.begin(), t.end());
         return s;
       }(),
       6,
       {2, 3, 4, 5, 9, 10}},
      // Free: 0..9 (10..15 taken); 3 wanted. From 0: {0,1,2}, the rest 3..9
      // is one piece; from 5 it grows 5 -> 4 -> 3 = {3,4,5}, leaving {0..2}
      // and {6..9}, two pieces. So {0,1,2}.
      {"end of a segment, not its middle", Range(0, 10), 3, {0, 1, 2}},
      {"too few free", Range(0, 3), 4, {}},
      {"zero", Range(0, 3), 0, {}},
  };
  const auto ring = Ring(16);
  for (const ChooseCase& c : cases) {
    EXPECT_EQ(ChooseConnectedDevices(ring, c.free_ids, c.count), c.want) << c.name;
  }
}

TEST(ChooseConnectedDevicesTest, TorusGivesWholeRows) {
  // trn1's 4x4 torus: device r*4+c links to its row and column neighbours,
  // wrapping. From 0 the lowest linked ids are 1, 2, 3 (row 0), then 4..7.
  NeuronDeviceSet devices;
  devices.count = 16;
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) {
      devices.links[r * 4 + c] = {r * 4 + (c + 1) % 4, ((r + 1) % 4) * 4 + c};
    }
  }
  const auto torus = NeuronAdjacency(devices);
  EXPECT_EQ(ChooseConnectedDevices(torus, Range(0, 16), 8),
            (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(CountConnectedGroups(torus, Range(8, 16)), 1);
}

TEST(CountConnectedGroupsTest, Counts) {
  const auto ring = Ring(8);
  EXPECT_EQ(CountConnectedGroups(ring, {}), 0);
  EXPECT_EQ(CountConnectedGroups(ring, {0, 7}), 1);  // linked across the wrap
  EXPECT_EQ(CountConnectedGroups(ring, {0, 2, 4}), 3);
  EXPECT_EQ(LargestConnectedGroup(ring, {0, 1, 2, 4, 5}), 3);
}

PlacementRequest Exact(std::set<int> ids) {
  PlacementRequest r;
  r.exact_neuron_devices = std::move(ids);
  return r;
}

PlacementRequest Counted(int count) {
  PlacementRequest r;
  r.neuron_device_count = count;
  return r;
}

PlacementRequest All() {
  PlacementRequest r;
  r.all_neuron_devices = true;
  return r;
}

struct NeuronCase {
  const char* name;
  std::set<int> taken;
  PlacementRequest request;
  std::vector<int> want_ids;
  std::string want_refusal;
};

TEST(ChooseNeuronDevicesTest, OnATrn1) {
  PlacementRequest exact_and_count = Exact({3});
  exact_and_count.neuron_device_count = 2;
  const std::vector<NeuronCase> cases = {
      {"nothing asked", {}, PlacementRequest{}, {}, ""},
      {"exact free", {}, Exact({3}), {3}, ""},
      {"exact taken", {3}, Exact({3}), {}, "device 3 is taken"},
      {"exact missing", {}, Exact({16}), {}, "device 16 does not exist (the instance has 16)"},
      // 3 is the exact one; the count comes from the other free ids, which
      // form one group 4..15, 0, 1, 2 (the ring cut at 3). {0, 1} would
      // leave 2 alone; {1, 2} leaves 4..15, 0 whole.
      {"exact plus count", {}, exact_and_count, {1, 2, 3}, ""},
      {"count", {0, 1}, Counted(2), {2, 3}, ""},
      {"count too large", Range(0, 10), Counted(8), {}, "needs 8 free Neuron devices, has 6"},
      {"all free",
       {},
       All(),
       std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
       ""},
      {"all with one taken", {5}, All(), {}, "needs all 16 Neuron devices free, taken: 5"},
  };
  for (const NeuronCase& c : cases) {
    SnapshotInstance trn1 = Trn1("i-1");
    trn1.resources.neuron.taken = c.taken;
    NeuronChoice choice = ChooseNeuronDevices(trn1.resources.neuron, c.request);
    EXPECT_EQ(choice.ids, c.want_ids) << c.name;
    EXPECT_EQ(choice.refusal, c.want_refusal) << c.name;
  }
}

TEST(ChooseNeuronDevicesTest, InstanceWithoutDevices) {
  NeuronDeviceSet none;
  EXPECT_EQ(ChooseNeuronDevices(none, Counted(1)).refusal, "has no Neuron devices");
  EXPECT_EQ(ChooseNeuronDevices(none, All()).refusal, "has no Neuron devices");
  EXPECT_TRUE(ChooseNeuronDevices(none, PlacementRequest{}).ok());
}

TEST(ChooseGpusTest, LowestFreeIds) {
  GpuSet gpus{{0, 1, 2, 3}, {1}};
  EXPECT_EQ(FreeGpuCount(gpus), 3);
  EXPECT_EQ(ChooseGpus(gpus, 2), (std::vector<int>{0, 2}));
  EXPECT_EQ(ChooseGpus(gpus, 4), std::vector<int>{});
  EXPECT_EQ(ChooseGpus(gpus, 0), std::vector<int>{});
}

TEST(ChooseEfaDevicesTest, ExactIdsThenTheLowestFree) {
  // A trn1.32xlarge's 8 EFA devices, 1 taken.
  EfaDeviceSet efa{{0, 1, 2, 3, 4, 5, 6, 7}, {1}};
  PlacementRequest request;
  request.exact_efa_devices = {6};
  request.efa_device_count = 2;
  EXPECT_EQ(ChooseEfaDevices(efa, request).ids, (std::vector<int>{0, 2, 6}));

  request.exact_efa_devices = {1};
  EXPECT_EQ(ChooseEfaDevices(efa, request).refusal, "EFA device 1 is taken");
  request.exact_efa_devices = {8};
  EXPECT_EQ(ChooseEfaDevices(efa, request).refusal,
            "EFA device 8 does not exist (the instance has 0, 1, 2, 3, 4, 5, 6, 7)");
  request.exact_efa_devices = {0};
  request.efa_device_count = 7;  // 6 free besides 0 and the taken 1
  EXPECT_EQ(ChooseEfaDevices(efa, request).refusal, "needs 7 free EFA devices, has 6");
  EXPECT_TRUE(ChooseEfaDevices(efa, request).ids.empty());
}

TEST(ChooseEfaDevicesTest, AllNeedsEveryOneFree) {
  PlacementRequest all;
  all.all_efa_devices = true;
  EXPECT_EQ(ChooseEfaDevices(EfaDeviceSet{{0, 1, 2, 3}, {}}, all).ids,
            (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(ChooseEfaDevices(EfaDeviceSet{{0, 1, 2, 3}, {2, 3}}, all).refusal,
            "needs all 4 EFA devices free, taken: 2, 3");
  EXPECT_EQ(ChooseEfaDevices(EfaDeviceSet{}, all).refusal, "has no EFA devices");
  EXPECT_TRUE(ChooseEfaDevices(EfaDeviceSet{}, PlacementRequest{}).ok());
  EXPECT_FALSE(WantsEfaDevices(PlacementRequest{}));
  EXPECT_TRUE(WantsEfaDevices(all));
}

}  // namespace
}  // namespace berth::scheduler
