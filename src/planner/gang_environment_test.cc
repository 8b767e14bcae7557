#include "planner/gang_environment.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>

#include "planner/planner.h"
#include "planner/planner_testing.h"
#include "planner/task_placement.h"

namespace berth::planner {
namespace {

namespace json = boost::json;

using testing::Instance;
using testing::PlannerHarness;
using testing::WithAttribute;

constexpr std::string_view kTrain = R"({"family": "train", "networkMode": "host",
  "containerDefinitions": [{"name": "t", "cpu": 1024, "memory": 1024}]})";

// A gang's ranks go to instances that run no task of its group (the
// family, unless RunTask names one), so each gang here has a group of its
// own: two gangs of one family never share an instance.
std::string GangOf(int count, std::string_view name = "g") {
  return R"({"count": )" + std::to_string(count) + R"(, "group": ")" + std::string(name) +
         R"(", "tags": [{"key": "berth:gang", "value": ")" + std::string(name) + R"("}]})";
}

std::map<std::string, std::string> AsMap(const Environment& env) {
  return std::map<std::string, std::string>(env.begin(), env.end());
}

std::vector<int> TcpPorts(const scheduler::TaskPlacement& placement) {
  std::vector<int> ports;
  for (const auto& p : placement.host_ports) ports.push_back(p.port);
  return ports;
}

TEST(GangEnvironment, NamesEveryRankItsPlaceInTheGang) {
  GangRendezvous rendezvous{{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, 29500, 29501};
  Environment env = GangEnvironment({"llama", 1, 3, 2}, rendezvous);
  std::map<std::string, std::string> want{
      {"RANK", "1"},
      {"WORLD_SIZE", "3"},
      {"NODE_RANK", "1"},
      {"MASTER_ADDR", "10.0.0.1"},  // rank 0's node
      {"MASTER_PORT", "29500"},
      {"BERTH_GANG", "llama"},
      {"BERTH_GANG_RANK", "1"},
      {"BERTH_GANG_SIZE", "3"},
      {"BERTH_GANG_ATTEMPT", "2"},
      {"BERTH_GANG_HOSTS", "10.0.0.1,10.0.0.2,10.0.0.3"},
      {"NEURON_RT_ROOT_COMM_ID", "10.0.0.1:29501"},
  };
  EXPECT_EQ(AsMap(env), want);
  EXPECT_EQ(env.size(), want.size());  // each once
  EXPECT_EQ(env.front().first, "RANK");
}

TEST(GangEnvironment, LeavesOutWhatNeedsAnAddressNoOneRegistered) {
  // Rank 1's instance has no berth.address: no host list.
  Environment env = GangEnvironment({"g", 0, 2, 0}, {{"10.0.0.1", ""}, 29502, 29503});
  auto vars = AsMap(env);
  EXPECT_EQ(vars.at("MASTER_ADDR"), "10.0.0.1");
  EXPECT_EQ(vars.at("NEURON_RT_ROOT_COMM_ID"), "10.0.0.1:29503");
  EXPECT_FALSE(vars.contains("BERTH_GANG_HOSTS"));
  // Rank 0's has none: no master address, nor the Neuron root built on it.
  vars = AsMap(GangEnvironment({"g", 1, 2, 0}, {{"", "10.0.0.2"}, 29500, 29501}));
  EXPECT_FALSE(vars.contains("MASTER_ADDR"));
  EXPECT_FALSE(vars.contains("NEURON_RT_ROOT_COMM_ID"));
  EXPECT_FALSE(vars.contains("BERTH_GANG_HOSTS"));
  EXPECT_EQ(vars.at("MASTER_PORT"), "29500");
  EXPECT_EQ(vars.at("RANK"), "1");
  EXPECT_EQ(vars.at("BERTH_GANG_ATTEMPT"), "0");
}

TEST(GangEnvironment, AnIpv6MasterIsBracketedInTheNeuronRoot) {
  auto vars = AsMap(GangEnvironment({"g", 0, 1, 0}, {{"fd00::5"}, 29500, 29501}));
  EXPECT_EQ(vars.at("MASTER_ADDR"), "fd00::5");  // as torch reads it
  EXPECT_EQ(vars.at("NEURON_RT_ROOT_COMM_ID"), "[fd00::5]:29501");
  EXPECT_EQ(vars.at("BERTH_GANG_HOSTS"), "fd00::5");
}

TEST(AddDefaultEnvironment, AValueSetExplicitlyWins) {
  json::object td = json::parse(R"({"containerDefinitions": [
      {"name": "a", "environment": [{"name": "RANK", "value": "from-definition"}]},
      {"name": "b"},
      {"name": "c"}]})")
                        .as_object();
  json::object overrides = json::parse(R"({"containerOverrides": [
      {"name": "b", "environment": [{"name": "WORLD_SIZE", "value": "from-user"}]},
      {"name": "b", "command": ["x"]}]})")
                               .as_object();
  AddDefaultEnvironment(overrides, td, {{"RANK", "0"}, {"WORLD_SIZE", "2"}});
  EXPECT_EQ(json::serialize(overrides), json::serialize(json::parse(R"({"containerOverrides": [
      {"name": "b", "environment": [{"name": "WORLD_SIZE", "value": "from-user"},
                                    {"name": "RANK", "value": "0"}]},
      {"name": "b", "command": ["x"], "environment": [{"name": "RANK", "value": "0"}]},
      {"name": "a", "environment": [{"name": "WORLD_SIZE", "value": "2"}]},
      {"name": "c", "environment": [{"name": "RANK", "value": "0"}, {"name": "WORLD_SIZE", "value": "2"}]}
    ]})")));

  // Nothing to add where every name is set; an empty overrides object gains
  // the list.
  json::object none;
  AddDefaultEnvironment(none, td, {{"RANK", "0"}});
  EXPECT_EQ(json::serialize(none), json::serialize(json::parse(R"({"containerOverrides": [
      {"name": "b", "environment": [{"name": "RANK", "value": "0"}]},
      {"name": "c", "environment": [{"name": "RANK", "value": "0"}]}]})")));
}

TEST(ReserveRendezvous, RankZeroHoldsTwoPortsAndEveryRankItsAddress) {
  PlannerHarness h({WithAttribute(Instance("i-1"), std::string(kAddressAttribute), "10.0.0.1"),
                    WithAttribute(Instance("i-2"), std::string(kAddressAttribute), "10.0.0.2")});
  Plan plan = h.Plan(kTrain, GangOf(2)).value();
  ASSERT_EQ(plan.tasks.size(), 2u);
  ASSERT_TRUE(plan.gang_rendezvous);
  const GangRendezvous& r = *plan.gang_rendezvous;
  EXPECT_EQ(r.master_port, 29500);
  EXPECT_EQ(r.neuron_comm_port, 29501);
  const std::string first = plan.tasks[0].placement.instance_id;
  const std::string second = plan.tasks[1].placement.instance_id;
  EXPECT_EQ(r.addresses, (std::vector<std::string>{first == "i-1" ? "10.0.0.1" : "10.0.0.2",
                                                   second == "i-1" ? "10.0.0.1" : "10.0.0.2"}));
  // Rank 0's task holds them as host ports, reserved in the Placer and in
  // the reservation its record keeps; the other ranks hold none.
  EXPECT_EQ(TcpPorts(plan.tasks[0].placement), (std::vector<int>{29500, 29501}));
  EXPECT_TRUE(plan.tasks[1].placement.host_ports.empty());
  EXPECT_EQ(h.cluster().Find(first)->resources.ports_used.tcp, (std::set<int>{29500, 29501}));
  EXPECT_TRUE(h.cluster().Find(second)->resources.ports_used.tcp.empty());
  StatusOr<TaskRequest> request =
      ParseTaskRequest(json::parse(GangOf(2)).as_object(), json::parse(kTrain).as_object());
  json::object record{
      {kReservationKey, ReservationRecord(request->placement, plan.tasks[0].placement)}};
  EXPECT_EQ(json::serialize(record.at(kReservationKey).at("tcp")), "[29500,29501]");
}

TEST(ReserveRendezvous, TwoGangsOnOneNodeNeverShareAPort) {
  PlannerHarness h({Instance("i-1")});
  Plan first = h.Plan(kTrain, GangOf(1, "a")).value();
  Plan second = h.Plan(kTrain, GangOf(1, "b")).value();
  ASSERT_TRUE(first.gang_rendezvous && second.gang_rendezvous);
  EXPECT_EQ(first.gang_rendezvous->master_port, 29500);
  EXPECT_EQ(second.gang_rendezvous->master_port, 29502);
  EXPECT_EQ(second.gang_rendezvous->neuron_comm_port, 29503);
  // No address registered: none to tell.
  EXPECT_EQ(second.gang_rendezvous->addresses, std::vector<std::string>{""});

  // The first gang's task stops: its ports are free for the next.
  StatusOr<TaskRequest> request =
      ParseTaskRequest(json::parse(GangOf(1, "a")).as_object(), json::parse(kTrain).as_object());
  ReleasePlan(h.cluster(), *request, first);
  Plan third = h.Plan(kTrain, GangOf(1, "c")).value();
  EXPECT_EQ(third.gang_rendezvous->master_port, 29500);
  EXPECT_EQ(third.gang_rendezvous->neuron_comm_port, 29501);
}

TEST(ReserveRendezvous, SkipsPortsInUseOrReserved) {
  scheduler::SnapshotInstance instance = Instance("i-1");
  instance.resources.ports_reserved.tcp = {29500};
  instance.resources.ports_used.tcp = {29501, 29503};
  instance.resources.ports_used.udp = {29502};  // another protocol: no conflict
  PlannerHarness h({instance});
  Plan plan = h.Plan(kTrain, GangOf(1)).value();
  ASSERT_TRUE(plan.gang_rendezvous);
  EXPECT_EQ(plan.gang_rendezvous->master_port, 29502);
  EXPECT_EQ(plan.gang_rendezvous->neuron_comm_port, 29504);
}

TEST(ReserveRendezvous, AFullRangeRefusesTheGangAndReservesNothing) {
  scheduler::SnapshotInstance instance = Instance("i-1");
  for (int port = kRendezvousPortFirst; port < kRendezvousPortLast; ++port) {
    instance.resources.ports_reserved.tcp.insert(port);  // 29999 alone is free
  }
  PlannerHarness h({instance, Instance("i-2")});
  // Every gang whose rank 0 lands on i-1 fails; spread puts rank 0 on i-1
  // (the lowest id among equals).
  Plan plan = h.Plan(kTrain, GangOf(2)).value();
  EXPECT_TRUE(plan.tasks.empty());
  ASSERT_EQ(plan.failures.size(), 2u);
  for (const auto& f : plan.failures) {
    EXPECT_EQ(f.reason, "RESOURCE:PORTS");
    EXPECT_EQ(f.detail,
              "gang g: rank 0's container instance i-1 has 1 free TCP port(s) in 29500-29999, the "
              "gang's rendezvous needs 2 (MASTER_PORT, NEURON_RT_ROOT_COMM_ID)");
  }
  EXPECT_FALSE(plan.gang_rendezvous);
  for (const char* id : {"i-1", "i-2"}) {
    const scheduler::InstanceResources& r = h.cluster().Find(id)->resources;
    EXPECT_EQ(r.cpu_remaining, r.cpu_registered) << id;
    EXPECT_TRUE(r.ports_used.tcp.empty()) << id;
    EXPECT_TRUE(h.cluster().Find(id)->facts.task_groups.empty()) << id;
  }
  // A task that is no gang needs no rendezvous.
  EXPECT_EQ(h.Plan(kTrain, R"({"count": 2})")->tasks.size(), 2u);
}

}  // namespace
}  // namespace berth::planner
