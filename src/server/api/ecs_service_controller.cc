// The REPLICA service scheduler: a controller over the in-memory state, run
// periodically with the clock passed in. ReconcileService (pure) decides
// what changes; tasks are placed through the planner on the cluster's
// long-lived Placer and committed as RunTask's are (PlanRun, CommitRun), and
// stopped as StopTask stops them; the service's events, rollout state and
// status record what happened.
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <mutex>
#include <shared_mutex>

#include "common/ids.h"
#include "model/json_util.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_records.h"
#include "server/api/service_reconciler.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

// A pass runs anyway this often, whatever was written: agents' connectivity
// changes with time, not with a write.
constexpr int64_t kFullPassMillis = 30'000;
// ECS adds the "unable to place a task" event at most once a minute.
constexpr int64_t kUnplacedEventMillis = 60'000;
// ECS keeps a service's 100 newest events.
constexpr size_t kMaxEvents = 100;
// RunTask's count limit: a plan places at most this many tasks.
constexpr int64_t kMaxPerPlan = 10;
// berth's members of a service record (ServiceView removes them): the
// deployment whose steady state was announced, and when the last "unable
// to place" event was added (epoch milliseconds).
constexpr std::string_view kSteadyKey = "berthSteadyDeployment";
constexpr std::string_view kUnplacedKey = "berthUnplacedEventAt";

void AddEvent(json::object& service, std::string message, int64_t now_millis) {
  json::value& v = service["events"];
  if (!v.is_array()) v.emplace_array();
  json::array& events = v.get_array();
  events.insert(events.begin(),
                json::object{{"id", NewUuid()},
                             {"createdAt", static_cast<double>(now_millis) / 1000.0},
                             {"message", std::move(message)}});
  if (events.size() > kMaxEvents) events.resize(kMaxEvents);
}

std::string TaskList(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "(task " : " (task ") + id + ")";
  return out;
}

json::object* DeploymentWithId(json::object& service, std::string_view id) {
  json::value* v = service.if_contains("deployments");
  if (v == nullptr || !v->is_array()) return nullptr;
  for (auto& d : v->get_array()) {
    if (d.is_object() && model::StringOr(d.get_object(), "id", "") == id) return &d.get_object();
  }
  return nullptr;
}

bool HasHealthCheck(const json::object* td_record) {
  if (td_record == nullptr) return false;
  for (const auto& c :
       model::ArrayOr(TaskDefinitionRecord(*td_record).definition(), "containerDefinitions")) {
    if (c.is_object() && c.get_object().contains("healthCheck")) return true;
  }
  return false;
}

}  // namespace

void EcsApi::ReconcileServices(int64_t now_millis) {
  {
    std::shared_lock lock(mu_);
    if (commits_ == services_seen_commits_ && !services_wanting_ &&
        now_millis - services_full_pass_at_millis_ < kFullPassMillis) {
      return;
    }
  }
  std::unique_lock lock(mu_);
  // What this pass writes is looked at again by the next one (a task it
  // stopped may make the service steady), so it counts as unseen; a pass
  // that changes nothing writes nothing, and the one after it is skipped.
  services_seen_commits_ = commits_;
  bool wanting = false;
  for (auto& [cluster, services] : services_) {
    auto c = clusters_.find(cluster);
    if (services.empty() || c == clusters_.end() || !ClusterRecord(c->second).is_active()) {
      continue;
    }
    // One look at the cluster's tasks for all its services.
    TasksByStarter by_starter;
    if (auto t = tasks_.find(cluster); t != tasks_.end()) {
      for (const auto& [id, task] : t->second) {
        const TaskRecord record(task);
        if (record.stop_requested() || record.is_stopped() || record.started_by().empty()) continue;
        by_starter[record.started_by()].push_back(&task);
      }
    }
    for (auto& [name, service] : services) {
      wanting |= ReconcileOneService(cluster, service, by_starter, now_millis);
    }
  }
  services_wanting_ = wanting;
  services_full_pass_at_millis_ = now_millis;
}

bool EcsApi::ReconcileOneService(std::string_view cluster, json::object& service,
                                 const TasksByStarter& tasks, int64_t now_millis) {
  const ServiceRecord record(service);
  if (record.scheduling_strategy() != kReplica || record.is_inactive()) return false;
  ServiceWants wants;
  wants.draining = record.status() == kDraining;
  std::vector<std::string> deployment_ids;
  for (const auto& d : record.deployments()) {
    if (!d.is_object()) continue;
    const json::object& o = d.get_object();
    std::string id(StringOr(o, "id", ""));
    if (StringOr(o, "status", "") == kPrimary) {
      wants.primary = id;
      wants.desired = OptInt(o, "desiredCount").value_or(0);
    } else {
      wants.others.push_back(id);
    }
    deployment_ids.push_back(std::move(id));
  }
  if (wants.primary.empty() && !wants.draining) return false;
  static const json::object kNone;
  const json::object* config = nullptr;
  if (auto* v = service.if_contains("deploymentConfiguration"); v != nullptr && v->is_object()) {
    config = &v->get_object();
  }
  wants.maximum_percent = OptInt(config ? *config : kNone, "maximumPercent").value_or(200);
  wants.minimum_healthy_percent =
      OptInt(config ? *config : kNone, "minimumHealthyPercent").value_or(100);
  std::map<std::string_view, bool> health_checked;  // by task definition ARN
  for (const std::string& id : deployment_ids) {
    auto found = tasks.find(id);
    if (found == tasks.end()) continue;
    for (const json::object* task : found->second) {
      const TaskRecord t(*task);
      auto checked = health_checked.find(t.task_definition_arn());
      if (checked == health_checked.end()) {
        checked = health_checked
                      .emplace(t.task_definition_arn(),
                               HasHealthCheck(FindTaskDefinitionByArn(t.task_definition_arn())))
                      .first;
      }
      std::string_view health = StringOr(*task, "healthStatus", "UNKNOWN");
      bool healthy =
          t.is_running() && health != "UNHEALTHY" && (health == "HEALTHY" || !checked->second);
      wants.tasks.push_back(
          {t.id(), id, t.created_at_millis().value_or(0), t.is_running(), healthy});
    }
  }
  const ServiceChanges changes = ReconcileService(wants);

  const std::string name(record.name());
  const std::string who = "(service " + name + ")";
  // ECS words every stop of the scheduler's this way, naming the deployment
  // in charge.
  const std::string by =
      wants.primary.empty() ? (deployment_ids.empty() ? "" : deployment_ids[0]) : wants.primary;
  bool changed = false;
  if (!changes.stop.empty()) {
    store::Batch batch;
    std::vector<std::string> instances;
    auto& cluster_tasks = tasks_.at(std::string(cluster));
    for (const std::string& id : changes.stop) {
      json::object& task = cluster_tasks.at(id);
      RequestTaskStop(cluster, task, kServiceSchedulerInitiated,
                      "Scaling activity initiated by (deployment " + by + ")",
                      static_cast<double>(now_millis) / 1000.0, batch);
      instances.push_back(TaskRecord(task).instance_id());
    }
    Commit(std::move(batch));
    for (const std::string& id : instances) agents_.Bump(id);
    AddEvent(service,
             who + " has stopped " + std::to_string(changes.stop.size()) +
                 " running tasks: " + TaskList(changes.stop) + ".",
             now_millis);
    changed = true;
  }

  std::string failure;
  if (changes.place > 0) {
    std::vector<std::string> started;
    failure = PlaceServiceTasks(cluster, service, *DeploymentWithId(service, wants.primary),
                                changes.place, now_millis, started);
    if (!started.empty()) {
      AddEvent(service,
               who + " has started " + std::to_string(started.size()) +
                   " tasks: " + TaskList(started) + ".",
               now_millis);
      changed = true;
    }
    std::optional<int64_t> last = OptInt(service, kUnplacedKey);
    if (!failure.empty() && (!last || now_millis - *last >= kUnplacedEventMillis)) {
      AddEvent(service,
               who +
                   " was unable to place a task because no container instance met all of its "
                   "requirements. Reason: " +
                   failure,
               now_millis);
      service[kUnplacedKey] = now_millis;
      changed = true;
    }
  }

  if (changes.steady) {
    if (StringOr(service, kSteadyKey, "") != wants.primary) {
      AddEvent(service, who + " has reached a steady state.", now_millis);
      service[kSteadyKey] = wants.primary;
      if (json::object* primary = DeploymentWithId(service, wants.primary)) {
        (*primary)["rolloutState"] = "COMPLETED";
        (*primary)["rolloutStateReason"] = "ECS deployment " + wants.primary + " completed.";
        (*primary)["updatedAt"] = static_cast<double>(now_millis) / 1000.0;
      }
      changed = true;
    }
  } else if (service.erase(kSteadyKey) > 0) {
    changed = true;  // a new steady period will be announced
  }

  if (!changes.retire.empty()) {
    json::array& deployments = service["deployments"].as_array();
    EraseIf(deployments, [&](const json::value& d) {
      if (!d.is_object()) return false;
      std::string_view id = StringOr(d.get_object(), "id", "");
      return std::find(changes.retire.begin(), changes.retire.end(), id) != changes.retire.end();
    });
    changed = true;
  }

  if (wants.draining && ServiceStatus(cluster, service) == kInactive) {
    MutableServiceRecord(service).SetStatus(kInactive, static_cast<double>(now_millis) / 1000.0);
    changed = true;
  }
  if (changed) Commit({store::Mutation::Put(ServiceKey(cluster, name), json::serialize(service))});
  return !failure.empty();
}

std::string EcsApi::PlaceServiceTasks(std::string_view cluster, const json::object& service,
                                      const json::object& deployment, int64_t count,
                                      int64_t now_millis, std::vector<std::string>& started) {
  const std::string td_arn(StringOr(deployment, "taskDefinition", ""));
  const json::object* td = FindTaskDefinitionByArn(td_arn);
  if (td == nullptr) return "Unable to find task definition '" + td_arn + "'";
  const std::string_view propagate = StringOr(service, "propagateTags", "NONE");
  while (count > 0) {
    const int64_t n = std::min(count, kMaxPerPlan);
    json::object in{{"cluster", cluster},
                    {"taskDefinition", td_arn},
                    {"count", n},
                    {"group", ServiceRecord(service).group()},
                    {"startedBy", StringOr(deployment, "id", "")},
                    {"placementConstraints", ArrayOr(service, "placementConstraints")},
                    {"placementStrategy", ArrayOr(service, "placementStrategy")}};
    if (propagate == "TASK_DEFINITION") in["propagateTags"] = "TASK_DEFINITION";
    if (propagate == "SERVICE") in["tags"] = ArrayOr(service, "tags");
    std::string failure;
    try {
      std::optional<PlannedRun> run =
          PlanRun(in, CallContext{"", now_millis}, {}, /*optimistic=*/false, td);
      for (const auto& [id, task] : run->tasks) started.push_back(id);
      if (!run->plan.failures.empty()) {
        const auto& f = run->plan.failures.front();
        failure = f.detail.empty() ? f.reason : f.reason + " (" + f.detail + ")";
      }
      CommitRun(*run, /*verify=*/false);
    } catch (const ApiException& e) {
      return e.error().message;
    }
    if (!failure.empty()) return failure;
    count -= n;
  }
  return "";
}

}  // namespace berth::server::api
