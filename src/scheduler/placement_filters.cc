#include "scheduler/placement_filters.h"

#include <algorithm>
#include <set>

#include "scheduler/placement_devices.h"

namespace berth::scheduler {
namespace {

std::string Needs(int64_t need, int64_t has, std::string_view unit) {
  return "needs " + std::to_string(need) + std::string(unit) + ", has " + std::to_string(has);
}

class AgentFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "agent"; }
  std::string_view reason() const override { return kReasonAgent; }
  bool Admits(const InstanceView& instance, const FilterContext&) const override {
    return instance.takes_new_tasks();
  }
  std::string Explain(const InstanceView& instance, const FilterContext&) const override {
    // A DRAINING or INACTIVE instance takes no new tasks; ECS names no reason
    // for it, and AGENT ("this instance cannot start it") is the closest.
    if (instance.facts().status != "ACTIVE") return "is " + instance.facts().status;
    return "agent is disconnected";
  }
};

class CpuFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "cpu"; }
  std::string_view reason() const override { return kReasonCpu; }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    return context.compiled.request.cpu <= instance.resources().cpu_remaining;
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override {
    return Needs(context.compiled.request.cpu, instance.resources().cpu_remaining, " CPU units");
  }
  void Need(const PlacementRequest& request, Capacity& need) const override {
    need.cpu = std::max(need.cpu, request.cpu);
  }
  bool NeedIsExact() const override { return true; }
};

class MemoryFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "memory"; }
  std::string_view reason() const override { return kReasonMemory; }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    return context.compiled.request.memory_mib <= instance.resources().memory_remaining_mib;
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override {
    return Needs(context.compiled.request.memory_mib, instance.resources().memory_remaining_mib,
                 " MiB of memory");
  }
  void Need(const PlacementRequest& request, Capacity& need) const override {
    need.memory_mib = std::max(need.memory_mib, request.memory_mib);
  }
  bool NeedIsExact() const override { return true; }
};

class PortsFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "ports"; }
  std::string_view reason() const override { return kReasonPorts; }
  bool AppliesTo(const CompiledRequest& compiled) const override {
    return !compiled.request.host_ports.empty();
  }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    return !Conflict(instance, context);
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override {
    const auto [port, reserved] = *Conflict(instance, context);
    const std::string name =
        std::to_string(port->port) + (port->protocol == PortProtocol::kUdp ? "/udp" : "/tcp");
    return "host port " + name + (reserved ? " is reserved" : " is in use");
  }

 private:
  // The first port of the request the instance cannot give, and whether it
  // is reserved (else in use).
  static std::optional<std::pair<const HostPort*, bool>> Conflict(const InstanceView& instance,
                                                                  const FilterContext& context) {
    const InstanceResources& r = instance.resources();
    for (const HostPort& p : context.compiled.request.host_ports) {
      const bool udp = p.protocol == PortProtocol::kUdp;
      if ((udp ? r.ports_reserved.udp : r.ports_reserved.tcp).count(p.port)) {
        return std::pair{&p, true};
      }
      if ((udp ? r.ports_used.udp : r.ports_used.tcp).count(p.port)) return std::pair{&p, false};
    }
    return std::nullopt;
  }
};

class GpuFilter : public PlacementFilter {
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
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override {
    return Needs(context.compiled.request.gpu_count, instance.devices().gpu_free, " free GPUs");
  }
  void Need(const PlacementRequest& request, Capacity& need) const override {
    need.gpu_free = std::max(need.gpu_free, request.gpu_count);
  }
  bool NeedIsExact() const override { return true; }
};

// Admits is ChooseNeuronDevices(...).ok() without choosing: on the free-device
// bitset where the ids fit one.
class NeuronFilter : public PlacementFilter {
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
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override {
    return ChooseNeuronDevices(instance.resources().neuron, context.compiled.request).refusal;
  }
  void Need(const PlacementRequest& request, Capacity& need) const override {
    int devices =
        request.neuron_device_count + static_cast<int>(request.exact_neuron_devices.size());
    if (request.all_neuron_devices) devices = 1;
    need.neuron_free = std::max(need.neuron_free, devices);
  }
};

class MemberOfFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "memberOf"; }
  std::string_view reason() const override { return kReasonAttribute; }
  bool AppliesTo(const CompiledRequest& compiled) const override {
    return !compiled.member_of.empty();
  }
  bool Admits(const InstanceView& instance, const FilterContext& context) const override {
    return !FirstMismatch(instance, context);
  }
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override {
    return "does not match memberOf(" + FirstMismatch(instance, context)->text() + ")";
  }

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

class DistinctInstanceFilter : public PlacementFilter {
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
  std::string Explain(const InstanceView& instance, const FilterContext& context) const override {
    if (instance.placed_in_call()) return "already has a task of this call";
    return "already runs a task of " + context.compiled.request.group;
  }
};

}  // namespace

bool PlacementFilter::AppliesTo(const CompiledRequest&) const { return true; }

void PlacementFilter::Need(const PlacementRequest&, Capacity&) const {}

bool PlacementFilter::NeedIsExact() const { return false; }

std::optional<std::string> PlacementFilter::Check(const InstanceView& instance,
                                                  const FilterContext& context) const {
  if (Admits(instance, context)) return std::nullopt;
  return Explain(instance, context);
}

bool TakesNewTasks(const InstanceFacts& facts) {
  return facts.status == "ACTIVE" && facts.agent_connected;
}

const std::vector<const PlacementFilter*>& PlacementFilters() {
  static const AgentFilter agent;
  static const CpuFilter cpu;
  static const MemoryFilter memory;
  static const PortsFilter ports;
  static const GpuFilter gpu;
  static const NeuronFilter neuron;
  static const MemberOfFilter member_of;
  static const DistinctInstanceFilter distinct_instance;
  static const std::vector<const PlacementFilter*> filters = {
      &agent, &cpu, &memory, &ports, &gpu, &neuron, &member_of, &distinct_instance};
  return filters;
}

Capacity NeedOf(const PlacementRequest& request) {
  Capacity need;
  for (const PlacementFilter* filter : PlacementFilters()) filter->Need(request, need);
  return need;
}

}  // namespace berth::scheduler
