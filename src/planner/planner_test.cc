#include "planner/planner.h"

#include <gtest/gtest.h>

#include "planner/planner_testing.h"

namespace berth::planner {
namespace {

using testing::Instance;
using testing::InstanceIds;
using testing::PlannerHarness;
using testing::Trn1;
using testing::WithAttribute;

// One container mapping /dev/neuron0 exactly, one asking for 2 more by count.
constexpr std::string_view kTwoContainers = R"({
  "family": "train",
  "containerDefinitions": [
    {"name": "a", "cpu": 1024, "memory": 1024,
     "linuxParameters": {"devices": [{"hostPath": "/dev/neuron0"}]}},
    {"name": "b", "cpu": 1024, "memory": 1024,
     "resourceRequirements": [{"type": "NeuronDevice", "value": "2"}]}]})";

constexpr std::string_view kSmall = R"({"family": "web",
  "containerDefinitions": [{"name": "w", "cpu": 1024, "memory": 1024}]})";

TEST(Planner, DealsDevicesToTheContainersThatAskedForThem) {
  PlannerHarness h({Trn1("i-1")});
  Plan plan = h.Plan(kTwoContainers).value();
  ASSERT_EQ(plan.tasks.size(), 1u);
  const PlannedTask& task = plan.tasks[0];
  EXPECT_EQ(task.placement.instance_id, "i-1");
  // 0 mapped, plus 2 connected ones: 0's ring neighbours come first.
  EXPECT_EQ(task.placement.neuron_device_ids.size(), 3u);
  ASSERT_EQ(task.containers.size(), 2u);
  EXPECT_EQ(task.containers[0].neuron_device_ids, std::vector<int>{0});
  EXPECT_EQ(task.containers[1].neuron_device_ids.size(), 2u);
  for (int id : task.containers[1].neuron_device_ids) EXPECT_NE(id, 0);
}

TEST(Planner, OverridesChangeWhatAContainerIsGiven) {
  PlannerHarness h({Trn1("i-1")});
  Plan plan = h.Plan(kTwoContainers, R"({"overrides": {"containerOverrides": [
      {"name": "b", "resourceRequirements": [{"type": "NeuronDevice", "value": "ALL"}]}]}})")
                  .value();
  ASSERT_EQ(plan.tasks.size(), 1u);
  EXPECT_EQ(plan.tasks[0].containers[0].neuron_device_ids, std::vector<int>{0});
  EXPECT_EQ(plan.tasks[0].containers[1].neuron_device_ids.size(), 15u);  // 16 less a's
}

// A rank of multi-node training: the trainer maps EFA device 7 and asks for
// 2 more, a sidecar asks for ALL the rest.
constexpr std::string_view kEfaContainers = R"({
  "family": "train",
  "containerDefinitions": [
    {"name": "trainer", "cpu": 1024, "memory": 1024,
     "linuxParameters": {"devices": [{"hostPath": "/dev/infiniband/uverbs7"}]},
     "resourceRequirements": [{"type": "EFA", "value": "2"}]},
    {"name": "sidecar", "cpu": 1024, "memory": 1024,
     "resourceRequirements": [{"type": "EFA", "value": "1"}]}]})";

TEST(Planner, DealsEfaDevicesToTheContainersThatAskedForThem) {
  scheduler::SnapshotInstance efa = Trn1("i-1");
  efa.resources.efa.ids = {0, 1, 2, 3, 4, 5, 6, 7};
  PlannerHarness h({efa});
  Plan plan = h.Plan(kEfaContainers).value();
  ASSERT_EQ(plan.tasks.size(), 1u);
  EXPECT_EQ(plan.tasks[0].placement.efa_device_ids, (std::vector<int>{0, 1, 2, 7}));
  EXPECT_EQ(plan.tasks[0].containers[0].efa_device_ids, (std::vector<int>{0, 1, 7}));
  EXPECT_EQ(plan.tasks[0].containers[1].efa_device_ids, std::vector<int>{2});
  // The next task of the same definition needs 7 again: taken.
  Plan second = h.Plan(kEfaContainers).value();
  EXPECT_TRUE(second.tasks.empty());
  ASSERT_EQ(second.failures.size(), 1u);
  EXPECT_EQ(second.failures[0].reason, "RESOURCE:EFA");
}

TEST(Planner, PlansSeeWhatEarlierPlansReservedUntilReleased) {
  PlannerHarness h({Instance("i-1", 2048, 4096)});
  EXPECT_EQ(h.Plan(kSmall, R"({"count": 2})")->tasks.size(), 2u);  // 2 x 1024 of 2048
  Plan full = h.Plan(kSmall).value();
  EXPECT_TRUE(full.tasks.empty());
  ASSERT_EQ(full.failures.size(), 1u);
  EXPECT_EQ(full.failures[0].reason, "RESOURCE:CPU");

  StatusOr<TaskRequest> request =
      ParseTaskRequest(boost::json::object(), boost::json::parse(kSmall).as_object());
  ASSERT_TRUE(request.ok());
  ReleasePlan(h.cluster(), *request, h.plans()[0]);
  EXPECT_EQ(h.Plan(kSmall, R"({"count": 2})")->tasks.size(), 2u);
}

TEST(Planner, GangFailsEveryRankWithTheGangsReason) {
  PlannerHarness h({Trn1("i-1"), Trn1("i-2")});
  Plan plan =
      h.Plan(kSmall, R"({"count": 3, "tags": [{"key": "berth:gang", "value": "g"}]})").value();
  EXPECT_TRUE(plan.tasks.empty());  // 3 ranks need 3 distinct instances
  ASSERT_EQ(plan.failures.size(), 3u);
  for (const auto& f : plan.failures) EXPECT_EQ(f.detail.rfind("gang g: ", 0), 0u) << f.detail;
}

TEST(Planner, GangRanksShareTheAttributeValue) {
  PlannerHarness h({WithAttribute(Trn1("a1"), "ecs.availability-zone", "a"),
                    WithAttribute(Trn1("b1"), "ecs.availability-zone", "b"),
                    WithAttribute(Trn1("b2"), "ecs.availability-zone", "b")});
  Plan plan = h.Plan(kSmall, R"({"count": 2, "tags": [
      {"key": "berth:gang", "value": "g"},
      {"key": "berth:gang-same-attribute", "value": "ecs.availability-zone"}]})")
                  .value();
  EXPECT_EQ(plan.gang_attribute_value, "b");  // zone a has one instance
  EXPECT_EQ(InstanceIds(plan), (std::vector<std::string>{"b1", "b2"}));
}

TEST(Planner, RefusesBadRequestsAndReservesNothing) {
  PlannerHarness h({Instance("i-1", 1024, 4096)});
  EXPECT_EQ(h.Plan(kSmall, R"({"count": 11})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      h.Plan(kSmall, R"({"overrides": {"containerOverrides": [{"name": "x"}]}})").status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(h.Plan(kSmall, R"({"placementConstraints": [
      {"type": "memberOf", "expression": "attribute:ecs.instance-type =="}]})")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(h.plans().empty());
  EXPECT_EQ(h.Plan(kSmall)->tasks.size(), 1u);  // the one task still fits
}

TEST(Planner, GroupDefaultsToTheFamily) {
  StatusOr<TaskRequest> request =
      ParseTaskRequest(boost::json::object(), boost::json::parse(kSmall).as_object());
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->placement.group, "family:web");
}

}  // namespace
}  // namespace berth::planner
