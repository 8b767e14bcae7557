#include "scheduler/placement_filters.h"

#include <algorithm>

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
  std::optional<std::string> Check(const SnapshotInstance& instance,
                                   const FilterContext&) const override {
    // A DRAINING or INACTIVE instance takes no new tasks; ECS names no reason
    // for it, and AGENT ("this instance cannot start it") is the closest.
    if (instance.facts.status != "ACTIVE") return "is " + instance.facts.status;
    if (!instance.facts.agent_connected) return "agent is disconnected";
    return std::nullopt;
  }
};

class CpuFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "cpu"; }
  std::string_view reason() const override { return kReasonCpu; }
  std::optional<std::string> Check(const SnapshotInstance& instance,
                                   const FilterContext& context) const override {
    const int64_t need = context.compiled.request.cpu;
    const int64_t has = instance.resources.cpu_remaining;
    if (need <= has) return std::nullopt;
    return Needs(need, has, " CPU units");
  }
};

class MemoryFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "memory"; }
  std::string_view reason() const override { return kReasonMemory; }
  std::optional<std::string> Check(const SnapshotInstance& instance,
                                   const FilterContext& context) const override {
    const int64_t need = context.compiled.request.memory_mib;
    const int64_t has = instance.resources.memory_remaining_mib;
    if (need <= has) return std::nullopt;
    return Needs(need, has, " MiB of memory");
  }
};

class PortsFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "ports"; }
  std::string_view reason() const override { return kReasonPorts; }
  std::optional<std::string> Check(const SnapshotInstance& instance,
                                   const FilterContext& context) const override {
    const InstanceResources& r = instance.resources;
    for (const HostPort& p : context.compiled.request.host_ports) {
      const bool udp = p.protocol == PortProtocol::kUdp;
      const std::set<int>& used = udp ? r.ports_used.udp : r.ports_used.tcp;
      const std::set<int>& reserved = udp ? r.ports_reserved.udp : r.ports_reserved.tcp;
      const std::string name = std::to_string(p.port) + (udp ? "/udp" : "/tcp");
      if (reserved.count(p.port)) return "host port " + name + " is reserved";
      if (used.count(p.port)) return "host port " + name + " is in use";
    }
    return std::nullopt;
  }
};

class GpuFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "gpu"; }
  std::string_view reason() const override { return kReasonGpu; }
  std::optional<std::string> Check(const SnapshotInstance& instance,
                                   const FilterContext& context) const override {
    const int need = context.compiled.request.gpu_count;
    if (need == 0) return std::nullopt;
    const int has = FreeGpuCount(instance.resources.gpus);
    if (need <= has) return std::nullopt;
    return Needs(need, has, " free GPUs");
  }
};

class NeuronFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "neuron"; }
  std::string_view reason() const override { return kReasonNeuronDevice; }
  std::optional<std::string> Check(const SnapshotInstance& instance,
                                   const FilterContext& context) const override {
    NeuronChoice choice = ChooseNeuronDevices(instance.resources.neuron, context.compiled.request);
    if (choice.ok()) return std::nullopt;
    return choice.refusal;
  }
};

class MemberOfFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "memberOf"; }
  std::string_view reason() const override { return kReasonAttribute; }
  std::optional<std::string> Check(const SnapshotInstance& instance,
                                   const FilterContext& context) const override {
    for (const Query& query : context.compiled.member_of) {
      if (!query.Matches(instance.facts)) return "does not match memberOf(" + query.text() + ")";
    }
    return std::nullopt;
  }
};

class DistinctInstanceFilter : public PlacementFilter {
 public:
  std::string_view name() const override { return "distinctInstance"; }
  std::string_view reason() const override { return kReasonDistinctInstance; }
  std::optional<std::string> Check(const SnapshotInstance& instance,
                                   const FilterContext& context) const override {
    if (!context.compiled.distinct_instance) return std::nullopt;
    if (context.instances_in_call.count(instance.facts.id)) {
      return std::string("already has a task of this call");
    }
    const std::string& group = context.compiled.request.group;
    if (!group.empty() && GroupTaskCount(instance.facts, group) > 0) {
      return "already runs a task of " + group;
    }
    return std::nullopt;
  }
};

}  // namespace

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

}  // namespace berth::scheduler
