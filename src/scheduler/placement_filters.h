// Filter plugins: each one decides whether an instance can take one more
// task of the request, and if not, says why in words for the failure detail.
// A filter never fails: everything that could make it fail (a bad
// expression) was refused by CompileRequest before.
//
// A filter is the only implementation of its rule: the reference engine
// (placement_step.cc) and the Placer (placer.cc) both call Admits, over
// InstanceViews of their own state (placement_view.h). Admits is on the
// Placer's hot path, so it reads derived state (free-device bitsets, group
// counts, remembered memberOf answers), builds no strings and is defined
// here, inline: the Placer calls it through the filters' types (AdmitsAll),
// without a virtual call. Explain, which only runs to name a failure, says
// why in words.
//
// A new rule is a new class below, listed in FilterTypes.
//
// The registry's order is the order ECS checks in (agent, cpu, memory, ports,
// GPUs, then constraints), with berth's Neuron and EFA devices after the GPUs; it
// decides which reason a failure carries (see PlacementFailure).
//
// Thread-safety: the filters are stateless singletons and may be called from
// any thread; what a call reads (the view, the context) is the caller's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "scheduler/placement.h"
#include "scheduler/placement_request.h"
#include "scheduler/placement_view.h"

namespace berth::scheduler {

// How an engine answers the request's memberOf expressions: the Placer
// remembers answers per instance (placer.cc). The filter decides what the
// answers mean.
class MemberOfAnswers {
 public:
  // Whether compiled.member_of[k] matches the instance.
  virtual bool Matches(size_t k, const InstanceView& instance) = 0;

 protected:
  ~MemberOfAnswers() = default;
};

struct FilterContext {
  const CompiledRequest& compiled;
  // Null: each expression is evaluated on the instance's facts.
  MemberOfAnswers* member_of = nullptr;
};

class PlacementFilter {
 public:
  virtual ~PlacementFilter() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view reason() const = 0;  // the ECS failure reason
  // The rule: whether the instance can take one more task of the request.
  virtual bool Admits(const InstanceView& instance, const FilterContext& context) const = 0;
  // Why not, for an instance Admits refused ("needs 512 MiB of memory, has
  // 256").
  virtual std::string Explain(const InstanceView& instance, const FilterContext& context) const = 0;
  // Whether the rule says anything about this request; when not, Admits holds
  // for every instance and an engine may skip the filter for the whole call
  // (the Kubernetes framework's PreFilter "skip").
  virtual bool AppliesTo(const CompiledRequest& compiled) const;
  // Raises the fields of `need` to the least capacity an instance must offer
  // for Admits to hold: the bound the Placer's indexes prune with. Filters
  // that need no capacity leave it alone.
  virtual void Need(const PlacementRequest& request, Capacity& need) const;
  // Whether Need says it all: Admits holds exactly when the instance's
  // capacity covers what this filter needs, so an engine that has checked
  // the capacity (the Placer's indexes do) need not call Admits.
  virtual bool NeedIsExact() const;

  // nullopt when Admits holds; otherwise Explain.
  std::optional<std::string> Check(const InstanceView& instance,
                                   const FilterContext& context) const;
};

// The agent filter's rule on its own: whether the instance takes new tasks at
// all (ACTIVE, agent connected). No task placed or released changes it, so
// the Placer keeps it with an instance's derived state and leaves instances
// that fail it out of its indexes.
bool TakesNewTasks(const InstanceFacts& facts);

// ---------------------------------------------------------------------------
// The filters

class AgentFilter final : public PlacementFilter {
 public:
  std::string_view name() const override { return "agent"; }
  std::string_view reason() const override { return kReasonAgent; }
  bool Admits(const InstanceView& instance, const FilterContext&) const override {
    return instance.takes_new_tasks();
  }
  std::string Explain(const InstanceView& instance, const FilterContext&) const override;
};

class CpuFilter final : public PlacementFilter {
 public:
  std::string_view name() const override { return "cpu"; }
  std::string_view reason() const override { return kReasonCpu; }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    return context.compiled.request.cpu <= instance.resources().cpu_remaining;
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override;
  void Need(const PlacementRequest& request, Capacity& need) const override;
  bool NeedIsExact() const override { return true; }
};

class MemoryFilter final : public PlacementFilter {
 public:
  std::string_view name() const override { return "memory"; }
  std::string_view reason() const override { return kReasonMemory; }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    return context.compiled.request.memory_mib <= instance.resources().memory_remaining_mib;
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override;
  void Need(const PlacementRequest& request, Capacity& need) const override;
  bool NeedIsExact() const override { return true; }
};

class PortsFilter final : public PlacementFilter {
 public:
  std::string_view name() const override { return "ports"; }
  std::string_view reason() const override { return kReasonPorts; }
  bool AppliesTo(const CompiledRequest& compiled) const override {
    return !compiled.request.host_ports.empty();
  }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    return Conflict(instance, context) == nullptr;
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override;

 private:
  // The first port of the request that the instance has reserved or in use.
  static const HostPort* Conflict(const InstanceView& instance, const FilterContext& context) {
    const InstanceResources& r = instance.resources();
    for (const HostPort& p : context.compiled.request.host_ports) {
      const bool udp = p.protocol == PortProtocol::kUdp;
      if ((udp ? r.ports_reserved.udp : r.ports_reserved.tcp).count(p.port) ||
          (udp ? r.ports_used.udp : r.ports_used.tcp).count(p.port)) {
        return &p;
      }
    }
    return nullptr;
  }
};

class GpuFilter final : public PlacementFilter {
 public:
  std::string_view name() const override { return "gpu"; }
  std::string_view reason() const override { return kReasonGpu; }
  bool AppliesTo(const CompiledRequest& compiled) const override {
    return compiled.request.gpu_count > 0;
  }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    // A request without GPUs never derives the devices (the reference
    // engine derives them per decision).
    const int need = context.compiled.request.gpu_count;
    return need == 0 || need <= instance.devices().gpu_free;
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override;
  void Need(const PlacementRequest& request, Capacity& need) const override;
  bool NeedIsExact() const override { return true; }
};

// Admits is ChooseNeuronDevices(...).ok() without choosing: on the
// free-device bitset where the ids fit one.
class NeuronFilter final : public PlacementFilter {
 public:
  std::string_view name() const override { return "neuron"; }
  std::string_view reason() const override { return kReasonNeuronDevice; }
  bool AppliesTo(const CompiledRequest& compiled) const override {
    return WantsNeuronDevices(compiled.request);
  }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    const PlacementRequest& request = context.compiled.request;
    if (!WantsNeuronDevices(request)) return true;
    const NeuronDeviceSet& devices = instance.resources().neuron;
    const FreeDevices& d = instance.devices();
    if (!d.on_masks) return ChooseNeuronDevices(devices, request).ok();
    if (devices.count <= 0) return false;
    if (request.all_neuron_devices) return devices.taken.empty();
    int free = d.neuron_free;
    for (int id : request.exact_neuron_devices) {
      if (id >= devices.count || !(d.neuron_free_mask >> id & 1)) return false;
      --free;
    }
    return free >= request.neuron_device_count;
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override;
  void Need(const PlacementRequest& request, Capacity& need) const override;
};

// EFA devices: few per instance (8 on a trn1.32xlarge) and asked for only by
// multi-node training, so Admits chooses on the sets; no index prunes by them.
class EfaFilter final : public PlacementFilter {
 public:
  std::string_view name() const override { return "efa"; }
  std::string_view reason() const override { return kReasonEfa; }
  bool AppliesTo(const CompiledRequest& compiled) const override {
    return WantsEfaDevices(compiled.request);
  }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    const PlacementRequest& request = context.compiled.request;
    return !WantsEfaDevices(request) || ChooseEfaDevices(instance.resources().efa, request).ok();
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override;
};

class MemberOfFilter final : public PlacementFilter {
 public:
  std::string_view name() const override { return "memberOf"; }
  std::string_view reason() const override { return kReasonAttribute; }
  bool AppliesTo(const CompiledRequest& compiled) const override {
    return !compiled.member_of.empty();
  }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    return FirstMismatch(instance, context) == nullptr;
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override;

 private:
  static const Query* FirstMismatch(const InstanceView& instance, const FilterContext& context) {
    const std::vector<Query>& queries = context.compiled.member_of;
    for (size_t k = 0; k < queries.size(); ++k) {
      const bool matches = context.member_of != nullptr ? context.member_of->Matches(k, instance)
                                                        : queries[k].Matches(instance.facts());
      if (!matches) return &queries[k];
    }
    return nullptr;
  }
};

class DistinctInstanceFilter final : public PlacementFilter {
 public:
  std::string_view name() const override { return "distinctInstance"; }
  std::string_view reason() const override { return kReasonDistinctInstance; }
  bool AppliesTo(const CompiledRequest& compiled) const override {
    return compiled.distinct_instance;
  }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    if (!context.compiled.distinct_instance) return true;
    if (instance.placed_in_call()) return false;
    const std::string& group = context.compiled.request.group;
    return group.empty() || instance.GroupTasks(group) == 0;
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override;
};

// ---------------------------------------------------------------------------
// The registry

// Every filter, in the registry's order (see the file comment).
using FilterTypes = std::tuple<AgentFilter, CpuFilter, MemoryFilter, PortsFilter, GpuFilter,
                               NeuronFilter, EfaFilter, MemberOfFilter, DistinctInstanceFilter>;

// The filters, one stateless instance each, as FilterTypes orders them.
const FilterTypes& Filters();

// The same, through the interface: agent, cpu, memory, ports, gpu, neuron,
// efa, memberOf, distinctInstance.
const std::vector<const PlacementFilter*>& PlacementFilters();

// A set of filters: bit f is the f-th of FilterTypes (and of
// PlacementFilters()).
using FilterSet = uint32_t;
static_assert(std::tuple_size_v<FilterTypes> <= 32);

// Whether every filter of `set` admits the instance, each Admits called
// through its own type: no virtual call, so it inlines into the caller's
// search (the Placer's).
bool AdmitsAll(FilterSet set, const InstanceView& instance, const FilterContext& context);

namespace filters_internal {
template <size_t... F>
bool AdmitsAll(FilterSet set, const InstanceView& instance, const FilterContext& context,
               std::index_sequence<F...>) {
  const FilterTypes& filters = Filters();
  return ((!(set >> F & 1) || std::get<F>(filters).Admits(instance, context)) && ...);
}
}  // namespace filters_internal

inline bool AdmitsAll(FilterSet set, const InstanceView& instance, const FilterContext& context) {
  return filters_internal::AdmitsAll(set, instance, context,
                                     std::make_index_sequence<std::tuple_size_v<FilterTypes>>());
}

// What every filter needs, together (the largest of each field).
Capacity NeedOf(const PlacementRequest& request);

// The filters that apply to the request (AppliesTo), and of those the ones
// whose Need is not exact: what an engine must call per instance when it
// checks every instance's capacity against NeedOf first.
struct FiltersFor {
  FilterSet applying = 0;
  FilterSet beyond_need = 0;
};
FiltersFor FiltersOf(const CompiledRequest& compiled);

}  // namespace berth::scheduler
