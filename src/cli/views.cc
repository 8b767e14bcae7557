#include "cli/views.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "model/json_util.h"

namespace berth::cli {

namespace json = boost::json;
using model::ArrayOr;
using model::AsObject;
using model::AsString;
using model::OptInt;
using model::StringOr;

namespace {

std::string Str(const json::object& o, std::string_view key, std::string_view fallback = "") {
  return std::string(StringOr(o, key, fallback));
}

std::string Number(const json::object& o, std::string_view key) {
  std::optional<int64_t> n = OptInt(o, key);
  return n ? std::to_string(*n) : "-";
}

// An ECS timestamp (seconds since the epoch) as "2026-12-07 04:03:20" UTC.
std::string Time(const json::object& o, std::string_view key) {
  std::optional<int64_t> seconds = OptInt(o, key);
  if (!seconds) return "-";
  std::time_t t = *seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

// The integer resource name of registeredResources or remainingResources.
std::string Resource(const json::object& instance, std::string_view list, std::string_view name) {
  for (const auto& r : ArrayOr(instance, list)) {
    if (StringOr(AsObject(r), "name", "") == name) return Number(AsObject(r), "integerValue");
  }
  return "-";
}

std::string FreeOf(const json::object& instance, std::string_view name) {
  return Resource(instance, "remainingResources", name) + "/" +
         Resource(instance, "registeredResources", name);
}

// The ids member of a container holding devices of a platformDevices type.
constexpr std::pair<std::string_view, std::string_view> kDeviceKinds[] = {
    {"NEURON_DEVICE", "neuronDeviceIds"}, {"GPU", "gpuIds"}, {"EFA", "efaDeviceIds"}};

std::string ShortType(std::string_view type) {
  if (type == "NEURON_DEVICE") return "neuron";
  std::string lower(type);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// "neuron:16 efa:8", how many devices of each type the instance has.
std::string DeviceCounts(const json::object& instance) {
  std::map<std::string, int> count;
  std::vector<std::string> order;
  for (const auto& d : ArrayOr(instance, "platformDevices")) {
    std::string type = ShortType(StringOr(AsObject(d), "type", "?"));
    if (count[type]++ == 0) order.push_back(type);
  }
  std::string out;
  for (const auto& type : order) {
    out += (out.empty() ? "" : " ") + type + ":" + std::to_string(count[type]);
  }
  return out.empty() ? "-" : out;
}

std::string Revision(std::string_view definition_arn) {
  std::string_view tail = ArnTail(definition_arn);
  return std::string(tail);
}

}  // namespace

std::string_view ArnTail(std::string_view arn) { return arn.substr(arn.rfind('/') + 1); }

std::string DeviceList(const json::object& container) {
  std::string out;
  for (auto [key, kind] : {std::pair{"neuronDeviceIds", "neuron:"}, std::pair{"gpuIds", "gpu:"},
                           std::pair{"efaDeviceIds", "efa:"}}) {
    const json::array& ids = ArrayOr(container, key);
    if (ids.empty()) continue;
    out += std::string(out.empty() ? "" : ";") + kind;
    for (size_t i = 0; i < ids.size(); ++i) {
      out += (i > 0 ? "," : "") + std::string(ids[i].is_string() ? ids[i].get_string() : "?");
    }
  }
  return out.empty() ? "-" : out;
}

std::string FormatFields(const Fields& fields) {
  size_t width = 0;
  for (const auto& [name, value] : fields) width = std::max(width, name.size());
  std::string out;
  for (const auto& [name, value] : fields) {
    out += name + ":" + std::string(width - name.size() + 2, ' ') + value + "\n";
  }
  return out;
}

TableRows ClusterRows(const json::array& clusters) {
  TableRows rows{{"NAME", "STATUS", "NODES", "RUNNING", "PENDING", "SERVICES"}};
  for (const auto& c : clusters) {
    const json::object& cluster = AsObject(c);
    rows.push_back({Str(cluster, "clusterName"), Str(cluster, "status"),
                    Number(cluster, "registeredContainerInstancesCount"),
                    Number(cluster, "runningTasksCount"), Number(cluster, "pendingTasksCount"),
                    Number(cluster, "activeServicesCount")});
  }
  return rows;
}

Fields ClusterFields(const json::object& cluster) {
  return {{"Name", Str(cluster, "clusterName")},
          {"ARN", Str(cluster, "clusterArn")},
          {"Status", Str(cluster, "status")},
          {"Nodes", Number(cluster, "registeredContainerInstancesCount")},
          {"Running tasks", Number(cluster, "runningTasksCount")},
          {"Pending tasks", Number(cluster, "pendingTasksCount")},
          {"Services", Number(cluster, "activeServicesCount")}};
}

TableRows NodeRows(const json::array& instances) {
  TableRows rows{{"ID", "EC2", "STATUS", "AGENT", "TASKS", "CPU", "MEMORY", "DEVICES"}};
  for (const auto& i : instances) {
    const json::object& instance = AsObject(i);
    rows.push_back(
        {std::string(ArnTail(StringOr(instance, "containerInstanceArn", ""))),
         Str(instance, "ec2InstanceId", "-"), Str(instance, "status"),
         model::BoolOr(instance, "agentConnected", false) ? "connected" : "-",
         Number(instance, "runningTasksCount") + "+" + Number(instance, "pendingTasksCount"),
         FreeOf(instance, "CPU"), FreeOf(instance, "MEMORY"), DeviceCounts(instance)});
  }
  return rows;
}

Fields NodeFields(const json::object& instance) {
  return {
      {"ID", std::string(ArnTail(StringOr(instance, "containerInstanceArn", "")))},
      {"ARN", Str(instance, "containerInstanceArn")},
      {"EC2 instance", Str(instance, "ec2InstanceId", "-")},
      {"Status", Str(instance, "status")},
      {"Agent", model::BoolOr(instance, "agentConnected", false) ? "connected" : "not connected"},
      {"Tasks", Number(instance, "runningTasksCount") + " running, " +
                    Number(instance, "pendingTasksCount") + " pending"},
      {"CPU (free/all)", FreeOf(instance, "CPU")},
      {"Memory (free/all)", FreeOf(instance, "MEMORY")},
      {"Devices", DeviceCounts(instance)}};
}

TableRows NodeDeviceRows(const json::object& instance, const json::array& tasks) {
  // (type, id) -> "task container", for the live tasks on this instance.
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> holder;
  std::string_view arn = StringOr(instance, "containerInstanceArn", "");
  for (const auto& t : tasks) {
    const json::object& task = AsObject(t);
    if (StringOr(task, "containerInstanceArn", "") != arn) continue;
    if (StringOr(task, "lastStatus", "") == "STOPPED") continue;
    for (const auto& c : ArrayOr(task, "containers")) {
      const json::object& container = AsObject(c);
      for (auto [type, key] : kDeviceKinds) {
        for (const auto& id : ArrayOr(container, key)) {
          holder[{std::string(type), std::string(AsString(id))}] = {
              std::string(ArnTail(StringOr(task, "taskArn", ""))), Str(container, "name")};
        }
      }
    }
  }
  TableRows rows{{"TYPE", "ID", "TASK", "CONTAINER"}};
  for (const auto& d : ArrayOr(instance, "platformDevices")) {
    const json::object& device = AsObject(d);
    std::string type = Str(device, "type"), id = Str(device, "id");
    auto held = holder.find({type, id});
    rows.push_back({ShortType(type), id, held == holder.end() ? "-" : held->second.first,
                    held == holder.end() ? "-" : held->second.second});
  }
  return rows;
}

TableRows TaskDefinitionRows(const json::array& arns) {
  TableRows rows{{"FAMILY", "REVISION"}};
  for (const auto& a : arns) {
    std::string tail(ArnTail(AsString(a)));
    size_t colon = tail.rfind(':');
    rows.push_back(
        {tail.substr(0, colon), colon == std::string::npos ? "-" : tail.substr(colon + 1)});
  }
  return rows;
}

Fields TaskDefinitionFields(const json::object& definition) {
  return {{"Family", Str(definition, "family")},
          {"Revision", Number(definition, "revision")},
          {"ARN", Str(definition, "taskDefinitionArn")},
          {"Status", Str(definition, "status")},
          {"Network mode", Str(definition, "networkMode", "-")},
          {"CPU", Str(definition, "cpu", "-")},
          {"Memory", Str(definition, "memory", "-")}};
}

TableRows ContainerDefinitionRows(const json::object& definition) {
  TableRows rows{{"NAME", "IMAGE", "CPU", "MEMORY", "ESSENTIAL"}};
  for (const auto& c : ArrayOr(definition, "containerDefinitions")) {
    const json::object& container = AsObject(c);
    rows.push_back({Str(container, "name"), Str(container, "image"), Number(container, "cpu"),
                    Number(container, "memory"),
                    model::BoolOr(container, "essential", true) ? "yes" : "no"});
  }
  return rows;
}

TableRows TaskRows(const json::array& tasks) {
  TableRows rows{{"ID", "DEFINITION", "STATUS", "DESIRED", "NODE", "GROUP", "REASON"}};
  for (const auto& t : tasks) {
    const json::object& task = AsObject(t);
    rows.push_back({std::string(ArnTail(StringOr(task, "taskArn", ""))),
                    Revision(StringOr(task, "taskDefinitionArn", "")), Str(task, "lastStatus"),
                    Str(task, "desiredStatus"),
                    std::string(ArnTail(StringOr(task, "containerInstanceArn", "-"))),
                    Str(task, "group", "-"), Str(task, "stoppedReason")});
  }
  return rows;
}

Fields TaskFields(const json::object& task) {
  Fields fields{
      {"ID", std::string(ArnTail(StringOr(task, "taskArn", "")))},
      {"ARN", Str(task, "taskArn")},
      {"Definition", Revision(StringOr(task, "taskDefinitionArn", ""))},
      {"Status", Str(task, "lastStatus") + " (desired " + Str(task, "desiredStatus") + ")"},
      {"Node", std::string(ArnTail(StringOr(task, "containerInstanceArn", "-")))},
      {"Group", Str(task, "group", "-")},
      {"Created", Time(task, "createdAt")},
      {"Started", Time(task, "startedAt")}};
  if (task.contains("stoppedAt")) fields.push_back({"Stopped", Time(task, "stoppedAt")});
  if (task.contains("stopCode")) fields.push_back({"Stop code", Str(task, "stopCode")});
  if (task.contains("stoppedReason")) fields.push_back({"Reason", Str(task, "stoppedReason")});
  return fields;
}

TableRows ContainerRows(const json::object& task) {
  TableRows rows{{"NAME", "STATUS", "EXIT", "DEVICES", "REASON"}};
  for (const auto& c : ArrayOr(task, "containers")) {
    const json::object& container = AsObject(c);
    rows.push_back({Str(container, "name"), Str(container, "lastStatus"),
                    Number(container, "exitCode"), DeviceList(container),
                    Str(container, "reason")});
  }
  return rows;
}

TableRows ServiceRows(const json::array& services) {
  TableRows rows{{"NAME", "STATUS", "DESIRED", "RUNNING", "PENDING", "DEFINITION"}};
  for (const auto& s : services) {
    const json::object& service = AsObject(s);
    rows.push_back({Str(service, "serviceName"), Str(service, "status"),
                    Number(service, "desiredCount"), Number(service, "runningCount"),
                    Number(service, "pendingCount"),
                    Revision(StringOr(service, "taskDefinition", ""))});
  }
  return rows;
}

Fields ServiceFields(const json::object& service) {
  return {
      {"Name", Str(service, "serviceName")},
      {"ARN", Str(service, "serviceArn")},
      {"Status", Str(service, "status")},
      {"Definition", Revision(StringOr(service, "taskDefinition", ""))},
      {"Scheduling", Str(service, "schedulingStrategy", "REPLICA")},
      {"Tasks", Number(service, "desiredCount") + " desired, " + Number(service, "runningCount") +
                    " running, " + Number(service, "pendingCount") + " pending"},
      {"Created", Time(service, "createdAt")}};
}

TableRows DeploymentRows(const json::object& service) {
  TableRows rows{{"ID", "STATUS", "ROLLOUT", "DESIRED", "RUNNING", "PENDING", "DEFINITION"}};
  for (const auto& d : ArrayOr(service, "deployments")) {
    const json::object& deployment = AsObject(d);
    rows.push_back({Str(deployment, "id"), Str(deployment, "status"),
                    Str(deployment, "rolloutState", "-"), Number(deployment, "desiredCount"),
                    Number(deployment, "runningCount"), Number(deployment, "pendingCount"),
                    Revision(StringOr(deployment, "taskDefinition", ""))});
  }
  return rows;
}

TableRows EventRows(const json::object& service, size_t last) {
  // ECS lists a service's events newest first.
  const json::array& events = ArrayOr(service, "events");
  size_t n = std::min(last, events.size());
  TableRows rows{{"TIME", "MESSAGE"}};
  for (size_t i = n; i-- > 0;) {
    const json::object& event = AsObject(events[i]);
    rows.push_back({Time(event, "createdAt"), Str(event, "message")});
  }
  return rows;
}

TableRows ImageRows(const std::vector<std::pair<std::string, json::array>>& images) {
  TableRows rows{{"REPOSITORY", "TAG", "DIGEST"}};
  for (const auto& [repository, ids] : images) {
    for (const auto& i : ids) {
      const json::object& id = AsObject(i);
      rows.push_back({repository, Str(id, "imageTag", "-"), Str(id, "imageDigest")});
    }
  }
  return rows;
}

}  // namespace berth::cli
