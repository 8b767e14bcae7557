#include <gtest/gtest.h>

#include "scheduler/placement.h"
#include "scheduler/placement_testing.h"

namespace berth::scheduler {
namespace {

using testing::Cluster;
using testing::InstanceIds;
using testing::Trn1;
using testing::WithAttribute;

GangPlacement Gang(const ClusterSnapshot& snapshot, const PlacementRequest& request, int size,
                   std::optional<std::string> same_attribute = std::nullopt) {
  std::mt19937_64 random(7);
  auto gang = PlaceGang(snapshot, request, size, same_attribute, random);
  EXPECT_TRUE(gang.ok()) << gang.status().ToString();
  return gang.ok() ? *gang : GangPlacement{};
}

SnapshotInstance InZone(std::string id, const std::string& zone) {
  return WithAttribute(Trn1(std::move(id)), "ecs.availability-zone", zone);
}

PlacementRequest AllDevices() {
  PlacementRequest request;
  request.all_neuron_devices = true;
  request.group = "family:llama";
  return request;
}

TEST(PlaceGangTest, RanksOnDistinctInstances) {
  // Without distinctInstance in the request the gang still spreads: four
  // ranks, four instances, rank 0 on the first placed (lowest id here).
  PlacementRequest request;
  request.neuron_device_count = 2;
  GangPlacement gang = Gang(Cluster({Trn1("a"), Trn1("b"), Trn1("c"), Trn1("d")}), request, 4);
  ASSERT_FALSE(gang.failure) << gang.failure->detail;
  EXPECT_EQ(InstanceIds(gang.ranks), (std::vector<std::string>{"a", "b", "c", "d"}));
  for (const TaskPlacement& rank : gang.ranks) {
    EXPECT_EQ(rank.neuron_device_ids, (std::vector<int>{0, 1}));
  }
}

TEST(PlaceGangTest, AllOrNone) {
  // 3 instances for a gang of 4: nothing is placed. Each instance has room
  // for several ranks; only "one rank per instance" stops the fourth.
  PlacementRequest request;
  request.cpu = 1024;
  GangPlacement gang = Gang(Cluster({Trn1("a"), Trn1("b"), Trn1("c")}), request, 4);
  EXPECT_TRUE(gang.ranks.empty());
  ASSERT_TRUE(gang.failure);
  EXPECT_EQ(gang.failure->reason, "DISTINCT_INSTANCE");
  EXPECT_EQ(gang.failure->detail.rfind("gang of 4: placed 3, rank 3 did not fit: ", 0), 0u)
      << gang.failure->detail;
}

TEST(PlaceGangTest, SameAttributeTriesEachGroup) {
  // Zone 1a has 2 instances, 1b has 3: a gang of 3 fits only in 1b.
  const ClusterSnapshot snapshot =
      Cluster({InZone("a1", "1a"), InZone("a2", "1a"), InZone("b1", "1b"), InZone("b2", "1b"),
               InZone("b3", "1b"), Trn1("no-zone")});
  GangPlacement gang = Gang(snapshot, AllDevices(), 3, "attribute:ecs.availability-zone");
  ASSERT_FALSE(gang.failure) << gang.failure->detail;
  EXPECT_EQ(gang.attribute_value, "1b");
  EXPECT_EQ(InstanceIds(gang.ranks), (std::vector<std::string>{"b1", "b2", "b3"}));

  // A gang of 4 fits in no zone; 1b came closest with 3.
  gang = Gang(snapshot, AllDevices(), 4, "ecs.availability-zone");
  EXPECT_TRUE(gang.ranks.empty());
  ASSERT_TRUE(gang.failure);
  EXPECT_EQ(gang.failure->detail.rfind(
                "gang of 4: best group ecs.availability-zone=1b placed 3, rank 3 did not fit", 0),
            0u)
      << gang.failure->detail;
}

TEST(PlaceGangTest, NoInstanceHasTheAttribute) {
  GangPlacement gang = Gang(Cluster({Trn1("a"), Trn1("b")}), AllDevices(), 2, "rack");
  ASSERT_TRUE(gang.failure);
  EXPECT_EQ(gang.failure->reason, "ATTRIBUTE");
  EXPECT_TRUE(gang.ranks.empty());
}

TEST(PlaceGangTest, SizeBelowOneIsAnError) {
  std::mt19937_64 random(1);
  auto gang = PlaceGang(Cluster({Trn1("a")}), AllDevices(), 0, std::nullopt, random);
  EXPECT_EQ(gang.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::scheduler
