// ECS clusters: CreateCluster, DescribeClusters, ListClusters, UpdateCluster,
// UpdateClusterSettings, DeleteCluster.
#include <boost/json/serialize.hpp>

#include "model/json_util.h"
#include "model/unknown_members.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

constexpr int kMaxDescribe = 100;

json::array DefaultSettings() {
  return json::array{json::object{{"name", "containerInsights"}, {"value", "disabled"}}};
}

// Settings replace those of the same name; the value must be one ECS knows.
void MergeSettings(json::array& existing, const json::array& given) {
  for (const auto& s : given) {
    const auto& setting = s.as_object();
    std::string_view name = StringOr(setting, "name", "");
    std::string_view value = StringOr(setting, "value", "");
    // "enhanced" is Container Insights with enhanced observability (2024).
    if (name == "containerInsights" && value != "enhanced" && value != "enabled" &&
        value != "disabled") {
      Fail("InvalidParameterException",
           "containerInsights must be 'enhanced', 'enabled' or 'disabled', got '" +
               std::string(value) + "'");
    }
    bool replaced = false;
    for (auto& e : existing) {
      if (AsString(e.as_object().at("name")) == name) {
        e = setting;
        replaced = true;
      }
    }
    if (!replaced) existing.push_back(setting);
  }
}

}  // namespace

json::object& EcsApi::ActiveCluster(std::string_view ref) {
  std::string name = ClusterName(ref.empty() ? "default" : ref);
  auto it = clusters_.find(name);
  if (it == clusters_.end() || !ClusterRecord(it->second).is_active()) {
    Fail("ClusterNotFoundException", "Cluster not found: " + name);
  }
  return it->second;
}

std::string EcsApi::ActiveClusterName(std::string_view ref) {
  return std::string(ClusterRecord(ActiveCluster(ref)).name());
}

json::object EcsApi::ClusterView(const json::object& record, bool settings, bool tags,
                                 bool statistics, bool configurations) const {
  json::object view;
  const ClusterRecord cluster(record);
  std::string_view name = cluster.name();
  int64_t registered = 0;
  if (auto it = instances_.find(name); it != instances_.end()) {
    for (const auto& [id, instance] : it->second) {
      if (!InstanceRecord(instance).is_inactive()) ++registered;
    }
  }
  view["clusterArn"] = cluster.arn();
  view["clusterName"] = name;
  view["status"] = cluster.status();
  view["registeredContainerInstancesCount"] = registered;
  const TaskCounts counts = TaskCountsOf(name);
  const int64_t running = counts.running, pending = counts.pending;
  view["runningTasksCount"] = running;
  view["pendingTasksCount"] = pending;
  const ServiceCounts services = ServiceCountsOf(name);
  view["activeServicesCount"] = services.active;
  if (statistics) {
    json::array stats;
    for (const char* key :
         {"runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount",
          "pendingFargateTasksCount", "activeEC2ServiceCount", "activeFargateServiceCount",
          "drainingEC2ServiceCount", "drainingFargateServiceCount"}) {
      std::string_view k = key;
      int64_t value = k == "runningEC2TasksCount"      ? running
                      : k == "pendingEC2TasksCount"    ? pending
                      : k == "activeEC2ServiceCount"   ? services.active
                      : k == "drainingEC2ServiceCount" ? services.draining
                                                       : 0;
      stats.push_back(json::object{{"name", key}, {"value", std::to_string(value)}});
    }
    view["statistics"] = std::move(stats);
  } else {
    view["statistics"] = json::array();
  }
  view["tags"] = tags ? record.at("tags") : json::array();
  if (settings) view["settings"] = record.at("settings");
  if (configurations && record.contains("configuration")) {
    view["configuration"] = record.at("configuration");
  }
  view["capacityProviders"] = record.at("capacityProviders");
  view["defaultCapacityProviderStrategy"] = record.at("defaultCapacityProviderStrategy");
  if (record.contains("serviceConnectDefaults")) {
    view["serviceConnectDefaults"] = record.at("serviceConnectDefaults");
  }
  model::CarryUnknownMembers(record, view);
  return view;
}

json::object EcsApi::NewClusterRecord(std::string_view name, const json::object& in) const {
  json::array settings = DefaultSettings();
  MergeSettings(settings, ArrayOr(in, "settings"));
  ValidateTags(ArrayOr(in, "tags"));
  json::object record;
  record["clusterArn"] = ClusterArn(name);
  record["clusterName"] = name;
  record["status"] = kActive;
  record["settings"] = std::move(settings);
  record["tags"] = ArrayOr(in, "tags");
  record["capacityProviders"] = ArrayOr(in, "capacityProviders");
  record["defaultCapacityProviderStrategy"] = ArrayOr(in, "defaultCapacityProviderStrategy");
  if (auto* c = in.if_contains("configuration")) record["configuration"] = *c;
  if (auto* s = in.if_contains("serviceConnectDefaults")) record["serviceConnectDefaults"] = *s;
  model::CarryUnknownMembers(in, record);
  return record;
}

Reply EcsApi::CreateCluster(json::object& in, const CallContext& ctx) {
  std::string name(StringOr(in, "clusterName", "default"));
  if (!IsValidName(name)) {
    Fail("InvalidParameterException",
         "Cluster name must be 1-255 letters, numbers, hyphens and underscores: '" + name + "'");
  }
  auto existing = clusters_.find(name);
  if (existing != clusters_.end() && ClusterRecord(existing->second).is_active()) {
    // ECS answers a second CreateCluster with the cluster as it is.
    return {json::object{{"cluster", ClusterView(existing->second, true, true, false, true)}}};
  }
  json::object record = NewClusterRecord(name, in);
  EmitEvent(ctx.now_millis, "ClusterCreated", name,
            {std::string(StringOr(record, "clusterArn", ""))}, "cluster " + name + " created");
  uint64_t seq = Commit({store::Mutation::Put(ClusterKey(name), json::serialize(record))});
  auto& stored = clusters_[name] = std::move(record);
  return {json::object{{"cluster", ClusterView(stored, true, true, false, true)}}, seq};
}

Reply EcsApi::DescribeClusters(json::object& in, const CallContext&) {
  bool settings = ListContains(in, "include", "SETTINGS");
  bool tags = ListContains(in, "include", "TAGS");
  bool statistics = ListContains(in, "include", "STATISTICS");
  bool configurations = ListContains(in, "include", "CONFIGURATIONS");
  json::array refs = ArrayOr(in, "clusters");
  if (refs.empty()) refs.push_back("default");
  if (refs.size() > kMaxDescribe) {
    Fail("InvalidParameterException", "clusters can name at most 100 clusters");
  }
  json::array found, failures;
  for (const auto& ref : refs) {
    std::string name = ClusterName(AsString(ref));
    auto it = clusters_.find(name);
    if (it == clusters_.end()) {
      failures.push_back(json::object{{"arn", ClusterArn(name)}, {"reason", "MISSING"}});
      continue;
    }
    found.push_back(ClusterView(it->second, settings, tags, statistics, configurations));
  }
  return {json::object{{"clusters", std::move(found)}, {"failures", std::move(failures)}}};
}

Reply EcsApi::ListClusters(json::object& in, const CallContext&) {
  Pager pager(page_tokens_, in, 100);
  for (auto it = clusters_.upper_bound(pager.after()); it != clusters_.end(); ++it) {
    const ClusterRecord cluster(it->second);
    if (!cluster.is_active()) continue;
    if (!pager.Add(it->first, json::string(cluster.arn()))) break;
  }
  json::object reply;
  pager.Finish(reply, "clusterArns");
  return {std::move(reply)};
}

Reply EcsApi::UpdateCluster(json::object& in, const CallContext&) {
  json::object& cluster = ActiveCluster(StringOr(in, "cluster", ""));
  json::object updated = cluster;
  MergeSettings(updated["settings"].as_array(), ArrayOr(in, "settings"));
  if (auto* c = in.if_contains("configuration")) updated["configuration"] = *c;
  if (auto* s = in.if_contains("serviceConnectDefaults")) updated["serviceConnectDefaults"] = *s;
  model::CarryUnknownMembers(in, updated);
  std::string name(ClusterRecord(updated).name());
  uint64_t seq = Commit({store::Mutation::Put(ClusterKey(name), json::serialize(updated))});
  cluster = std::move(updated);
  return {json::object{{"cluster", ClusterView(cluster, true, true, false, true)}}, seq};
}

Reply EcsApi::UpdateClusterSettings(json::object& in, const CallContext& ctx) {
  return UpdateCluster(in, ctx);
}

Reply EcsApi::DeleteCluster(json::object& in, const CallContext& ctx) {
  json::object& cluster = ActiveCluster(StringOr(in, "cluster", ""));
  std::string name(ClusterRecord(cluster).name());
  if (auto it = instances_.find(name); it != instances_.end()) {
    for (const auto& [id, instance] : it->second) {
      if (!InstanceRecord(instance).is_inactive()) {
        Fail("ClusterContainsContainerInstancesException",
             "The Cluster cannot be deleted while Container Instances are active or draining.");
      }
    }
  }
  if (ServiceCounts services = ServiceCountsOf(name); services.active + services.draining > 0) {
    Fail("ClusterContainsServicesException",
         "The Cluster cannot be deleted while Services are active.");
  }
  if (TaskCounts counts = TaskCountsOf(name); counts.pending + counts.running > 0) {
    Fail("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.");
  }
  json::object updated = cluster;
  MutableClusterRecord(updated).SetStatus(kInactive);
  EmitEvent(ctx.now_millis, "ClusterDeleted", name,
            {std::string(StringOr(updated, "clusterArn", ""))}, "cluster " + name + " deleted");
  uint64_t seq = Commit({store::Mutation::Put(ClusterKey(name), json::serialize(updated))});
  cluster = std::move(updated);
  return {json::object{{"cluster", ClusterView(cluster, true, true, false, true)}}, seq};
}

}  // namespace berth::server::api
