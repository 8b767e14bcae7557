#include "planner/task_placement.h"

#include <boost/json/array.hpp>
#include <charconv>

#include "model/json_util.h"
#include "model/task_definition.h"

namespace berth::planner {

using model::ArrayOr;
using model::AsString;
using model::OptInt;
using model::OptString;
using model::StringOr;

namespace json = boost::json;

namespace {

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::set<int> IntSet(const json::array& a) {
  std::set<int> out;
  for (const auto& v : a) {
    if (v.is_int64()) out.insert(static_cast<int>(v.get_int64()));
  }
  return out;
}

}  // namespace

const json::object* FindOverride(const json::object& overrides, std::string_view name) {
  for (const auto& o : ArrayOr(overrides, "containerOverrides")) {
    if (StringOr(o.as_object(), "name", "") == name) return &o.as_object();
  }
  return nullptr;
}

const json::array& ResourceRequirementsOf(const json::object& container,
                                          const json::object* override_) {
  return override_ != nullptr && override_->contains("resourceRequirements")
             ? ArrayOr(*override_, "resourceRequirements")
             : ArrayOr(container, "resourceRequirements");
}

namespace {

// N of PREFIXN, 0 to 4095.
std::optional<int> DeviceIndex(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return std::nullopt;
  auto n = ParseInt(path.substr(prefix.size()));
  if (!n || *n < 0 || *n > 4095) return std::nullopt;
  return static_cast<int>(*n);
}

}  // namespace

std::optional<int> NeuronIndex(std::string_view path) { return DeviceIndex(path, "/dev/neuron"); }

std::optional<int> EfaIndex(std::string_view path) {
  return DeviceIndex(path, "/dev/infiniband/uverbs");
}

StatusOr<scheduler::PlacementRequest> BuildPlacementRequest(const json::object& td,
                                                            const json::object& overrides) {
  const json::array& containers = ArrayOr(td, "containerDefinitions");
  for (const auto& o : ArrayOr(overrides, "containerOverrides")) {
    std::string_view name = StringOr(o.as_object(), "name", "");
    bool found = false;
    for (const auto& c : containers) found |= StringOr(c.as_object(), "name", "") == name;
    if (!found) {
      return InvalidArgument("overrides.containerOverrides: no container named '" +
                             std::string(name) + "' in the task definition");
    }
    // The minimums RegisterTaskDefinition holds a definition to.
    for (std::string_view key : {"memory", "memoryReservation"}) {
      if (auto v = OptInt(o.as_object(), key); v && *v < model::kMinContainerMemoryMiB) {
        return InvalidArgument("overrides.containerOverrides: invalid '" + std::string(key) +
                               "' setting for container '" + std::string(name) + "'. Minimum " +
                               std::to_string(model::kMinContainerMemoryMiB) + " MiB");
      }
    }
    if (auto v = OptInt(o.as_object(), "cpu"); v && *v < 0) {
      return InvalidArgument("overrides.containerOverrides: 'cpu' of container '" +
                             std::string(name) + "' must not be negative");
    }
  }
  scheduler::PlacementRequest request;
  bool host_network = StringOr(td, "networkMode", "") == "host";
  for (const auto& c : containers) {
    const json::object& container = c.as_object();
    const json::object* override_ = FindOverride(overrides, StringOr(container, "name", ""));
    auto pick = [&](std::string_view key) -> std::optional<int64_t> {
      if (override_ != nullptr) {
        if (auto v = OptInt(*override_, key)) return v;
      }
      return OptInt(container, key);
    };
    request.cpu += pick("cpu").value_or(0);
    request.memory_mib += pick("memoryReservation").value_or(pick("memory").value_or(0));
    for (const auto& m : ArrayOr(container, "portMappings")) {
      const json::object& mapping = m.as_object();
      int64_t port = OptInt(mapping, "hostPort").value_or(0);
      if (port <= 0 && host_network) port = OptInt(mapping, "containerPort").value_or(0);
      if (port <= 0) continue;
      request.host_ports.push_back(
          {static_cast<int>(port), StringOr(mapping, "protocol", "tcp") == "udp"
                                       ? scheduler::PortProtocol::kUdp
                                       : scheduler::PortProtocol::kTcp});
    }
    if (auto* lp = container.if_contains("linuxParameters"); lp != nullptr && lp->is_object()) {
      for (const auto& d : ArrayOr(lp->as_object(), "devices")) {
        std::string_view host_path = StringOr(d.as_object(), "hostPath", "");
        if (auto n = NeuronIndex(host_path)) request.exact_neuron_devices.insert(*n);
        if (auto n = EfaIndex(host_path)) request.exact_efa_devices.insert(*n);
      }
    }
    for (const auto& r : ResourceRequirementsOf(container, override_)) {
      std::string_view type = StringOr(r.as_object(), "type", "");
      std::string_view value = StringOr(r.as_object(), "value", "");
      if (type == "NeuronDevice" && value == "ALL") {
        request.all_neuron_devices = true;
        continue;
      }
      if (type == "EFA" && value == "ALL") {
        request.all_efa_devices = true;
        continue;
      }
      auto n = ParseInt(value);
      if (!n || *n < 0 || *n > 4096) {
        return InvalidArgument("resourceRequirements: " + std::string(type) +
                               " value must be a count, got '" + std::string(value) + "'");
      }
      if (type == "GPU") request.gpu_count += static_cast<int>(*n);
      if (type == "NeuronDevice") request.neuron_device_count += static_cast<int>(*n);
      if (type == "EFA") request.efa_device_count += static_cast<int>(*n);
    }
  }
  // Task-level sizes win over the containers' sum (overrides over the
  // definition's), as ECS reserves them.
  for (std::string_view key : {"cpu", "memory"}) {
    std::optional<std::string_view> text = OptString(overrides, key);
    if (!text) text = OptString(td, key);
    if (!text) continue;
    auto n = ParseInt(*text);
    if (!n || *n < 0) {
      return InvalidArgument(std::string(key) + ": expected a whole number, got '" +
                             std::string(*text) + "'");
    }
    (key == "cpu" ? request.cpu : request.memory_mib) = *n;
  }
  return request;
}

json::object ReservationRecord(const scheduler::PlacementRequest& request,
                               const scheduler::TaskPlacement& placement) {
  json::array tcp, udp, neuron, gpu, efa;
  for (const auto& p : placement.host_ports) {
    (p.protocol == scheduler::PortProtocol::kUdp ? udp : tcp).push_back(p.port);
  }
  for (int id : placement.neuron_device_ids) neuron.push_back(id);
  for (int id : placement.gpu_ids) gpu.push_back(id);
  for (int id : placement.efa_device_ids) efa.push_back(id);
  return json::object{{"cpu", request.cpu},          {"memory", request.memory_mib},
                      {"tcp", std::move(tcp)},       {"udp", std::move(udp)},
                      {"neuron", std::move(neuron)}, {"gpu", std::move(gpu)},
                      {"efa", std::move(efa)},       {"group", request.group}};
}

void ReservationOf(const json::object& task, scheduler::PlacementRequest& request,
                   scheduler::TaskPlacement& placement) {
  std::string_view arn = StringOr(task, "containerInstanceArn", "");
  placement.instance_id = std::string(arn.substr(arn.rfind('/') + 1));
  request.group = std::string(StringOr(task, "group", ""));
  auto* r = task.if_contains(kReservationKey);
  if (r == nullptr || !r->is_object()) return;
  const json::object& reservation = r->as_object();
  request.cpu = OptInt(reservation, "cpu").value_or(0);
  request.memory_mib = OptInt(reservation, "memory").value_or(0);
  for (int port : IntSet(ArrayOr(reservation, "tcp"))) {
    placement.host_ports.push_back({port, scheduler::PortProtocol::kTcp});
  }
  for (int port : IntSet(ArrayOr(reservation, "udp"))) {
    placement.host_ports.push_back({port, scheduler::PortProtocol::kUdp});
  }
  for (int id : IntSet(ArrayOr(reservation, "neuron"))) placement.neuron_device_ids.push_back(id);
  for (int id : IntSet(ArrayOr(reservation, "gpu"))) placement.gpu_ids.push_back(id);
  for (int id : IntSet(ArrayOr(reservation, "efa"))) placement.efa_device_ids.push_back(id);
}

scheduler::SnapshotInstance InstanceSnapshot(const json::object& instance,
                                             const std::vector<const json::object*>& tasks,
                                             bool agent_connected) {
  scheduler::SnapshotInstance out;
  auto& facts = out.facts;
  std::string_view arn = StringOr(instance, "containerInstanceArn", "");
  facts.arn = std::string(arn);
  facts.id = std::string(arn.substr(arn.rfind('/') + 1));
  facts.ec2_instance_id = std::string(StringOr(instance, "ec2InstanceId", ""));
  facts.status = std::string(StringOr(instance, "status", "ACTIVE"));
  facts.agent_connected = agent_connected;
  if (auto* v = instance.if_contains("versionInfo"); v != nullptr && v->is_object()) {
    facts.agent_version = std::string(StringOr(v->as_object(), "agentVersion", ""));
  }
  if (auto* r = instance.if_contains("registeredAt"); r != nullptr && r->is_number()) {
    facts.registered_at_millis = static_cast<int64_t>(r->to_number<double>() * 1000.0);
  }
  for (const auto& a : ArrayOr(instance, "attributes")) {
    const json::object& attribute = a.as_object();
    facts.attributes[std::string(StringOr(attribute, "name", ""))] =
        std::string(StringOr(attribute, "value", ""));
  }
  auto& res = out.resources;
  for (const auto& r : ArrayOr(instance, "registeredResources")) {
    const json::object& resource = r.as_object();
    std::string_view name = StringOr(resource, "name", "");
    if (name == "CPU") res.cpu_registered = OptInt(resource, "integerValue").value_or(0);
    if (name == "MEMORY") res.memory_registered_mib = OptInt(resource, "integerValue").value_or(0);
    if (name == "PORTS" || name == "PORTS_UDP") {
      auto& set = name == "PORTS" ? res.ports_reserved.tcp : res.ports_reserved.udp;
      for (const auto& p : ArrayOr(resource, "stringSetValue")) {
        if (auto n = ParseInt(AsString(p))) set.insert(static_cast<int>(*n));
      }
    }
  }
  res.cpu_remaining = res.cpu_registered;
  res.memory_remaining_mib = res.memory_registered_mib;
  for (const auto& d : ArrayOr(instance, "platformDevices")) {
    std::string_view type = StringOr(d.as_object(), "type", "");
    auto id = ParseInt(StringOr(d.as_object(), "id", ""));
    if (!id || *id < 0) continue;
    if (type == "NEURON_DEVICE") {
      res.neuron.count = std::max<int>(res.neuron.count, *id + 1);
      // Registration checked that every link names a device of the list.
      if (auto* links = d.as_object().if_contains("connectedTo"); links && links->is_array()) {
        std::vector<int>& to = res.neuron.links[static_cast<int>(*id)];
        for (const auto& l : links->as_array()) {
          if (auto n = ParseInt(AsString(l)); n && *n >= 0) to.push_back(static_cast<int>(*n));
        }
      }
    }
    if (type == "GPU") res.gpus.ids.insert(static_cast<int>(*id));
    if (type == "EFA") res.efa.ids.insert(static_cast<int>(*id));
  }
  for (const json::object* task : tasks) {
    if (AsString(task->at("lastStatus")) == "RUNNING") ++facts.running_tasks_count;
    facts.task_groups.emplace_back(StringOr(*task, "group", ""));
    auto* r = task->if_contains(kReservationKey);
    if (r == nullptr || !r->is_object()) continue;
    const json::object& reservation = r->as_object();
    res.cpu_remaining -= OptInt(reservation, "cpu").value_or(0);
    res.memory_remaining_mib -= OptInt(reservation, "memory").value_or(0);
    res.ports_used.tcp.merge(IntSet(ArrayOr(reservation, "tcp")));
    res.ports_used.udp.merge(IntSet(ArrayOr(reservation, "udp")));
    res.neuron.taken.merge(IntSet(ArrayOr(reservation, "neuron")));
    res.gpus.taken.merge(IntSet(ArrayOr(reservation, "gpu")));
    res.efa.taken.merge(IntSet(ArrayOr(reservation, "efa")));
  }
  return out;
}

void InstanceUsage::Add(const scheduler::PlacementRequest& request,
                        const scheduler::TaskPlacement& placement) {
  cpu += request.cpu;
  memory_mib += request.memory_mib;
  for (const auto& p : placement.host_ports) {
    (p.protocol == scheduler::PortProtocol::kUdp ? udp : tcp).insert(p.port);
  }
}

void InstanceUsage::Remove(const scheduler::PlacementRequest& request,
                           const scheduler::TaskPlacement& placement) {
  cpu -= request.cpu;
  memory_mib -= request.memory_mib;
  for (const auto& p : placement.host_ports) {
    auto& ports = p.protocol == scheduler::PortProtocol::kUdp ? udp : tcp;
    if (auto it = ports.find(p.port); it != ports.end()) ports.erase(it);  // one of them
  }
}

json::array RemainingResources(const json::object& instance, const InstanceUsage& usage) {
  json::array out;
  for (const auto& r : ArrayOr(instance, "registeredResources")) {
    json::object resource = r.as_object();
    std::string_view name = StringOr(resource, "name", "");
    if (name == "CPU") {
      resource["integerValue"] = OptInt(resource, "integerValue").value_or(0) - usage.cpu;
    }
    if (name == "MEMORY") {
      resource["integerValue"] = OptInt(resource, "integerValue").value_or(0) - usage.memory_mib;
    }
    if (name == "PORTS" || name == "PORTS_UDP") {
      // ECS lists the reserved ports and the ports tasks hold.
      const std::multiset<int>& used = name == "PORTS" ? usage.tcp : usage.udp;
      std::set<int> ports(used.begin(), used.end());
      for (const auto& p : ArrayOr(resource, "stringSetValue")) {
        if (auto n = ParseInt(AsString(p))) ports.insert(static_cast<int>(*n));
      }
      json::array set;
      for (int p : ports) set.push_back(json::string(std::to_string(p)));
      resource["stringSetValue"] = std::move(set);
    }
    out.push_back(std::move(resource));
  }
  return out;
}

}  // namespace berth::planner
