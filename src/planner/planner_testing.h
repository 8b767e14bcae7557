// A harness for planner tests: an in-memory cluster (the scheduler's test
// builders), task definitions and RunTask requests written as JSON text, and
// every plan it made recorded, so that a placement test is a few lines:
//
//   PlannerHarness h({testing::Trn1("i-1"), testing::Trn1("i-2")});
//   Plan plan = h.Plan(R"({"family": "t", "containerDefinitions": [...]})",
//                      R"({"count": 2})").value();
//   EXPECT_EQ(h.plans().size(), 1);
//
// Plans are made on one long-lived Placer, as the server makes them, so a
// second plan sees what the first reserved. Not thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <deque>
#include <random>
#include <string_view>
#include <vector>

#include "planner/planner.h"
#include "scheduler/placement_testing.h"

namespace berth::planner::testing {

using scheduler::testing::Cluster;
using scheduler::testing::Instance;
using scheduler::testing::Trn1;
using scheduler::testing::WithAttribute;

class PlannerHarness {
 public:
  explicit PlannerHarness(std::vector<scheduler::SnapshotInstance> instances)
      : cluster_(Cluster(std::move(instances))) {}

  // Plans `run_task` (RunTask's members as JSON) of `task_definition` (a
  // TaskDefinition as JSON); a successful plan is recorded and stays
  // reserved.
  StatusOr<planner::Plan> Plan(std::string_view task_definition, std::string_view run_task = "{}") {
    // The request points into these: keep them as long as the plans.
    const auto& td = definitions_.emplace_back(boost::json::parse(task_definition).as_object());
    const auto& in = requests_.emplace_back(boost::json::parse(run_task).as_object());
    StatusOr<TaskRequest> request = ParseTaskRequest(in, td);
    if (!request.ok()) return request.status();
    StatusOr<planner::Plan> plan = PlanTasks(cluster_, *request, random_);
    if (plan.ok()) plans_.push_back(*plan);
    return plan;
  }

  const std::vector<planner::Plan>& plans() const { return plans_; }
  scheduler::Placer& cluster() { return cluster_; }

 private:
  scheduler::Placer cluster_;
  std::mt19937_64 random_{1};
  std::deque<boost::json::object> definitions_, requests_;
  std::vector<planner::Plan> plans_;
};

// The instance ids of a plan's tasks, in placement order.
inline std::vector<std::string> InstanceIds(const planner::Plan& plan) {
  std::vector<std::string> ids;
  for (const PlannedTask& task : plan.tasks) ids.push_back(task.placement.instance_id);
  return ids;
}

}  // namespace berth::planner::testing
