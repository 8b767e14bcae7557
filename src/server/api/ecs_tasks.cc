// ECS tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks.
//
// Placement runs under the exclusive lock on a snapshot built from the
// records in memory, so two RunTask calls never book the same resources;
// the tasks and the instances they change are committed in one batch.
#include <boost/json/serialize.hpp>
#include <set>

#include "common/crypto.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_task_placement.h"
#include "server/api/json_util.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

constexpr int64_t kHourMillis = 3600 * 1000;
constexpr std::string_view kGangTag = "berth:gang";
constexpr std::string_view kGangSameAttributeTag = "berth:gang-same-attribute";
constexpr std::string_view kGangRankTag = "berth:gang-rank";

std::optional<std::string> TagValue(const json::array& tags, std::string_view key) {
  for (const auto& t : tags) {
    if (StringOr(t.as_object(), "key", "") == key) {
      return std::string(StringOr(t.as_object(), "value", ""));
    }
  }
  return std::nullopt;
}

bool IsStopped(const json::object& task) { return AsString(task.at("lastStatus")) == "STOPPED"; }

json::array IdArray(const std::vector<int>& ids) {
  json::array out;
  for (int id : ids) out.push_back(json::string(std::to_string(id)));
  return out;
}

std::string TaskId(std::string_view ref) { return std::string(ref.substr(ref.rfind('/') + 1)); }

}  // namespace

json::object EcsApi::TaskView(const json::object& record, bool tags) {
  json::object view = record;
  view.erase(kReservationKey);
  view.erase("berthClientToken");
  view.erase("berthRequest");
  if (!tags) view.erase("tags");
  return view;
}

size_t EcsApi::ActiveTaskCount(std::string_view cluster, std::string_view status) const {
  size_t n = 0;
  if (auto c = tasks_.find(cluster); c != tasks_.end()) {
    for (const auto& [id, task] : c->second) {
      std::string_view last = AsString(task.at("lastStatus"));
      if (status.empty() ? last != "STOPPED" : last == status) ++n;
    }
  }
  return n;
}

std::optional<store::Mutation> EcsApi::RefreshInstance(std::string_view cluster,
                                                       std::string_view id) {
  json::object* instance = FindInstance(cluster, id);
  if (instance == nullptr) return std::nullopt;
  std::vector<const json::object*> on_it;
  int64_t pending = 0, running = 0;
  if (auto c = tasks_.find(cluster); c != tasks_.end()) {
    std::string_view arn = AsString(instance->at("containerInstanceArn"));
    for (const auto& [task_id, task] : c->second) {
      if (IsStopped(task) || StringOr(task, "containerInstanceArn", "") != arn) continue;
      on_it.push_back(&task);
      (AsString(task.at("lastStatus")) == "RUNNING" ? running : pending) += 1;
    }
  }
  json::array remaining = RemainingResources(*instance, on_it);
  if (remaining == instance->at("remainingResources") &&
      OptInt(*instance, "pendingTasksCount") == pending &&
      OptInt(*instance, "runningTasksCount") == running) {
    return std::nullopt;
  }
  (*instance)["remainingResources"] = std::move(remaining);
  (*instance)["pendingTasksCount"] = pending;
  (*instance)["runningTasksCount"] = running;
  (*instance)["version"] = OptInt(*instance, "version").value_or(0) + 1;
  return store::Mutation::Put(InstanceKey(cluster, ContainerInstanceId(id)),
                              json::serialize(*instance));
}

Reply EcsApi::RunTask(json::object& in, const CallContext& ctx) {
  if (StringOr(in, "launchType", "EC2") != "EC2") {
    Fail("InvalidParameterException", "launchType: berth runs tasks on EC2 instances only");
  }
  if (in.contains("capacityProviderStrategy")) {
    Fail("InvalidParameterException", "capacityProviderStrategy is not supported by berth");
  }
  return PlaceAndRecord(in, ctx, {});
}

Reply EcsApi::StartTask(json::object& in, const CallContext& ctx) {
  std::vector<std::string> only;
  const json::array& refs = ArrayOr(in, "containerInstances");
  if (refs.empty() || refs.size() > 10) {
    Fail("InvalidParameterException", "containerInstances must name 1 to 10 instances");
  }
  for (const auto& r : refs) only.push_back(ContainerInstanceId(AsString(r)));
  // One task per named instance, as ECS starts them.
  in["count"] = static_cast<int64_t>(only.size());
  return PlaceAndRecord(in, ctx, only);
}

Reply EcsApi::PlaceAndRecord(json::object& in, const CallContext& ctx,
                             const std::vector<std::string>& only) {
  const json::object& cluster = ActiveCluster(StringOr(in, "cluster", ""));
  std::string cluster_name(AsString(cluster.at("clusterName")));
  std::string cluster_arn = ClusterArn(cluster_name);

  // The task definition: family (latest ACTIVE), family:revision or ARN.
  TaskDefinitionRef ref = ParseTaskDefinitionRef(StringOr(in, "taskDefinition", ""));
  const json::object* td = nullptr;
  if (auto f = task_definitions_.find(ref.family); f != task_definitions_.end()) {
    if (ref.revision) {
      if (auto r = f->second.find(*ref.revision); r != f->second.end()) {
        td = &r->second.at("taskDefinition").as_object();
      }
    } else {
      for (auto r = f->second.rbegin(); r != f->second.rend(); ++r) {
        const json::object& candidate = r->second.at("taskDefinition").as_object();
        if (AsString(candidate.at("status")) == "ACTIVE") {
          td = &candidate;
          break;
        }
      }
    }
  }
  std::string td_name(StringOr(in, "taskDefinition", ""));
  if (td == nullptr) {
    Fail("ClientException", "Unable to find task definition '" + td_name + "'");
  }
  if (AsString(td->at("status")) != "ACTIVE") {
    Fail("ClientException", "TaskDefinition is inactive: '" + td_name + "'");
  }

  const json::array& tags = ArrayOr(in, "tags");
  ValidateTags(tags);
  std::optional<std::string> gang = TagValue(tags, kGangTag);
  int64_t count = OptInt(in, "count").value_or(1);
  int64_t max_count = gang ? 1000 : 10;
  if (count < 1 || count > max_count) {
    Fail("InvalidParameterException", "count must be between 1 and " + std::to_string(max_count) +
                                          ", got " + std::to_string(count));
  }
  static const json::object kNoOverrides;
  const json::object& ov = in.contains("overrides") ? in.at("overrides").as_object() : kNoOverrides;

  scheduler::PlacementRequest request = BuildPlacementRequest(*td, ov);
  std::string family(AsString(td->at("family")));
  std::string group(StringOr(in, "group", ""));
  if (group.empty()) group = "family:" + family;
  request.group = group;
  auto add_constraints = [&](const json::array& list) {
    for (const auto& c : list) {
      request.constraints.push_back({std::string(StringOr(c.as_object(), "type", "")),
                                     std::string(StringOr(c.as_object(), "expression", ""))});
    }
  };
  add_constraints(ArrayOr(*td, "placementConstraints"));
  add_constraints(ArrayOr(in, "placementConstraints"));
  for (const auto& s : ArrayOr(in, "placementStrategy")) {
    request.strategies.push_back({std::string(StringOr(s.as_object(), "type", "")),
                                  std::string(StringOr(s.as_object(), "field", ""))});
  }

  // Idempotency: the same token with the same request within the hour
  // returns the tasks it started; with another request it is refused.
  std::string token(StringOr(in, "clientToken", ""));
  if (token.size() > 64) {
    Fail("InvalidParameterException", "clientToken: at most 64 characters");
  }
  json::object fingerprint = in;
  fingerprint.erase("clientToken");
  std::string request_text = json::serialize(fingerprint);
  if (!token.empty()) {
    json::array same;
    bool seen = false;
    if (auto c = tasks_.find(cluster_name); c != tasks_.end()) {
      for (const auto& [id, task] : c->second) {
        if (StringOr(task, "berthClientToken", "") != token) continue;
        double created = task.at("createdAt").to_number<double>();
        if (ctx.now_millis - static_cast<int64_t>(created * 1000) > kHourMillis) continue;
        if (StringOr(task, "berthRequest", "") != request_text) {
          Fail("InvalidParameterException",
               "clientToken " + token + " was used with a different request");
        }
        seen = true;
        same.push_back(TaskView(task, true));
      }
    }
    if (seen) return {json::object{{"tasks", std::move(same)}, {"failures", json::array()}}};
  }

  // The snapshot: the cluster's ACTIVE instances (or the named ones).
  scheduler::ClusterSnapshot snapshot;
  std::map<std::string, std::vector<const json::object*>> tasks_on;
  if (auto c = tasks_.find(cluster_name); c != tasks_.end()) {
    for (const auto& [id, task] : c->second) {
      if (IsStopped(task)) continue;
      tasks_on[std::string(StringOr(task, "containerInstanceArn", ""))].push_back(&task);
    }
  }
  json::array failures;
  if (auto c = instances_.find(cluster_name); c != instances_.end()) {
    for (const auto& [id, instance] : c->second) {
      if (AsString(instance.at("status")) != "ACTIVE") continue;
      if (!only.empty() && std::find(only.begin(), only.end(), id) == only.end()) continue;
      snapshot.instances.push_back(InstanceSnapshot(
          instance, tasks_on[std::string(AsString(instance.at("containerInstanceArn")))],
          AgentConnected(instance, ctx.now_millis)));
    }
  }
  for (const std::string& id : only) {
    json::object* instance = FindInstance(cluster_name, id);
    if (instance == nullptr || AsString(instance->at("status")) != "ACTIVE") {
      Fail("InvalidParameterException",
           "Container instance " + id + " is not an ACTIVE instance of cluster " + cluster_name);
    }
  }

  std::vector<scheduler::TaskPlacement> placements;
  std::string gang_attribute_value;
  if (gang) {
    std::optional<std::string> same = TagValue(tags, kGangSameAttributeTag);
    if (same && same->empty()) same.reset();
    auto result = scheduler::PlaceGang(snapshot, request, static_cast<int>(count), same, random_);
    if (!result.ok()) Fail("InvalidParameterException", result.status().message());
    if (result->failure) {
      for (int64_t i = 0; i < count; ++i) {
        failures.push_back(
            json::object{{"arn", ""},
                         {"reason", result->failure->reason},
                         {"detail", "gang " + *gang + ": " + result->failure->detail}});
      }
    } else {
      placements = std::move(result->ranks);
      gang_attribute_value = result->attribute_value;
    }
  } else {
    auto result = scheduler::PlaceTasks(snapshot, request, static_cast<int>(count), random_);
    if (!result.ok()) Fail("InvalidParameterException", result.status().message());
    placements = std::move(result->placements);
    for (const auto& f : result->failures) {
      failures.push_back(json::object{{"arn", ""}, {"reason", f.reason}, {"detail", f.detail}});
    }
  }

  // Record the placed tasks.
  bool propagate = StringOr(in, "propagateTags", "NONE") == "TASK_DEFINITION";
  json::array td_tags;
  if (propagate) {
    const json::object& td_record = task_definitions_[family][*OptInt(*td, "revision")];
    td_tags = ArrayOr(td_record, "tags");
  }
  double now = static_cast<double>(ctx.now_millis) / 1000.0;
  store::Batch batch;
  json::array views;
  std::set<std::string> touched;
  auto& cluster_tasks = tasks_[cluster_name];
  for (size_t rank = 0; rank < placements.size(); ++rank) {
    const scheduler::TaskPlacement& placement = placements[rank];
    std::string id = NewUuid();
    std::erase(id, '-');
    std::string task_arn = MakeArn(scope_, "ecs", "task/" + cluster_name + "/" + id);
    json::object* instance = FindInstance(cluster_name, placement.instance_id);
    json::array task_tags = td_tags;
    MergeTags(task_tags, tags);
    if (gang) {
      MergeTags(task_tags,
                json::array{json::object{{"key", kGangRankTag}, {"value", std::to_string(rank)}}});
    }
    // Device ids go to the containers that asked: exact ids to the one that
    // maps them, counted ones in container order.
    std::set<int> exact = request.exact_neuron_devices;
    std::vector<int> neuron_pool, gpu_pool = placement.gpu_ids;
    for (int n : placement.neuron_device_ids) {
      if (!exact.contains(n)) neuron_pool.push_back(n);
    }
    json::array containers;
    for (const auto& c : ArrayOr(*td, "containerDefinitions")) {
      const json::object& def = c.as_object();
      std::string_view name = StringOr(def, "name", "");
      const json::object* co = nullptr;
      for (const auto& o : ArrayOr(ov, "containerOverrides")) {
        if (StringOr(o.as_object(), "name", "") == name) co = &o.as_object();
      }
      const json::array& reqs = co != nullptr && co->contains("resourceRequirements")
                                    ? ArrayOr(*co, "resourceRequirements")
                                    : ArrayOr(def, "resourceRequirements");
      std::vector<int> neuron, gpus;
      if (auto* lp = def.if_contains("linuxParameters"); lp != nullptr && lp->is_object()) {
        for (const auto& d : ArrayOr(lp->as_object(), "devices")) {
          std::string_view path = StringOr(d.as_object(), "hostPath", "");
          if (path.starts_with("/dev/neuron")) {
            try {
              neuron.push_back(std::stoi(std::string(path.substr(11))));
            } catch (...) {
            }
          }
        }
      }
      for (const auto& r : reqs) {
        std::string_view type = StringOr(r.as_object(), "type", "");
        std::string_view value = StringOr(r.as_object(), "value", "");
        auto& pool = type == "GPU" ? gpu_pool : neuron_pool;
        auto& mine = type == "GPU" ? gpus : neuron;
        if (type != "GPU" && type != "NeuronDevice") continue;
        size_t n = value == "ALL" ? pool.size()
                                  : std::min<size_t>(pool.size(), std::stoul(std::string(value)));
        mine.insert(mine.end(), pool.begin(), pool.begin() + static_cast<long>(n));
        pool.erase(pool.begin(), pool.begin() + static_cast<long>(n));
      }
      std::sort(neuron.begin(), neuron.end());
      std::string container_id = NewUuid();
      std::erase(container_id, '-');
      json::object container{
          {"containerArn",
           MakeArn(scope_, "ecs", "container/" + cluster_name + "/" + id + "/" + container_id)},
          {"taskArn", task_arn},
          {"name", name},
          {"image", StringOr(def, "image", "")},
          {"lastStatus", "PENDING"},
          {"networkInterfaces", json::array()},
          {"networkBindings", json::array()},
          {"gpuIds", IdArray(gpus)},
          {"neuronDeviceIds", IdArray(neuron)},
      };
      if (auto cpu = OptInt(def, "cpu")) container["cpu"] = std::to_string(*cpu);
      if (auto mem = OptInt(def, "memory")) container["memory"] = std::to_string(*mem);
      if (auto mem = OptInt(def, "memoryReservation")) {
        container["memoryReservation"] = std::to_string(*mem);
      }
      containers.push_back(std::move(container));
    }
    json::object task{
        {"taskArn", task_arn},
        {"clusterArn", cluster_arn},
        {"taskDefinitionArn", td->at("taskDefinitionArn")},
        {"containerInstanceArn", instance->at("containerInstanceArn")},
        {"overrides",
         in.contains("overrides") ? ov : json::object{{"containerOverrides", json::array()}}},
        {"lastStatus", "PENDING"},
        {"desiredStatus", "RUNNING"},
        {"cpu", std::to_string(request.cpu)},
        {"memory", std::to_string(request.memory_mib)},
        {"containers", std::move(containers)},
        {"group", group},
        {"createdAt", now},
        {"version", 1},
        {"tags", std::move(task_tags)},
        {"launchType", "EC2"},
        {"attachments", json::array()},
    };
    for (const auto& a : ArrayOr(*instance, "attributes")) {
      if (StringOr(a.as_object(), "name", "") == "ecs.availability-zone") {
        task["availabilityZone"] = StringOr(a.as_object(), "value", "");
      }
    }
    if (auto s = OptString(in, "startedBy")) task["startedBy"] = *s;
    if (gang) {
      task["berthGang"] =
          json::object{{"name", *gang}, {"rank", static_cast<int64_t>(rank)}, {"size", count}};
      if (!gang_attribute_value.empty()) {
        task["berthGang"].as_object()["attributeValue"] = gang_attribute_value;
      }
    }
    task[kReservationKey] = ReservationRecord(request, placement);
    if (!token.empty()) {
      task["berthClientToken"] = token;
      task["berthRequest"] = request_text;
    }
    batch.push_back(store::Mutation::Put(TaskKey(cluster_name, id), json::serialize(task)));
    views.push_back(TaskView(task, true));
    cluster_tasks[id] = std::move(task);
    touched.insert(placement.instance_id);
  }
  for (const std::string& instance_id : touched) {
    if (auto m = RefreshInstance(cluster_name, instance_id)) batch.push_back(std::move(*m));
  }
  uint64_t seq = batch.empty() ? 0 : Commit(std::move(batch));
  for (const std::string& instance_id : touched) agents_.Bump(instance_id);
  return {json::object{{"tasks", std::move(views)}, {"failures", std::move(failures)}}, seq};
}

Reply EcsApi::StopTask(json::object& in, const CallContext& ctx) {
  const json::object& cluster = ActiveCluster(StringOr(in, "cluster", ""));
  std::string cluster_name(AsString(cluster.at("clusterName")));
  std::string_view ref = StringOr(in, "task", "");
  std::string id = TaskId(ref);
  auto c = tasks_.find(cluster_name);
  if (c == tasks_.end() || !c->second.contains(id)) {
    Fail("InvalidParameterException", "The referenced task was not found: " + std::string(ref));
  }
  json::object& task = c->second.at(id);
  if (AsString(task.at("desiredStatus")) == "STOPPED") {
    return {json::object{{"task", TaskView(task, true)}}};
  }
  std::string reason(StringOr(in, "reason", "Task stopped by user"));
  double now = static_cast<double>(ctx.now_millis) / 1000.0;
  task["desiredStatus"] = "STOPPED";
  task["stopCode"] = "UserInitiated";
  task["stoppedReason"] = reason;
  task["stoppingAt"] = now;
  task["version"] = OptInt(task, "version").value_or(0) + 1;
  std::string instance_id = ContainerInstanceId(StringOr(task, "containerInstanceArn", ""));
  const json::object* instance = FindInstance(cluster_name, instance_id);
  store::Batch batch;
  // With a node agent the task stops when the agent reports it stopped (it
  // sees desiredStatus STOPPED in its next poll and stops the containers).
  // Without one (an instance modelled through the API, or deregistered)
  // nothing would ever report: the task stops here and frees what it holds.
  bool agent_stops = instance != nullptr && HasAgent(*instance) &&
                     AsString(instance->at("status")) != "INACTIVE" && !IsStopped(task);
  if (!agent_stops) {
    task["lastStatus"] = "STOPPED";
    task["stoppedAt"] = now;
    task["executionStoppedAt"] = now;
    for (auto& container : task["containers"].as_array()) {
      container.as_object()["lastStatus"] = "STOPPED";
    }
  }
  batch.push_back(store::Mutation::Put(TaskKey(cluster_name, id), json::serialize(task)));
  if (auto m = RefreshInstance(cluster_name, instance_id)) batch.push_back(std::move(*m));
  uint64_t seq = Commit(std::move(batch));
  agents_.Bump(instance_id);
  return {json::object{{"task", TaskView(task, true)}}, seq};
}

Reply EcsApi::DescribeTasks(json::object& in, const CallContext&) {
  const json::object& cluster = ActiveCluster(StringOr(in, "cluster", ""));
  std::string cluster_name(AsString(cluster.at("clusterName")));
  const json::array& refs = ArrayOr(in, "tasks");
  if (refs.empty() || refs.size() > 100) {
    Fail("InvalidParameterException", "tasks must name 1 to 100 tasks");
  }
  bool tags = ListContains(in, "include", "TAGS");
  json::array found, failures;
  auto c = tasks_.find(cluster_name);
  for (const auto& r : refs) {
    std::string_view ref = AsString(r);
    std::string id = TaskId(ref);
    if (c == tasks_.end() || !c->second.contains(id)) {
      std::string arn = ref.starts_with("arn:")
                            ? std::string(ref)
                            : MakeArn(scope_, "ecs", "task/" + cluster_name + "/" + id);
      failures.push_back(json::object{{"arn", arn}, {"reason", "MISSING"}});
      continue;
    }
    found.push_back(TaskView(c->second.at(id), tags));
  }
  return {json::object{{"tasks", std::move(found)}, {"failures", std::move(failures)}}};
}

Reply EcsApi::ListTasks(json::object& in, const CallContext&) {
  const json::object& cluster = ActiveCluster(StringOr(in, "cluster", ""));
  std::string cluster_name(AsString(cluster.at("clusterName")));
  std::string_view desired = StringOr(in, "desiredStatus", "RUNNING");
  if (desired != "RUNNING" && desired != "STOPPED" && desired != "PENDING") {
    Fail("InvalidParameterException", "desiredStatus must be RUNNING, PENDING or STOPPED");
  }
  std::string instance_arn;
  if (auto ref = OptString(in, "containerInstance")) {
    json::object* instance = FindInstance(cluster_name, *ref);
    if (instance == nullptr) {
      Fail("InvalidParameterException", "Container instance " + std::string(*ref) +
                                            " is not registered in cluster " + cluster_name);
    }
    instance_arn = std::string(AsString(instance->at("containerInstanceArn")));
  }
  auto family = OptString(in, "family");
  auto started_by = OptString(in, "startedBy");
  bool service = in.contains("serviceName");  // no services yet: nothing matches
  Pager pager(page_tokens_, in, 100);
  if (auto c = tasks_.find(cluster_name); c != tasks_.end() && !service) {
    for (auto it = c->second.upper_bound(pager.after()); it != c->second.end(); ++it) {
      const json::object& task = it->second;
      std::string_view task_desired = AsString(task.at("desiredStatus"));
      if (desired == "PENDING" ? AsString(task.at("lastStatus")) != "PENDING"
                               : task_desired != desired) {
        continue;
      }
      if (!instance_arn.empty() && StringOr(task, "containerInstanceArn", "") != instance_arn) {
        continue;
      }
      if (family) {
        std::string_view td = StringOr(task, "taskDefinitionArn", "");
        std::string_view name = td.substr(td.rfind('/') + 1);
        if (name.substr(0, name.rfind(':')) != *family) continue;
      }
      if (started_by && StringOr(task, "startedBy", "") != *started_by) continue;
      if (!pager.Add(it->first, task.at("taskArn"))) break;
    }
  }
  json::object reply;
  pager.Finish(reply, "taskArns");
  return {std::move(reply)};
}

void EcsApi::CleanUpStoppedTasks(int64_t now_millis) {
  std::unique_lock lock(mu_);
  store::Batch batch;
  std::set<std::string> touched;
  for (auto& [cluster, tasks] : tasks_) {
    for (auto it = tasks.begin(); it != tasks.end();) {
      const json::object& task = it->second;
      auto* stopped = task.if_contains("stoppedAt");
      if (IsStopped(task) && stopped != nullptr &&
          now_millis - static_cast<int64_t>(stopped->to_number<double>() * 1000) > kHourMillis) {
        batch.push_back(store::Mutation::Delete(TaskKey(cluster, it->first)));
        touched.insert(ContainerInstanceId(StringOr(task, "containerInstanceArn", "")));
        it = tasks.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (!batch.empty()) Commit(std::move(batch));
  for (const std::string& instance_id : touched) agents_.Bump(instance_id);
}

}  // namespace berth::server::api
