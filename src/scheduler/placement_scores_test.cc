#include "scheduler/placement_scores.h"

#include <gtest/gtest.h>

#include "scheduler/placement_testing.h"

namespace berth::scheduler {
namespace {

using testing::Cluster;
using testing::Instance;
using testing::WithAttribute;

SnapshotInstance WithTasks(SnapshotInstance instance, std::vector<std::string> groups) {
  instance.facts.task_groups = std::move(groups);
  return instance;
}

std::vector<const SnapshotInstance*> All(const ClusterSnapshot& snapshot) {
  std::vector<const SnapshotInstance*> all;
  for (const auto& i : snapshot.instances) all.push_back(&i);
  return all;
}

struct KeysCase {
  const char* name;
  PlacementStrategy strategy;
  std::vector<int64_t> want;  // for instances a, b, c, d in that order
};

TEST(StrategyScorerTest, Keys) {
  // a: 1024 cpu, 2048 MiB, zone 1a, tasks {g, g, other}
  // b: 2048 cpu, 1024 MiB, zone 1a, tasks {g}
  // c: 3072 cpu, 4096 MiB, zone 1b, no tasks
  // d: 4096 cpu,  512 MiB, no zone, tasks {other}
  const ClusterSnapshot snapshot = Cluster({
      WithTasks(WithAttribute(Instance("a", 1024, 2048), "ecs.availability-zone", "1a"),
                {"g", "g", "other"}),
      WithTasks(WithAttribute(Instance("b", 2048, 1024), "ecs.availability-zone", "1a"), {"g"}),
      WithAttribute(Instance("c", 3072, 4096), "ecs.availability-zone", "1b"),
      WithTasks(Instance("d", 4096, 512), {"other"}),
  });
  const std::vector<KeysCase> cases = {
      {"binpack cpu: remaining cpu", {"binpack", "cpu"}, {1024, 2048, 3072, 4096}},
      {"binpack MEMORY: remaining memory", {"binpack", "MEMORY"}, {2048, 1024, 4096, 512}},
      // Tasks of group g on each instance: a 2, b 1, c 0, d 0.
      {"spread instanceId", {"spread", "instanceId"}, {2, 1, 0, 0}},
      {"spread host", {"spread", "host"}, {2, 1, 0, 0}},
      // Zone 1a holds 2 + 1 = 3 tasks of g, 1b none, "no zone" (d) none.
      {"spread zone", {"spread", "attribute:ecs.availability-zone"}, {3, 3, 0, 0}},
  };
  PlacementRequest request;
  request.group = "g";
  std::mt19937_64 random(1);
  for (const KeysCase& c : cases) {
    auto scorer = MakeStrategyScorer(c.strategy);
    ASSERT_TRUE(scorer.ok()) << c.name << ": " << scorer.status().ToString();
    ScoreContext context{snapshot, request, random};
    EXPECT_EQ((*scorer)->Keys(All(snapshot), context), c.want) << c.name;
  }
}

TEST(StrategyScorerTest, SpreadWithoutGroupCountsEveryTask) {
  const ClusterSnapshot snapshot =
      Cluster({WithTasks(Instance("a"), {"x", "y"}), WithTasks(Instance("b"), {"z"})});
  PlacementRequest request;  // group ""
  std::mt19937_64 random(1);
  ScoreContext context{snapshot, request, random};
  auto scorer = MakeStrategyScorer({"spread", "instanceId"});
  ASSERT_TRUE(scorer.ok());
  EXPECT_EQ((*scorer)->Keys(All(snapshot), context), (std::vector<int64_t>{2, 1}));
}

TEST(StrategyScorerTest, RandomIsTheSeededSequence) {
  const ClusterSnapshot snapshot = Cluster({Instance("a"), Instance("b")});
  PlacementRequest request;
  std::mt19937_64 random(42);
  std::mt19937_64 expected(42);
  ScoreContext context{snapshot, request, random};
  auto scorer = MakeStrategyScorer({"random", ""});
  ASSERT_TRUE(scorer.ok());
  const int64_t first = static_cast<int64_t>(expected() >> 1);
  const int64_t second = static_cast<int64_t>(expected() >> 1);
  EXPECT_EQ((*scorer)->Keys(All(snapshot), context), (std::vector<int64_t>{first, second}));
}

TEST(StrategyScorerTest, RefusesUnknownStrategies) {
  const std::vector<std::pair<PlacementStrategy, std::string>> cases = {
      {{"binpack", "disk"}, "binpack field must be cpu or memory, got 'disk'"},
      {{"spread", "zone"}, "spread field must be instanceId, host or attribute:<name>, got 'zone'"},
      {{"spread", "attribute:"},
       "spread field must be instanceId, host or attribute:<name>, got "
       "'attribute:'"},
      {{"pack", "cpu"}, "type must be binpack, spread or random, got 'pack'"},
  };
  for (const auto& [strategy, message] : cases) {
    auto scorer = MakeStrategyScorer(strategy);
    ASSERT_FALSE(scorer.ok()) << message;
    EXPECT_EQ(scorer.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(scorer.status().message(), message);
  }
}

TEST(RankCandidatesTest, ChainsKeysThenInstanceId) {
  // spread(attribute:z): zone 1a holds 1 task of g (on b), 1b none, so c
  // and d (key 0) come before a and b (key 1). binpack(cpu) within each:
  // d (1024 left) before c (2048); b (1024) before a (3072).
  const ClusterSnapshot snapshot = Cluster({
      WithAttribute(Instance("a", 3072), "z", "1a"),
      WithTasks(WithAttribute(Instance("b", 1024), "z", "1a"), {"g"}),
      WithAttribute(Instance("c", 2048), "z", "1b"),
      WithAttribute(Instance("d", 1024), "z", "1b"),
  });
  PlacementRequest request;
  request.group = "g";
  ScorerList scorers;
  scorers.push_back(std::move(MakeStrategyScorer({"spread", "attribute:z"})).value());
  scorers.push_back(std::move(MakeStrategyScorer({"binpack", "cpu"})).value());
  std::mt19937_64 random(1);
  ScoreContext context{snapshot, request, random};
  std::vector<std::string> order;
  for (const auto* i : RankCandidates(All(snapshot), scorers, context))
    order.push_back(i->facts.id);
  EXPECT_EQ(order, (std::vector<std::string>{"d", "c", "b", "a"}));
}

}  // namespace
}  // namespace berth::scheduler
