// ECS container instances: RegisterContainerInstance,
// DeregisterContainerInstance, DescribeContainerInstances,
// ListContainerInstances, UpdateContainerInstancesState.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <set>
#include <utility>

#include "common/crypto.h"
#include "model/json_util.h"
#include "model/unknown_members.h"
#include "planner/task_placement.h"
#include "scheduler/query.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_attributes.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {

using planner::InstanceSnapshot;

namespace json = boost::json;

namespace {

bool IsPort(std::string_view text) {
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc() && end == text.data() + text.size() && port >= 1 && port <= 65535;
}

// The resources an instance offers: CPU and MEMORY as non-negative
// INTEGERs, PORTS and PORTS_UDP as sets of port numbers, each name once.
void ValidateResources(const json::array& resources) {
  std::set<std::string_view> names;
  for (const auto& r : resources) {
    const auto& resource = r.as_object();
    std::string_view name = StringOr(resource, "name", "");
    std::string_view type = StringOr(resource, "type", "");
    if (name.empty()) Fail("InvalidParameterException", "totalResources: a resource has no name");
    if (!names.insert(name).second) {
      Fail("InvalidParameterException", "totalResources: " + std::string(name) + " given twice");
    }
    if (name == "CPU" || name == "MEMORY") {
      if (type != "INTEGER" || OptInt(resource, "integerValue").value_or(-1) < 0) {
        Fail("InvalidParameterException", "totalResources: " + std::string(name) +
                                              " must be of type INTEGER with a non-negative "
                                              "integerValue");
      }
    }
    if (name == "PORTS" || name == "PORTS_UDP") {
      if (type != "STRINGSET") {
        Fail("InvalidParameterException",
             "totalResources: " + std::string(name) + " must be of type STRINGSET");
      }
      for (const auto& port : ArrayOr(resource, "stringSetValue")) {
        if (!IsPort(AsString(port))) {
          Fail("InvalidParameterException", "totalResources: " + std::string(name) +
                                                ": not a port number: '" +
                                                std::string(AsString(port)) + "'");
        }
      }
    }
  }
}

void ValidatePlatformDevices(const json::array& devices) {
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (const auto& d : devices) {
    const auto& device = d.as_object();
    std::string_view id = StringOr(device, "id", "");
    std::string_view type = StringOr(device, "type", "");
    if (id.empty()) Fail("InvalidParameterException", "platformDevices: a device has an empty id");
    if (!seen.emplace(type, id).second) {
      Fail("InvalidParameterException",
           "platformDevices: " + std::string(type) + " " + std::string(id) + " given twice");
    }
  }
  // connectedTo (berth's topology extension) links devices of the same type
  // that the instance registers; a link elsewhere would mislead placement.
  for (const auto& d : devices) {
    const auto& device = d.as_object();
    std::string_view id = StringOr(device, "id", "");
    std::string_view type = StringOr(device, "type", "");
    for (const auto& l : ArrayOr(device, "connectedTo")) {
      std::string_view to = AsString(l);
      if (to == id || !seen.contains({type, to})) {
        Fail("InvalidParameterException",
             "platformDevices: " + std::string(type) + " " + std::string(id) +
                 ": connectedTo names '" + std::string(to) + "', which is not another registered " +
                 std::string(type));
      }
    }
  }
}

std::string Ec2InstanceId(const json::object& in) {
  if (auto doc = OptString(in, "instanceIdentityDocument")) {
    boost::system::error_code ec;
    json::value v = json::parse(*doc, ec);
    if (!ec && v.is_object()) {
      if (auto id = OptString(v.as_object(), "instanceId")) return std::string(*id);
    }
  }
  return "i-" + HexEncode(RandomBytes(9)).substr(0, 17);
}

}  // namespace

json::object EcsApi::InstanceView(const json::object& record, bool tags, int64_t now_millis) const {
  json::object view = record;
  if (!tags) view.erase("tags");
  view.erase(InstanceRecord::kAgentKey);
  view["agentConnected"] = AgentConnected(record, now_millis);
  return view;
}

const json::object* EcsApi::FindInstance(std::string_view cluster, std::string_view ref) const {
  auto c = instances_.find(cluster);
  if (c == instances_.end()) return nullptr;
  auto it = c->second.find(ContainerInstanceId(ref));
  return it == c->second.end() ? nullptr : &it->second;
}

json::object* EcsApi::FindInstance(std::string_view cluster, std::string_view ref) {
  return const_cast<json::object*>(std::as_const(*this).FindInstance(cluster, ref));
}

Reply EcsApi::RegisterContainerInstance(json::object& in, const CallContext& ctx) {
  std::string cluster_name = ClusterName(StringOr(in, "cluster", "default"));
  // An agent without a configured cluster joins "default", which ECS
  // creates on first use; every other cluster must exist.
  store::Batch batch;
  if (cluster_name == "default" && !clusters_.contains("default")) {
    batch.push_back(store::Mutation::Put(ClusterKey("default"), ""));  // filled in below
  } else {
    ActiveCluster(cluster_name);
  }
  const json::array& resources = ArrayOr(in, "totalResources");
  ValidateResources(resources);
  ValidatePlatformDevices(ArrayOr(in, "platformDevices"));
  ValidateAttributes(ArrayOr(in, "attributes"), /*need_target=*/false);
  ValidateTags(ArrayOr(in, "tags"));

  json::object record;
  std::string id;
  const bool re_registration = OptString(in, "containerInstanceArn").has_value();
  if (auto arn = OptString(in, "containerInstanceArn")) {
    // Re-registration by an agent that kept its ARN: same instance, new facts.
    json::object* existing = FindInstance(cluster_name, *arn);
    if (existing == nullptr) {
      Fail("InvalidParameterException", "Container instance " + std::string(*arn) +
                                            " is not registered in cluster " + cluster_name);
    }
    if (InstanceRecord(*existing).is_inactive()) {
      Fail("ClientException", "Container instance " + std::string(*arn) +
                                  " was deregistered; register it as a new instance");
    }
    record = *existing;
    id = ContainerInstanceId(*arn);
    MutableInstanceRecord(record).BumpVersion();
  } else {
    std::string uuid = NewUuid();
    std::erase(uuid, '-');
    id = uuid;
    record["containerInstanceArn"] =
        MakeArn(scope_, "ecs", "container-instance/" + cluster_name + "/" + id);
    record["ec2InstanceId"] = Ec2InstanceId(in);
    record["version"] = 1;
    record["agentConnected"] = false;
    record["attachments"] = json::array();
  }
  MutableInstanceRecord(record).SetStatus(kActive);
  record["registeredAt"] = static_cast<double>(ctx.now_millis) / 1000.0;
  record["registeredResources"] = resources;
  record["versionInfo"] = in.contains("versionInfo") ? in.at("versionInfo") : json::object();
  record["attributes"] = ArrayOr(in, "attributes");
  record["tags"] = ArrayOr(in, "tags");
  record["platformDevices"] = ArrayOr(in, "platformDevices");
  model::CarryUnknownMembers(in, record);
  // A re-registered instance keeps its tasks; a new one has none.
  WriteDerivedFields(record, instance_tasks_[cluster_name][id]);

  json::object default_cluster;
  if (!batch.empty()) {
    default_cluster = NewClusterRecord("default", json::object());
    batch.back().value = json::serialize(default_cluster);
  }
  batch.push_back(store::Mutation::Put(InstanceKey(cluster_name, id), json::serialize(record)));
  EmitEvent(ctx.now_millis, "InstanceRegistered", cluster_name,
            {std::string(StringOr(record, "containerInstanceArn", ""))},
            "container instance " + id + " registered");
  uint64_t seq = Commit(std::move(batch));
  if (!default_cluster.empty()) clusters_["default"] = std::move(default_cluster);
  auto& stored = instances_[cluster_name][id] = std::move(record);
  InstanceRegistered(cluster_name, id, re_registration, ctx.now_millis);
  return {json::object{{"containerInstance", InstanceView(stored, true, ctx.now_millis)}}, seq};
}

Reply EcsApi::DeregisterContainerInstance(json::object& in, const CallContext& ctx) {
  std::string cluster_name = ActiveClusterName(StringOr(in, "cluster", ""));
  std::string_view ref = StringOr(in, "containerInstance", "");
  json::object* instance = FindInstance(cluster_name, ref);
  if (instance == nullptr) {
    Fail("InvalidParameterException", "Container instance " + std::string(ref) +
                                          " is not registered in cluster " + cluster_name);
  }
  MutableInstanceRecord view(*instance);
  if (view.is_inactive()) {
    return {json::object{{"containerInstance", InstanceView(*instance, true, ctx.now_millis)}}};
  }
  std::string id = ContainerInstanceId(ref);
  if (!BoolOr(in, "force", false) && !TasksOn(cluster_name, id).empty()) {
    Fail("InvalidParameterException",
         "Found running tasks on the instance; stop them or deregister with force");
  }
  double now = static_cast<double>(ctx.now_millis) / 1000.0;
  // ECS leaves the tasks of a force-deregistered instance alone; berth stops
  // them, since nothing would ever run them there: a task on an instance
  // without an agent stops now and frees what it holds; where an agent
  // joined, its desired status becomes STOPPED for the agent to stop it.
  store::Batch batch;
  const bool agent = view.has_agent();
  std::vector<std::string> changed;
  if (auto c = tasks_.find(cluster_name); c != tasks_.end()) {
    for (const json::object* on : TasksOn(cluster_name, id)) {
      std::string task_id = TaskRecord(*on).id();
      json::object& task = c->second.at(task_id);
      MutableTaskRecord record(task);
      changed.push_back(task_id);
      if (agent && record.stop_requested()) continue;
      record.RequestStop("Container instance deregistered", now);
      if (!agent) record.StopNow(now);
      record.BumpVersion();
      batch.push_back(store::Mutation::Put(TaskKey(cluster_name, task_id), json::serialize(task)));
    }
  }
  view.SetStatus(kInactive);
  view.SetAgentConnected(false);
  view.BumpVersion();
  InvalidatePlacer(cluster_name);
  // Counts and remaining resources after the stopped tasks.
  AccountTasks(cluster_name, id, changed);
  batch.push_back(store::Mutation::Put(InstanceKey(cluster_name, id), json::serialize(*instance)));
  EmitEvent(ctx.now_millis, "InstanceDeregistered", cluster_name,
            {std::string(StringOr(*instance, "containerInstanceArn", ""))},
            "container instance " + id + " deregistered");
  uint64_t seq = Commit(std::move(batch));
  // A held poll of its agent is answered now: its key no longer resolves.
  agents_.Bump(id);
  return {json::object{{"containerInstance", InstanceView(*instance, true, ctx.now_millis)}}, seq};
}

Reply EcsApi::DescribeContainerInstances(json::object& in, const CallContext& ctx) {
  std::string cluster_name = ActiveClusterName(StringOr(in, "cluster", ""));
  const json::array& refs = ArrayOr(in, "containerInstances");
  if (refs.empty() || refs.size() > 100) {
    Fail("InvalidParameterException", "containerInstances must name 1 to 100 instances");
  }
  bool tags = ListContains(in, "include", "TAGS");
  json::array found, failures;
  for (const auto& r : refs) {
    std::string_view ref = AsString(r);
    json::object* instance = FindInstance(cluster_name, ref);
    if (instance == nullptr) {
      std::string arn =
          ref.starts_with("arn:")
              ? std::string(ref)
              : MakeArn(scope_, "ecs",
                        "container-instance/" + cluster_name + "/" + std::string(ref));
      failures.push_back(json::object{{"arn", arn}, {"reason", "MISSING"}});
      continue;
    }
    found.push_back(InstanceView(*instance, tags, ctx.now_millis));
  }
  return {
      json::object{{"containerInstances", std::move(found)}, {"failures", std::move(failures)}}};
}

Reply EcsApi::ListContainerInstances(json::object& in, const CallContext& ctx) {
  std::string cluster_name = ActiveClusterName(StringOr(in, "cluster", ""));
  std::optional<scheduler::Query> filter;
  if (auto text = OptString(in, "filter")) {
    auto parsed = scheduler::Query::Parse(*text);
    if (!parsed.ok()) Fail("InvalidParameterException", "filter: " + parsed.status().message());
    filter = std::move(*parsed);
  }
  auto status = OptString(in, "status");
  Pager pager(page_tokens_, in, 100);
  if (auto c = instances_.find(cluster_name); c != instances_.end()) {
    for (auto it = c->second.upper_bound(pager.after()); it != c->second.end(); ++it) {
      const InstanceRecord instance(it->second);
      if (status ? instance.status() != *status : instance.is_inactive()) continue;
      if (filter && !filter->Matches(InstanceSnapshot(it->second, TasksOn(cluster_name, it->first),
                                                      AgentConnected(it->second, ctx.now_millis))
                                         .facts)) {
        continue;
      }
      if (!pager.Add(it->first, json::string(instance.arn()))) break;
    }
  }
  json::object reply;
  pager.Finish(reply, "containerInstanceArns");
  return {std::move(reply)};
}

Reply EcsApi::UpdateContainerInstancesState(json::object& in, const CallContext& ctx) {
  std::string cluster_name = ActiveClusterName(StringOr(in, "cluster", ""));
  std::string_view status = StringOr(in, "status", "");
  if (status != kActive && status != kDraining) {
    Fail("InvalidParameterException",
         "status must be ACTIVE or DRAINING, got " + std::string(status));
  }
  const json::array& refs = ArrayOr(in, "containerInstances");
  if (refs.empty() || refs.size() > 10) {
    Fail("InvalidParameterException", "containerInstances must name 1 to 10 instances");
  }
  json::array updated_view, failures;
  store::Batch batch;
  std::vector<std::pair<json::object*, json::object>> changes;
  for (const auto& r : refs) {
    std::string_view ref = AsString(r);
    json::object* instance = FindInstance(cluster_name, ref);
    if (instance == nullptr || InstanceRecord(*instance).is_inactive()) {
      failures.push_back(json::object{{"arn", std::string(ref)}, {"reason", "MISSING"}});
      continue;
    }
    json::object updated = *instance;
    if (MutableInstanceRecord record(updated); record.status() != status) {
      record.SetStatus(status);
      record.BumpVersion();
      EmitEvent(ctx.now_millis, status == kDraining ? "InstanceDraining" : "InstanceActive",
                cluster_name, {std::string(StringOr(updated, "containerInstanceArn", ""))},
                "container instance " + ContainerInstanceId(ref) + " is " + std::string(status));
      batch.push_back(store::Mutation::Put(InstanceKey(cluster_name, ContainerInstanceId(ref)),
                                           json::serialize(updated)));
    }
    updated_view.push_back(InstanceView(updated, false, ctx.now_millis));
    changes.emplace_back(instance, std::move(updated));
  }
  const bool changed = !batch.empty();
  uint64_t seq = changed ? Commit(std::move(batch)) : 0;
  for (auto& [instance, updated] : changes) *instance = std::move(updated);
  if (changed) InvalidatePlacer(cluster_name);  // DRAINING instances take no tasks
  return {json::object{{"containerInstances", std::move(updated_view)},
                       {"failures", std::move(failures)}},
          seq};
}

}  // namespace berth::server::api
