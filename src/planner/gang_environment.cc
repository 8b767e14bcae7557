#include "planner/gang_environment.h"

#include <boost/json/array.hpp>
#include <set>

#include "model/json_util.h"
#include "scheduler/placement_reservation.h"

namespace berth::planner {

using model::ArrayOr;
using model::AsObject;
using model::StringOr;

namespace json = boost::json;

namespace {

// MASTER_PORT and the Neuron runtime's root communicator.
constexpr int kRendezvousPorts = 2;

std::string AddressOf(const scheduler::SnapshotInstance* instance) {
  if (instance == nullptr) return "";
  auto it = instance->facts.attributes.find(std::string(kAddressAttribute));
  return it == instance->facts.attributes.end() ? "" : it->second;
}

// The names an `environment` list sets.
void NamesOf(const json::array& environment, std::set<std::string, std::less<>>& names) {
  for (const auto& v : environment) names.emplace(StringOr(AsObject(v), "name", ""));
}

}  // namespace

StatusOr<std::optional<scheduler::PlacementFailure>> ReserveRendezvous(
    scheduler::Placer& cluster, const scheduler::PlacementRequest& request,
    std::vector<scheduler::TaskPlacement>& ranks, GangRendezvous& rendezvous) {
  if (ranks.empty()) return Internal("a gang's rendezvous needs rank 0");
  scheduler::TaskPlacement& first = ranks[0];
  const scheduler::SnapshotInstance* instance = cluster.Find(first.instance_id);
  if (instance == nullptr) {
    return Internal("rank 0's container instance " + first.instance_id + " is not in the Placer");
  }
  std::vector<int> ports =
      scheduler::FreeHostPorts(instance->resources, scheduler::PortProtocol::kTcp,
                               kRendezvousPortFirst, kRendezvousPortLast, kRendezvousPorts);
  if (static_cast<int>(ports.size()) < kRendezvousPorts) {
    return std::optional<scheduler::PlacementFailure>(scheduler::PlacementFailure{
        std::string(scheduler::kReasonPorts),
        "rank 0's container instance " + first.instance_id + " has " +
            std::to_string(ports.size()) + " free TCP port(s) in " +
            std::to_string(kRendezvousPortFirst) + "-" + std::to_string(kRendezvousPortLast) +
            ", the gang's rendezvous needs " + std::to_string(kRendezvousPorts) +
            " (MASTER_PORT, NEURON_RT_ROOT_COMM_ID)"});
  }
  // Rank 0's task holds the ports as its own: taken back and placed again
  // with them, under the caller's hold on the Placer, so they are reserved,
  // recorded and given back with the task's static ports.
  scheduler::TaskPlacement with_ports = first;
  for (int port : ports) with_ports.host_ports.push_back({port, scheduler::PortProtocol::kTcp});
  BERTH_RETURN_IF_ERROR(cluster.Release(request, first).WithContext("rendezvous ports"));
  if (Status applied = cluster.Apply(request, with_ports); !applied.ok()) {
    (void)cluster.Apply(request, first);
    return applied.WithContext("rendezvous ports");
  }
  first = std::move(with_ports);
  rendezvous.master_port = ports[0];
  rendezvous.neuron_comm_port = ports[1];
  rendezvous.addresses.clear();
  for (const scheduler::TaskPlacement& rank : ranks) {
    rendezvous.addresses.push_back(AddressOf(cluster.Find(rank.instance_id)));
  }
  return std::optional<scheduler::PlacementFailure>();
}

Environment GangEnvironment(const GangMember& member, const GangRendezvous& rendezvous) {
  const std::string rank = std::to_string(member.rank);
  const std::string size = std::to_string(member.size);
  const std::string master =
      rendezvous.addresses.empty() ? std::string() : rendezvous.addresses.front();
  Environment env{{"RANK", rank}, {"WORLD_SIZE", size}, {"NODE_RANK", rank}};
  if (!master.empty()) env.emplace_back("MASTER_ADDR", master);
  env.emplace_back("MASTER_PORT", std::to_string(rendezvous.master_port));
  env.emplace_back("BERTH_GANG", std::string(member.gang));
  env.emplace_back("BERTH_GANG_RANK", rank);
  env.emplace_back("BERTH_GANG_SIZE", size);
  env.emplace_back("BERTH_GANG_ATTEMPT", std::to_string(member.attempt));
  std::string hosts;
  bool every_rank = !rendezvous.addresses.empty();
  for (const std::string& address : rendezvous.addresses) {
    every_rank &= !address.empty();
    if (!hosts.empty()) hosts += ',';
    hosts += address;
  }
  if (every_rank) env.emplace_back("BERTH_GANG_HOSTS", hosts);
  if (!master.empty()) {
    // host:port, an IPv6 address in brackets.
    const bool v6 = master.find(':') != std::string::npos;
    env.emplace_back("NEURON_RT_ROOT_COMM_ID", (v6 ? "[" + master + "]" : master) + ":" +
                                                   std::to_string(rendezvous.neuron_comm_port));
  }
  return env;
}

void AddDefaultEnvironment(json::object& overrides, const json::object& task_definition,
                           const Environment& env) {
  json::value& list_value = overrides["containerOverrides"];
  if (!list_value.is_array()) list_value = json::array();
  json::array& list = list_value.get_array();
  json::array added;
  for (const auto& c : ArrayOr(task_definition, "containerDefinitions")) {
    const json::object& container = AsObject(c);
    const std::string_view name = StringOr(container, "name", "");
    std::set<std::string, std::less<>> named;
    NamesOf(ArrayOr(container, "environment"), named);
    std::vector<json::object*> entries;
    for (auto& o : list) {
      if (o.is_object() && StringOr(o.get_object(), "name", "") == name) {
        entries.push_back(&o.get_object());
        NamesOf(ArrayOr(o.get_object(), "environment"), named);
      }
    }
    json::array missing;
    for (const auto& [key, value] : env) {
      if (!named.contains(key)) missing.push_back(json::object{{"name", key}, {"value", value}});
    }
    if (missing.empty()) continue;
    if (entries.empty()) {
      added.push_back(json::object{{"name", name}, {"environment", std::move(missing)}});
      continue;
    }
    for (json::object* entry : entries) {
      json::value& environment = (*entry)["environment"];
      if (!environment.is_array()) environment = json::array();
      for (const auto& v : missing) environment.get_array().push_back(v);
    }
  }
  for (auto& entry : added) list.push_back(std::move(entry));
}

}  // namespace berth::planner
