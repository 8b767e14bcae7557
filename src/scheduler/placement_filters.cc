#include "scheduler/placement_filters.h"

#include <algorithm>
#include <set>

#include "scheduler/placement_devices.h"

namespace berth::scheduler {
namespace {

std::string Needs(int64_t need, int64_t has, std::string_view unit) {
  return "needs " + std::to_string(need) + std::string(unit) + ", has " + std::to_string(has);
}

// fn(filter, f) for the f-th filter of FilterTypes, through its own type
// (calls per request, no virtual call).
template <typename Fn>
void ForEachFilter(Fn&& fn) {
  const FilterTypes& filters = Filters();
  [&]<size_t... F>(std::index_sequence<F...>) { (fn(std::get<F>(filters), F), ...); }
  (std::make_index_sequence<std::tuple_size_v<FilterTypes>>());
}

}  // namespace

bool PlacementFilter::AppliesTo(const CompiledRequest&) const { return true; }

void PlacementFilter::Need(const PlacementRequest&, Capacity&) const {}

bool PlacementFilter::NeedIsExact() const { return false; }

std::optional<std::string> PlacementFilter::Check(const InstanceView& instance,
                                                  const FilterContext& context) const {
  if (Admits(instance, context)) return std::nullopt;
  return Explain(instance, context);
}

std::string AgentFilter::Explain(const InstanceView& instance, const FilterContext&) const {
  // A DRAINING or INACTIVE instance takes no new tasks; ECS names no reason
  // for it, and AGENT ("this instance cannot start it") is the closest.
  if (instance.facts().status != "ACTIVE") return "is " + instance.facts().status;
  return "agent is disconnected";
}

std::string CpuFilter::Explain(const InstanceView& instance, const FilterContext& context) const {
  return Needs(context.compiled.request.cpu, instance.resources().cpu_remaining, " CPU units");
}

void CpuFilter::Need(const PlacementRequest& request, Capacity& need) const {
  need.cpu = std::max(need.cpu, request.cpu);
}

std::string MemoryFilter::Explain(const InstanceView& instance,
                                  const FilterContext& context) const {
  return Needs(context.compiled.request.memory_mib, instance.resources().memory_remaining_mib,
               " MiB of memory");
}

void MemoryFilter::Need(const PlacementRequest& request, Capacity& need) const {
  need.memory_mib = std::max(need.memory_mib, request.memory_mib);
}

std::string PortsFilter::Explain(const InstanceView& instance, const FilterContext& context) const {
  const HostPort& port = *Conflict(instance, context);
  const bool udp = port.protocol == PortProtocol::kUdp;
  const InstanceResources& r = instance.resources();
  const bool reserved = (udp ? r.ports_reserved.udp : r.ports_reserved.tcp).count(port.port) > 0;
  return "host port " + std::to_string(port.port) + (udp ? "/udp" : "/tcp") +
         (reserved ? " is reserved" : " is in use");
}

std::string GpuFilter::Explain(const InstanceView& instance, const FilterContext& context) const {
  return Needs(context.compiled.request.gpu_count, instance.devices().gpu_free, " free GPUs");
}

void GpuFilter::Need(const PlacementRequest& request, Capacity& need) const {
  need.gpu_free = std::max(need.gpu_free, request.gpu_count);
}

std::string NeuronFilter::Explain(const InstanceView& instance,
                                  const FilterContext& context) const {
  return ChooseNeuronDevices(instance.resources().neuron, context.compiled.request).refusal;
}

void NeuronFilter::Need(const PlacementRequest& request, Capacity& need) const {
  int devices = request.neuron_device_count + static_cast<int>(request.exact_neuron_devices.size());
  if (request.all_neuron_devices) devices = 1;
  need.neuron_free = std::max(need.neuron_free, devices);
}

std::string EfaFilter::Explain(const InstanceView& instance, const FilterContext& context) const {
  return ChooseEfaDevices(instance.resources().efa, context.compiled.request).refusal;
}

std::string MemberOfFilter::Explain(const InstanceView& instance,
                                    const FilterContext& context) const {
  return "does not match memberOf(" + FirstMismatch(instance, context)->text() + ")";
}

std::string DistinctInstanceFilter::Explain(const InstanceView& instance,
                                            const FilterContext& context) const {
  if (instance.placed_in_call()) return "already has a task of this call";
  return "already runs a task of " + context.compiled.request.group;
}

bool TakesNewTasks(const InstanceFacts& facts) {
  return facts.status == "ACTIVE" && facts.agent_connected;
}

const FilterTypes& Filters() {
  static const FilterTypes filters;
  return filters;
}

const std::vector<const PlacementFilter*>& PlacementFilters() {
  static const std::vector<const PlacementFilter*> filters = std::apply(
      [](const auto&... f) { return std::vector<const PlacementFilter*>{&f...}; }, Filters());
  return filters;
}

Capacity NeedOf(const PlacementRequest& request) {
  Capacity need;
  ForEachFilter([&](const auto& filter, size_t) { filter.Need(request, need); });
  return need;
}

FiltersFor FiltersOf(const CompiledRequest& compiled) {
  FiltersFor set;
  ForEachFilter([&](const auto& filter, size_t f) {
    if (!filter.AppliesTo(compiled)) return;
    set.applying |= FilterSet{1} << f;
    if (!filter.NeedIsExact()) set.beyond_need |= FilterSet{1} << f;
  });
  return set;
}

}  // namespace berth::scheduler
