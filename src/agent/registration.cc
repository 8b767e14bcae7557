#include "agent/registration.h"

#include <sys/utsname.h>

#include <set>

#include "awsjson/client.h"
#include "common/log.h"
#include "http/local_address.h"

namespace berth::agent {

namespace json = boost::json;

namespace {

// What the ECS agent reserves by default (SSH, Docker, the ECS agent's own
// ports); berth keeps the same set so task definitions behave alike.
const std::set<std::string> kReservedPorts = {"22", "2375", "2376", "51678", "51679"};

std::string CpuArchitecture() {
  utsname u{};
  uname(&u);
  std::string machine = u.machine;
  if (machine == "aarch64") return "arm64";
  return machine;  // x86_64, as ECS names it
}

}  // namespace

std::string NodeAddress(const AgentConfig& config) {
  if (!config.address.empty()) return config.address;
  // Of several servers, the first: they are one control plane's.
  auto servers = awsjson::ParseEndpoints(config.server);
  StatusOr<std::string> local =
      servers.ok() ? http::LocalAddressToward(servers->front().host, servers->front().port)
                   : StatusOr<std::string>(servers.status());
  if (local.ok()) return *local;
  LogWarn("no node address found; gangs will not be told this node's (set --address)",
          {{"server", config.server}, {"error", local.status().message()}});
  return "";
}

StatusOr<json::object> RegistrationRequest(const AgentConfig& config, const NodeDevices& devices,
                                           const std::string& previous_arn, uint16_t agent_port,
                                           const std::string& node_address) {
  json::object in;
  in["cluster"] = config.cluster;
  if (!previous_arn.empty()) in["containerInstanceArn"] = previous_arn;

  json::array ports;
  std::set<std::string> reserved = kReservedPorts;
  if (agent_port != 0) reserved.insert(std::to_string(agent_port));
  for (const auto& p : reserved) ports.push_back(json::string(p));
  in["totalResources"] = json::array{
      json::object{{"name", "CPU"}, {"type", "INTEGER"}, {"integerValue", devices.cpu_units}},
      json::object{{"name", "MEMORY"}, {"type", "INTEGER"}, {"integerValue", devices.memory_mib}},
      json::object{{"name", "PORTS"}, {"type", "STRINGSET"}, {"stringSetValue", ports}},
      json::object{{"name", "PORTS_UDP"}, {"type", "STRINGSET"}, {"stringSetValue", json::array{}}},
  };

  json::array attributes{
      json::object{{"name", "ecs.os-type"}, {"value", "linux"}},
      json::object{{"name", "ecs.cpu-architecture"}, {"value", CpuArchitecture()}}};
  if (!config.instance_type.empty()) {
    attributes.push_back(
        json::object{{"name", "ecs.instance-type"}, {"value", config.instance_type}});
  }
  if (!config.availability_zone.empty()) {
    attributes.push_back(
        json::object{{"name", "ecs.availability-zone"}, {"value", config.availability_zone}});
  }
  if (!node_address.empty()) {
    if (!http::IsIpAddress(node_address)) {
      return InvalidArgument("--address \"" + node_address + "\": not an IP address");
    }
    attributes.push_back(json::object{{"name", kAddressAttribute}, {"value", node_address}});
  }
  for (const auto& a : config.attributes) {
    size_t eq = a.find('=');
    std::string name = a.substr(0, eq);
    if (name.empty()) return InvalidArgument("--attribute \"" + a + "\": want name=value or name");
    if (name == kAddressAttribute) {
      return InvalidArgument("--attribute \"" + a + "\": the node address is set with --address");
    }
    json::object attr{{"name", name}};
    if (eq != std::string::npos) attr["value"] = a.substr(eq + 1);
    attributes.push_back(std::move(attr));
  }
  in["attributes"] = std::move(attributes);

  json::array platform;
  for (const auto& d : devices.neuron) {
    json::array links;
    for (int peer : d.connected) links.push_back(json::string(std::to_string(peer)));
    platform.push_back(json::object{{"id", std::to_string(d.index)},
                                    {"type", "NEURON_DEVICE"},
                                    {"connectedTo", std::move(links)}});
  }
  for (const auto& g : devices.gpus) {
    platform.push_back(json::object{{"id", std::to_string(g.index)}, {"type", "GPU"}});
  }
  for (int index : devices.efa) {
    platform.push_back(json::object{{"id", std::to_string(index)}, {"type", "EFA"}});
  }
  if (!platform.empty()) in["platformDevices"] = std::move(platform);
  in["versionInfo"] = json::object{{"agentVersion", kAgentVersion}, {"agentHash", "berth"}};
  return in;
}

}  // namespace berth::agent
