#include "scheduler/placement_filters.h"

#include <gtest/gtest.h>

#include <functional>

#include "scheduler/placement_testing.h"

namespace berth::scheduler {
namespace {

using testing::Instance;
using testing::Trn1;

const PlacementFilter& Filter(std::string_view name) {
  for (const PlacementFilter* f : PlacementFilters()) {
    if (f->name() == name) return *f;
  }
  ADD_FAILURE() << "no filter " << name;
  return *PlacementFilters().front();
}

TEST(PlacementFiltersTest, RegistryOrder) {
  std::vector<std::string> names;
  for (const PlacementFilter* f : PlacementFilters()) names.emplace_back(f->name());
  EXPECT_EQ(names, (std::vector<std::string>{"agent", "cpu", "memory", "ports", "gpu", "neuron",
                                             "efa", "memberOf", "distinctInstance"}));
}

struct FilterCase {
  const char* name;
  std::string_view filter;
  std::function<void(SnapshotInstance&)> instance;  // changes to a fresh trn1 "i-1"
  std::function<void(PlacementRequest&)> request;   // changes to an empty request
  std::optional<std::string> want;                  // nullopt: the instance passes
  std::set<std::string> in_call = {};
};

TEST(PlacementFiltersTest, Table) {
  auto none_i = [](SnapshotInstance&) {};
  auto none_r = [](PlacementRequest&) {};
  const std::vector<FilterCase> cases = {
      {"active and connected", "agent", none_i, none_r, std::nullopt},
      {"disconnected", "agent", [](auto& i) { i.facts.agent_connected = false; }, none_r,
       "agent is disconnected"},
      {"draining", "agent", [](auto& i) { i.facts.status = "DRAINING"; }, none_r, "is DRAINING"},
      // 131072 units registered, 131072 - 1024 = 130048 remain after another task.
      {"cpu fits exactly", "cpu", [](auto& i) { i.resources.cpu_remaining = 1024; },
       [](auto& r) { r.cpu = 1024; }, std::nullopt},
      {"cpu one unit short", "cpu", [](auto& i) { i.resources.cpu_remaining = 1023; },
       [](auto& r) { r.cpu = 1024; }, "needs 1024 CPU units, has 1023"},
      {"memory short", "memory", [](auto& i) { i.resources.memory_remaining_mib = 256; },
       [](auto& r) { r.memory_mib = 512; }, "needs 512 MiB of memory, has 256"},
      {"tcp port in use", "ports", [](auto& i) { i.resources.ports_used.tcp = {8080}; },
       [](auto& r) {
         r.host_ports = {{8080, PortProtocol::kTcp}};
       },
       "host port 8080/tcp is in use"},
      {"same port, other protocol", "ports", [](auto& i) { i.resources.ports_used.tcp = {53}; },
       [](auto& r) {
         r.host_ports = {{53, PortProtocol::kUdp}};
       },
       std::nullopt},
      {"reserved port", "ports", [](auto& i) { i.resources.ports_reserved.tcp = {22}; },
       [](auto& r) {
         r.host_ports = {{22, PortProtocol::kTcp}};
       },
       "host port 22/tcp is reserved"},
      // 4 GPUs, 1 taken: 3 free.
      {"gpus short", "gpu",
       [](auto& i) {
         i.resources.gpus = {{0, 1, 2, 3}, {2}};
       },
       [](auto& r) { r.gpu_count = 4; }, "needs 4 free GPUs, has 3"},
      {"gpus fit", "gpu",
       [](auto& i) {
         i.resources.gpus = {{0, 1, 2, 3}, {2}};
       },
       [](auto& r) { r.gpu_count = 3; }, std::nullopt},
      {"no gpus asked", "gpu", none_i, none_r, std::nullopt},
      {"neuron device taken", "neuron", [](auto& i) { i.resources.neuron.taken = {3}; },
       [](auto& r) { r.exact_neuron_devices = {3}; }, "device 3 is taken"},
      // 16 devices, 10 taken: 6 free.
      {"neuron count short", "neuron",
       [](auto& i) { i.resources.neuron.taken = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; },
       [](auto& r) { r.neuron_device_count = 8; }, "needs 8 free Neuron devices, has 6"},
      // 8 EFA devices (a trn1.32xlarge's), 0 and 5 taken: 6 free.
      {"efa device taken", "efa",
       [](auto& i) {
         i.resources.efa = {{0, 1, 2, 3, 4, 5, 6, 7}, {0, 5}};
       },
       [](auto& r) { r.exact_efa_devices = {5}; }, "EFA device 5 is taken"},
      {"efa count short", "efa",
       [](auto& i) {
         i.resources.efa = {{0, 1, 2, 3, 4, 5, 6, 7}, {0, 5}};
       },
       [](auto& r) { r.efa_device_count = 7; }, "needs 7 free EFA devices, has 6"},
      {"efa count fits", "efa",
       [](auto& i) {
         i.resources.efa = {{0, 1, 2, 3, 4, 5, 6, 7}, {0, 5}};
       },
       [](auto& r) { r.efa_device_count = 6; }, std::nullopt},
      {"efa all, one taken", "efa",
       [](auto& i) {
         i.resources.efa = {{0, 1, 2, 3, 4, 5, 6, 7}, {5}};
       },
       [](auto& r) { r.all_efa_devices = true; }, "needs all 8 EFA devices free, taken: 5"},
      {"no efa devices", "efa", none_i, [](auto& r) { r.efa_device_count = 1; },
       "has no EFA devices"},
      {"no efa asked", "efa", none_i, none_r, std::nullopt},
      {"distinct: this call used it",
       "distinctInstance",
       none_i,
       [](auto& r) {
         r.constraints = {{"distinctInstance", ""}};
       },
       "already has a task of this call",
       {"i-1"}},
      {"distinct: group already there", "distinctInstance",
       [](auto& i) { i.facts.task_groups = {"family:train"}; },
       [](auto& r) {
         r.constraints = {{"distinctInstance", ""}};
         r.group = "family:train";
       },
       "already runs a task of family:train"},
      {"no distinct constraint", "distinctInstance", none_i, none_r, std::nullopt, {"i-1"}},
  };
  for (const FilterCase& c : cases) {
    SnapshotInstance instance = Trn1("i-1");
    c.instance(instance);
    PlacementRequest request;
    c.request(request);
    auto compiled = CompileRequest(request);
    ASSERT_TRUE(compiled.ok()) << c.name;
    FilterContext context{*compiled};
    const InstanceView view(instance, c.in_call.count(instance.facts.id) > 0);
    EXPECT_EQ(Filter(c.filter).Check(view, context), c.want) << c.name;
    // A filter an engine skips for the request must admit every instance.
    if (!Filter(c.filter).AppliesTo(*compiled)) {
      EXPECT_EQ(c.want, std::nullopt) << c.name;
    }
    // A filter whose Need is exact admits exactly the instances that offer it.
    if (Filter(c.filter).NeedIsExact()) {
      Capacity need;
      Filter(c.filter).Need(request, need);
      EXPECT_EQ(view.capacity().Covers(need), !c.want.has_value()) << c.name;
    }
  }
}

TEST(PlacementFiltersTest, MemberOfUsesTheQuery) {
  PlacementRequest request;
  request.constraints = {{"memberOf", "attribute:ecs.instance-type == trn1.32xlarge"}};
  auto compiled = CompileRequest(request);
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  FilterContext context{*compiled};
  const SnapshotInstance trn1 = Trn1("i-1");
  const SnapshotInstance other = Instance("i-2");
  EXPECT_EQ(Filter("memberOf").Check(InstanceView(trn1, false), context), std::nullopt);
  EXPECT_EQ(Filter("memberOf").Check(InstanceView(other, false), context),
            "does not match memberOf(attribute:ecs.instance-type == trn1.32xlarge)");
}

}  // namespace
}  // namespace berth::scheduler
