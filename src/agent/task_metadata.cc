#include "agent/task_metadata.h"

#include <charconv>

#include "common/clock.h"

namespace berth::agent {

namespace json = boost::json;

namespace {

// The ECS agent's floor for a container's CPU in the metadata.
constexpr int64_t kMinimumCpuUnits = 2;

void PutTime(json::object& o, std::string_view key, int64_t millis) {
  if (millis > 0) o[key] = FormatRfc3339(millis);
}

json::array Ids(const std::vector<int>& ids) {
  json::array out;
  for (int id : ids) out.push_back(json::value(std::to_string(id)));
  return out;
}

std::optional<double> Number(const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

json::array Networks(const TaskSnapshot& task) {
  json::object network;
  if (task.network_mode == "host") {
    network["NetworkMode"] = "host";
    if (!task.host_address.empty()) {
      network["IPv4Addresses"] = json::array{json::value(task.host_address)};
    }
  } else {
    // A namespace of its own with loopback only.
    network["NetworkMode"] = task.network_mode.empty() ? "none" : task.network_mode;
    network["IPv4Addresses"] = json::array{"127.0.0.1"};
  }
  return json::array{std::move(network)};
}

}  // namespace

const ContainerSnapshot* TaskSnapshot::Find(std::string_view container) const {
  for (const ContainerSnapshot& c : containers) {
    if (c.name == container) return &c;
  }
  return nullptr;
}

json::object ContainerMetadataJson(const TaskSnapshot& task, const ContainerSnapshot& c) {
  json::object o{{"DockerId", c.runtime_id},      {"Name", c.name},
                 {"DockerName", c.runtime_id},    {"Image", c.image},
                 {"ImageID", c.image_id},         {"DesiredStatus", c.desired_status},
                 {"KnownStatus", c.known_status}, {"Type", "NORMAL"}};
  if (!c.labels.empty()) o["Labels"] = c.labels;
  if (c.exit_code) o["ExitCode"] = *c.exit_code;
  o["Limits"] = json::object{{"CPU", static_cast<double>(std::max(c.cpu, kMinimumCpuUnits))},
                             {"Memory", c.memory_mib}};
  PutTime(o, "CreatedAt", c.created_at);
  PutTime(o, "StartedAt", c.started_at);
  PutTime(o, "FinishedAt", c.finished_at);
  if (c.health) {
    json::object health;
    // ECS leaves an UNKNOWN status out.
    if (*c.health != "UNKNOWN") health["status"] = *c.health;
    PutTime(health, "statusSince", c.health_since);
    o["Health"] = std::move(health);
  }
  if (!c.log_driver.empty()) o["LogDriver"] = c.log_driver;
  if (!c.log_options.empty()) o["LogOptions"] = c.log_options;
  if (!c.container_arn.empty()) o["ContainerARN"] = c.container_arn;
  o["Networks"] = Networks(task);
  o["Snapshotter"] = "overlayfs";
  if (c.restart_count) o["RestartCount"] = *c.restart_count;
  json::object berth;
  if (!c.neuron_device_ids.empty()) berth["NeuronDeviceIds"] = Ids(c.neuron_device_ids);
  if (!c.gpu_ids.empty()) berth["GpuIds"] = Ids(c.gpu_ids);
  if (!c.efa_device_ids.empty()) berth["EfaDeviceIds"] = Ids(c.efa_device_ids);
  if (!berth.empty()) o["Berth"] = std::move(berth);
  return o;
}

json::object TaskMetadataJson(const TaskSnapshot& task, bool with_tags) {
  json::object o{{"Cluster", task.cluster_arn},
                 {"TaskARN", task.task_arn},
                 {"Family", task.family},
                 {"Revision", task.revision},
                 {"DesiredStatus", task.desired_status},
                 {"KnownStatus", task.known_status}};
  // Task-level limits as the ECS agent shows them: vCPUs and MiB, each
  // only when the definition sets it.
  json::object limits;
  if (auto cpu = Number(task.task_cpu); cpu && *cpu > 0) limits["CPU"] = *cpu / 1024.0;
  if (auto memory = Number(task.task_memory); memory && *memory > 0) {
    limits["Memory"] = static_cast<int64_t>(*memory);
  }
  if (!limits.empty()) o["Limits"] = std::move(limits);
  PutTime(o, "PullStartedAt", task.pull_started_at);
  PutTime(o, "PullStoppedAt", task.pull_stopped_at);
  PutTime(o, "ExecutionStoppedAt", task.execution_stopped_at);
  if (!task.availability_zone.empty()) o["AvailabilityZone"] = task.availability_zone;
  o["LaunchType"] = task.launch_type;
  json::array containers;
  for (const ContainerSnapshot& c : task.containers) {
    containers.push_back(ContainerMetadataJson(task, c));
  }
  o["Containers"] = std::move(containers);
  if (with_tags) {
    json::object tags;
    for (const json::value& t : task.tags) {
      if (!t.is_object()) continue;
      const json::value* key = t.as_object().if_contains("key");
      const json::value* value = t.as_object().if_contains("value");
      if (key && key->is_string()) {
        tags[key->as_string()] = value && value->is_string() ? value->as_string() : "";
      }
    }
    o["TaskTags"] = std::move(tags);
  }
  o["FaultInjectionEnabled"] = false;
  if (!task.gang.empty()) {
    json::object gang;
    for (auto [from, to] : {std::pair{"name", "Name"}, std::pair{"rank", "Rank"},
                            std::pair{"size", "Size"}, std::pair{"attempt", "Attempt"}}) {
      if (const json::value* v = task.gang.if_contains(from)) gang[to] = *v;
    }
    o["Berth"] = json::object{{"Gang", std::move(gang)}};
  }
  return o;
}

}  // namespace berth::agent
