// ECS services: CreateService, UpdateService, DeleteService,
// DescribeServices, ListServices.
//
// The API: services are validated, stored and returned with every member of
// the model, and their counts are live (the tasks of their deployments).
// The service scheduler (ecs_service_controller.cc) starts and stops their
// tasks. A deleted service that still has active tasks is DRAINING and
// reads INACTIVE once they are gone; the periodic clean-up writes that down
// and forgets INACTIVE services an hour later.
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <set>
#include <vector>

#include "model/json_util.h"
#include "model/unknown_members.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"
#include "server/api/service_requests.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

constexpr int kMaxDescribe = 10;
constexpr int kDefaultListPage = 10;
constexpr int64_t kHourMillis = 3600 * 1000;

double Seconds(int64_t millis) { return static_cast<double>(millis) / 1000.0; }

const json::object* ObjectOr(const json::object& in, std::string_view key) {
  auto* v = in.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

// v with the members of every object in key order: clients send members
// in whatever order their caller gave them.
json::value Canonical(const json::value& v) {
  if (v.is_array()) {
    json::array out;
    for (const auto& e : v.get_array()) out.push_back(Canonical(e));
    return out;
  }
  if (!v.is_object()) return v;
  std::vector<std::string_view> keys;
  for (const auto& [key, value] : v.get_object()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  json::object out;
  for (std::string_view key : keys) out[key] = Canonical(v.get_object().at(key));
  return out;
}

// What makes a CreateService the same as the one a service came from.
std::string RequestText(const json::object& in) {
  json::object fingerprint = in;
  fingerprint.erase("clientToken");
  fingerprint.erase("cluster");  // a name, an ARN or the default: one cluster
  return json::serialize(Canonical(fingerprint));
}

}  // namespace

json::object* EcsApi::FindService(std::string_view cluster, std::string_view ref) {
  auto c = services_.find(cluster);
  if (c == services_.end()) return nullptr;
  auto it = c->second.find(ServiceNameOf(ref));
  return it == c->second.end() ? nullptr : &it->second;
}

const json::object* EcsApi::FindService(std::string_view cluster, std::string_view ref) const {
  return const_cast<EcsApi*>(this)->FindService(cluster, ref);
}

EcsApi::TaskCounts EcsApi::ServiceTaskCounts(std::string_view cluster, const json::object& service,
                                             std::string_view deployment_id) const {
  TaskCounts counts;
  auto c = deployment_tasks_.find(cluster);
  if (c == deployment_tasks_.end()) return counts;
  auto add = [&](std::string_view id) {
    auto of = c->second.find(id);
    if (of == c->second.end()) return;
    counts.running += of->second.running;
    counts.pending += static_cast<int64_t>(of->second.active.size()) - of->second.running;
  };
  if (!deployment_id.empty()) {
    add(deployment_id);
    return counts;
  }
  for (const auto& d : ServiceRecord(service).deployments()) {
    if (d.is_object()) add(StringOr(d.get_object(), "id", ""));
  }
  return counts;
}

std::string_view EcsApi::ServiceStatus(std::string_view cluster,
                                       const json::object& service) const {
  const ServiceRecord record(service);
  if (record.status() == kDraining) {
    TaskCounts counts = ServiceTaskCounts(cluster, service, "");
    if (counts.running + counts.pending == 0) return kInactive;
  }
  return record.status();
}

EcsApi::ServiceCounts EcsApi::ServiceCountsOf(std::string_view cluster) const {
  ServiceCounts counts;
  auto c = services_.find(cluster);
  if (c == services_.end()) return counts;
  for (const auto& [name, service] : c->second) {
    std::string_view status = ServiceStatus(cluster, service);
    if (status == kActive) ++counts.active;
    if (status == kDraining) ++counts.draining;
  }
  return counts;
}

json::object EcsApi::ServiceView(std::string_view cluster, const json::object& record,
                                 bool tags) const {
  json::object view;
  for (const auto& [key, value] : record) {
    // berth's own members (the request, the scheduler's memory) stay inside.
    if (!key.starts_with("berth")) view.emplace(key, value);
  }
  if (!tags) view.erase("tags");
  view["status"] = ServiceStatus(cluster, record);
  TaskCounts counts = ServiceTaskCounts(cluster, record, "");
  view["runningCount"] = counts.running;
  view["pendingCount"] = counts.pending;
  // The service deployment in charge and the revisions running now.
  if (const json::value* h = record.if_contains(kHistoryKey);
      h != nullptr && h->is_array() && !h->get_array().empty()) {
    view["currentServiceDeployment"] =
        ServiceDeploymentArn(scope_, cluster, ServiceRecord(record).name(),
                             StringOr(h->get_array().front().as_object(), "id", ""));
  }
  json::array revisions;
  std::set<std::string> seen;
  for (const auto& d : ServiceRecord(record).deployments()) {
    if (!d.is_object()) continue;
    const std::string revision = RevisionIdOf(record, d.get_object());
    if (!seen.insert(revision).second) continue;
    const RevisionCounts n = CountsOfRevision(cluster, record, revision);
    revisions.push_back(json::object{
        {"arn", ServiceRevisionArn(scope_, cluster, ServiceRecord(record).name(), revision)},
        {"requestedTaskCount", n.requested},
        {"runningTaskCount", n.running},
        {"pendingTaskCount", n.pending}});
  }
  view["currentServiceRevisions"] = std::move(revisions);
  if (auto* d = view.if_contains("deployments"); d != nullptr && d->is_array()) {
    for (auto& deployment : d->get_array()) {
      if (!deployment.is_object()) continue;
      json::object& o = deployment.get_object();
      TaskCounts of = ServiceTaskCounts(cluster, record, StringOr(o, "id", ""));
      o["runningCount"] = of.running;
      o["pendingCount"] = of.pending;
    }
  }
  return view;
}

const json::object* EcsApi::FindTaskDefinitionByArn(std::string_view arn) const {
  TaskDefinitionRef ref = ParseTaskDefinitionRef(arn);
  auto f = task_definitions_.find(ref.family);
  if (f == task_definitions_.end() || !ref.revision) return nullptr;
  auto r = f->second.find(*ref.revision);
  return r == f->second.end() ? nullptr : &r->second;
}

Reply EcsApi::CreateService(json::object& in, const CallContext& ctx) {
  const std::string cluster = ActiveClusterName(StringOr(in, "cluster", ""));
  const std::string name(StringOr(in, "serviceName", ""));
  ValidateServiceName(name);
  ValidateLaunchOptions(in);
  const std::string_view strategy = StringOr(in, "schedulingStrategy", kReplica);
  ValidateDesiredCount(OptInt(in, "desiredCount"), strategy, /*required=*/true);
  DeploymentConfigurationOf(ObjectOr(in, "deploymentConfiguration"), nullptr, strategy);
  ValidateGracePeriod(in);
  ValidateTags(ArrayOr(in, "tags"));
  if (!in.contains("taskDefinition")) {
    Fail("InvalidParameterException",
         "taskDefinition is required for the ECS deployment controller");
  }
  const json::object& td_record = TaskDefinitionToRun(StringOr(in, "taskDefinition", ""));
  const TaskDefinitionRecord td(td_record);
  CheckTaskRoles(td.definition(), nullptr);
  ValidateServicePlacement(ArrayOr(in, "placementConstraints"), ArrayOr(in, "placementStrategy"),
                           td.definition(), strategy, "service:" + name);
  ValidateNetworkConfiguration(in, td.definition());

  const std::string request_text = RequestText(in);
  if (json::object* existing = FindService(cluster, name)) {
    std::string_view status = ServiceStatus(cluster, *existing);
    if (status == kActive) {
      // ECS answers the same CreateService again with the service as it is.
      if (ServiceRecord(*existing).request_text() == request_text) {
        return {json::object{{"service", ServiceView(cluster, *existing, true)}}};
      }
      Fail("InvalidParameterException", "Creation of service was not idempotent.");
    }
    if (status == kDraining) {
      Fail("InvalidParameterException", "Unable to Start a service that is still Draining.");
    }
    // INACTIVE: the name is free again.
  }
  ServiceInput input{&scope_,
                     cluster,
                     &in,
                     std::string(td.arn()),
                     NewDeploymentId(random_),
                     "arn:aws:iam::" + scope_.account + ":root",
                     Seconds(ctx.now_millis),
                     request_text};
  json::object record = NewServiceRecord(input);
  SyncDeploymentHistory(record, Seconds(ctx.now_millis));
  EmitEvent(
      ctx.now_millis, "ServiceCreated", cluster, {std::string(StringOr(record, "serviceArn", ""))},
      "service " + name + " created: " + std::to_string(ServiceRecord(record).desired_count()) +
          " of " + std::string(td.arn().substr(td.arn().rfind('/') + 1)));
  uint64_t seq = Commit({store::Mutation::Put(ServiceKey(cluster, name), json::serialize(record))});
  json::object& stored = services_[cluster][name] = std::move(record);
  return {json::object{{"service", ServiceView(cluster, stored, true)}}, seq};
}

Reply EcsApi::UpdateService(json::object& in, const CallContext& ctx) {
  const std::string cluster = ActiveClusterName(StringOr(in, "cluster", ""));
  std::string_view ref = StringOr(in, "service", "");
  json::object* service = FindService(cluster, ref);
  if (service == nullptr) Fail("ServiceNotFoundException", "Service not found.");
  if (ServiceStatus(cluster, *service) != kActive) {
    Fail("ServiceNotActiveException", "Service was not ACTIVE.");
  }
  ValidateLaunchOptions(in);
  const ServiceRecord current(*service);
  const std::string_view strategy = current.scheduling_strategy();
  std::optional<int64_t> desired = OptInt(in, "desiredCount");
  ValidateDesiredCount(desired, strategy, /*required=*/false);
  const json::object* config_now = ObjectOr(*service, "deploymentConfiguration");
  json::object config =
      DeploymentConfigurationOf(ObjectOr(in, "deploymentConfiguration"), config_now, strategy);
  ValidateGracePeriod(in);

  // The task definition: a new one named, else the service's own (which
  // may have been deregistered since: a service keeps running it).
  std::string td_arn(current.task_definition());
  const json::object* td_record = nullptr;
  if (auto given = OptString(in, "taskDefinition")) {
    td_record = &TaskDefinitionToRun(*given);
    td_arn = std::string(TaskDefinitionRecord(*td_record).arn());
    CheckTaskRoles(TaskDefinitionRecord(*td_record).definition(), nullptr);
  } else {
    td_record = FindTaskDefinitionByArn(td_arn);
  }
  static const json::object kNoDefinition;
  const json::object& definition =
      td_record != nullptr ? TaskDefinitionRecord(*td_record).definition() : kNoDefinition;
  json::object updated = *service;
  for (std::string_view key :
       {"placementConstraints", "placementStrategy", "loadBalancers", "serviceRegistries",
        "networkConfiguration", "healthCheckGracePeriodSeconds", "enableExecuteCommand",
        "enableECSManagedTags", "propagateTags", "availabilityZoneRebalancing"}) {
    if (auto* v = in.if_contains(key)) updated[key] = *v;
  }
  model::CarryUnknownMembers(in, updated);
  ValidateServicePlacement(ArrayOr(updated, "placementConstraints"),
                           ArrayOr(updated, "placementStrategy"), definition, strategy,
                           current.group());
  ValidateNetworkConfiguration(updated, definition);

  // What ECS rolls out as a new deployment: another task definition, a
  // forced one, or a change to what the tasks are wired to.
  bool redeploy = td_arn != current.task_definition() || BoolOr(in, "forceNewDeployment", false);
  for (std::string_view key : kDeploymentMembers) {
    if (key != "networkConfiguration" && in.contains(key)) redeploy = true;
  }
  for (std::string_view key : {"networkConfiguration", "loadBalancers", "serviceRegistries"}) {
    const json::value* before = service->if_contains(key);
    const json::value* after = updated.if_contains(key);
    if ((before == nullptr) != (after == nullptr) || (before && *before != *after)) redeploy = true;
  }
  const double now = Seconds(ctx.now_millis);
  MutableServiceRecord record(updated);
  updated["deploymentConfiguration"] = std::move(config);
  updated["taskDefinition"] = td_arn;
  if (desired) record.SetDesiredCount(*desired, now);
  if (redeploy) {
    // Each of what a deployment takes: the request's, else the service's
    // PRIMARY deployment's (networkConfiguration: the service's own).
    json::object from;
    if (auto* n = updated.if_contains("networkConfiguration")) from["networkConfiguration"] = *n;
    for (std::string_view key : kDeploymentMembers) {
      if (key == "networkConfiguration") continue;
      if (auto* v = in.if_contains(key)) {
        from[key] = *v;
        continue;
      }
      for (const auto& d : current.deployments()) {
        const json::object& o = d.as_object();
        if (StringOr(o, "status", "") != kPrimary) continue;
        if (auto* v = o.if_contains(key)) from[key] = *v;
      }
    }
    record.AddPrimaryDeployment(
        NewDeployment(NewDeploymentId(random_), td_arn, record.desired_count(), from, now), now);
  }
  SyncDeploymentHistory(updated, now);
  const std::string name(current.name());
  EmitEvent(ctx.now_millis, "ServiceUpdated", cluster,
            {std::string(StringOr(updated, "serviceArn", ""))},
            "service " + name + " updated: desiredCount " +
                std::to_string(ServiceRecord(updated).desired_count()));
  uint64_t seq =
      Commit({store::Mutation::Put(ServiceKey(cluster, name), json::serialize(updated))});
  *service = std::move(updated);
  return {json::object{{"service", ServiceView(cluster, *service, true)}}, seq};
}

Reply EcsApi::DeleteService(json::object& in, const CallContext& ctx) {
  const std::string cluster = ActiveClusterName(StringOr(in, "cluster", ""));
  json::object* service = FindService(cluster, StringOr(in, "service", ""));
  std::string_view status = service != nullptr ? ServiceStatus(cluster, *service) : kInactive;
  if (service == nullptr || status == kInactive) {
    Fail("ServiceNotFoundException", "Service not found.");
  }
  if (status == kDraining) return {json::object{{"service", ServiceView(cluster, *service, true)}}};
  const bool force = BoolOr(in, "force", false);
  if (ServiceRecord(*service).desired_count() > 0 && !force) {
    Fail("InvalidParameterException", "The service cannot be stopped while it is scaled above 0.");
  }
  const double now = Seconds(ctx.now_millis);
  json::object updated = *service;
  MutableServiceRecord record(updated);
  record.SetDesiredCount(0, now);
  TaskCounts counts = ServiceTaskCounts(cluster, updated, "");
  // Its tasks stop as the controller drains it; with none left it is gone.
  record.SetStatus(counts.running + counts.pending > 0 ? kDraining : kInactive, now);
  SyncDeploymentHistory(updated, now);
  const std::string name(record.name());
  EmitEvent(ctx.now_millis, "ServiceDeleted", cluster,
            {std::string(StringOr(updated, "serviceArn", ""))},
            "service " + name + " deleted" + (force ? " (force)" : ""));
  uint64_t seq =
      Commit({store::Mutation::Put(ServiceKey(cluster, name), json::serialize(updated))});
  *service = std::move(updated);
  return {json::object{{"service", ServiceView(cluster, *service, true)}}, seq};
}

Reply EcsApi::DescribeServices(json::object& in, const CallContext&) {
  const std::string cluster = ActiveClusterName(StringOr(in, "cluster", ""));
  const json::array& refs = ArrayOr(in, "services");
  if (refs.empty() || refs.size() > kMaxDescribe) {
    Fail("InvalidParameterException", "services must name 1 to 10 services");
  }
  const bool tags = ListContains(in, "include", "TAGS");
  json::array found, failures;
  for (const auto& r : refs) {
    std::string_view ref = AsString(r);
    if (const json::object* service = FindService(cluster, ref)) {
      found.push_back(ServiceView(cluster, *service, tags));
      continue;
    }
    std::string arn = ref.starts_with("arn:") ? std::string(ref) : ServiceArn(scope_, cluster, ref);
    failures.push_back(json::object{{"arn", std::move(arn)}, {"reason", "MISSING"}});
  }
  return {json::object{{"services", std::move(found)}, {"failures", std::move(failures)}}};
}

Reply EcsApi::ListServices(json::object& in, const CallContext&) {
  const std::string cluster = ActiveClusterName(StringOr(in, "cluster", ""));
  auto launch_type = OptString(in, "launchType");
  auto strategy = OptString(in, "schedulingStrategy");
  // ECS pages services by 10 unless asked for more (up to 100).
  if (!in.contains("maxResults")) in["maxResults"] = kDefaultListPage;
  Pager pager(page_tokens_, in, 100);
  if (auto c = services_.find(cluster); c != services_.end()) {
    for (auto it = c->second.upper_bound(pager.after()); it != c->second.end(); ++it) {
      const ServiceRecord service(it->second);
      if (ServiceStatus(cluster, it->second) == kInactive) continue;
      if (launch_type && service.launch_type() != *launch_type) continue;
      if (strategy && service.scheduling_strategy() != *strategy) continue;
      if (!pager.Add(it->first, json::string(service.arn()))) break;
    }
  }
  json::object reply;
  pager.Finish(reply, "serviceArns");
  return {std::move(reply)};
}

void EcsApi::CleanUpServices(int64_t now_millis) {
  store::Batch batch;
  for (auto& [cluster, services] : services_) {
    for (auto it = services.begin(); it != services.end();) {
      MutableServiceRecord record(it->second);
      if (record.status() == kDraining && ServiceStatus(cluster, it->second) == kInactive) {
        record.SetStatus(kInactive, Seconds(now_millis));
        batch.push_back(
            store::Mutation::Put(ServiceKey(cluster, it->first), json::serialize(it->second)));
      }
      std::optional<int64_t> inactive_at = record.inactive_at_millis();
      if (inactive_at && now_millis - *inactive_at > kHourMillis) {
        batch.push_back(store::Mutation::Delete(ServiceKey(cluster, it->first)));
        it = services.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (!batch.empty()) Commit(std::move(batch));
}

}  // namespace berth::server::api
