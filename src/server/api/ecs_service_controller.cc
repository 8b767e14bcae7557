// The service scheduler: a controller over the in-memory state, run
// periodically with the clock passed in. ReconcileService and
// ReconcileDaemon (pure) decide what changes; tasks are placed through the
// planner as RunTask's (REPLICA) and StartTask's (DAEMON) are and committed
// the same way, and stopped as StopTask stops them. Around them, each pass
// keeps what ECS keeps for a deployment: its failed tasks, the circuit
// breaker and its rollback, the launch throttle after repeated failures to
// start, its rollout state, and the service's events.
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <mutex>
#include <shared_mutex>

#include "common/ids.h"
#include "model/json_util.h"
#include "planner/planner.h"
#include "planner/task_placement.h"
#include "scheduler/placement_request.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_records.h"
#include "server/api/service_deployments.h"
#include "server/api/service_reconciler.h"
#include "server/api/service_requests.h"

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
// A pass holds the ECS lock exclusively; one that has placed this many
// tasks ends there, the agents' polls and reports get the lock, and the
// next pass goes on. Without it a service of thousands of tasks held every
// agent's answer until all of them were placed (20 s for 100,000).
constexpr int64_t kMaxPlacedPerPass = 1000;
// berth's members of a service record (ServiceView leaves out every member
// named berth...): the deployment whose steady state was announced; when
// the last "unable to place" event was added (epoch milliseconds); the
// PRIMARY deployment that had a task running well (its circuit breaker is
// done); the last COMPLETED deployment (a rollback's target); the launch
// throttle {"deployment", "failures" in a row, "until" epoch milliseconds}.
constexpr std::string_view kSteadyKey = "berthSteadyDeployment";
constexpr std::string_view kUnplacedKey = "berthUnplacedEventAt";
constexpr std::string_view kProvedKey = "berthProvedDeployment";
constexpr std::string_view kCompletedKey = "berthCompletedDeployment";
constexpr std::string_view kThrottleKey = "berthThrottle";

double Seconds(int64_t millis) { return static_cast<double>(millis) / 1000.0; }

// A service event, mirrored to the event stream.
void AddEvent(EventLog& log, json::object& service, std::string message, int64_t now_millis) {
  std::string_view cluster_arn = StringOr(service, "clusterArn", "");
  log.Emit(now_millis, "ServiceEvent", std::string(cluster_arn.substr(cluster_arn.rfind('/') + 1)),
           {std::string(StringOr(service, "serviceArn", ""))}, message);
  json::value& v = service["events"];
  if (!v.is_array()) v.emplace_array();
  json::array& events = v.get_array();
  events.insert(events.begin(), json::object{{"id", NewUuid()},
                                             {"createdAt", Seconds(now_millis)},
                                             {"message", std::move(message)}});
  if (events.size() > kMaxEvents) events.resize(kMaxEvents);
}

// "(task a) (task b)": ECS's way of naming the tasks of an event; past
// kListedTasks, the rest are counted, so that a pass that starts
// thousands keeps its event readable.
std::string TaskList(const std::vector<std::string>& ids) {
  constexpr size_t kListedTasks = 10;
  std::string out;
  for (size_t i = 0; i < ids.size() && i < kListedTasks; ++i) {
    out += (out.empty() ? "(task " : " (task ") + ids[i] + ")";
  }
  if (ids.size() > kListedTasks)
    out += " and " + std::to_string(ids.size() - kListedTasks) + " more";
  return out;
}

json::object* PrimaryDeployment(json::object& service) {
  json::value* v = service.if_contains("deployments");
  if (v == nullptr || !v->is_array()) return nullptr;
  for (auto& d : v->get_array()) {
    if (d.is_object() && model::StringOr(d.get_object(), "status", "") == kPrimary) {
      return &d.get_object();
    }
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

const json::object& ObjectOrEmpty(const json::object& o, std::string_view key) {
  static const json::object kNone;
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->get_object() : kNone;
}

}  // namespace

bool EcsApi::ReconcileServices(int64_t now_millis) {
  {
    std::shared_lock lock(mu_);
    if (commits_ == services_seen_commits_ && !services_wanting_ &&
        now_millis - services_full_pass_at_millis_ < kFullPassMillis) {
      return false;
    }
  }
  std::unique_lock lock(mu_);
  // What this pass writes is looked at again by the next one (a task it
  // stopped may make the service steady), so it counts as unseen; a pass
  // that changes nothing writes nothing, and the one after it is skipped.
  services_seen_commits_ = commits_;
  service_place_budget_ = kMaxPlacedPerPass;
  bool wanting = false;
  for (auto& [cluster, services] : services_) {
    auto c = clusters_.find(cluster);
    if (services.empty() || c == clusters_.end() || !ClusterRecord(c->second).is_active()) {
      continue;
    }
    // Whether any task of the cluster's services may be leaving its
    // instance, looked at once for all of them.
    bool instances_active = true;
    if (auto i = instances_.find(cluster); i != instances_.end()) {
      instances_active = std::all_of(i->second.begin(), i->second.end(), [](const auto& entry) {
        return InstanceRecord(entry.second).is_active();
      });
    }
    for (auto& [name, service] : services) {
      wanting |= ReconcileOneService(cluster, service, now_millis, instances_active);
    }
  }
  services_wanting_ = wanting;
  services_full_pass_at_millis_ = now_millis;
  return service_place_budget_ <= 0;  // placed its fill: there may be more to place
}

EcsApi::ServiceTasksNow EcsApi::CollectServiceTasks(std::string_view cluster,
                                                    const json::object& service,
                                                    std::string_view primary, int64_t now_millis,
                                                    bool may_count) {
  ServiceTasksNow now;
  auto c = deployment_tasks_.find(cluster);
  if (c == deployment_tasks_.end()) return now;
  const int64_t grace_millis = OptInt(service, "healthCheckGracePeriodSeconds").value_or(0) * 1000;
  std::map<std::string_view, bool> health_checked;  // by task definition ARN
  auto checked = [&](std::string_view td_arn) {
    auto it = health_checked.find(td_arn);
    if (it == health_checked.end()) {
      it = health_checked.emplace(td_arn, HasHealthCheck(FindTaskDefinitionByArn(td_arn))).first;
    }
    return it->second;
  };
  // The deployments with tasks not STOPPED; their outcomes taken (each
  // counts once).
  std::vector<std::pair<std::string_view, DeploymentTasks*>> with_tasks;
  const json::object* primary_record = nullptr;
  for (const auto& d : ServiceRecord(service).deployments()) {
    if (!d.is_object()) continue;
    const std::string_view id = StringOr(d.get_object(), "id", "");
    if (id == primary) primary_record = &d.get_object();
    auto of = c->second.find(id);
    if (of == c->second.end()) continue;
    DeploymentTasks& tasks = of->second;
    if (id == primary) {
      now.failed = tasks.failed;
      now.failed_to_start = tasks.failed_to_start;
      now.reached_running = tasks.reached_running;
      now.primary_health_checked = checked(StringOr(d.get_object(), "taskDefinition", ""));
    }
    tasks.failed = tasks.failed_to_start = tasks.reached_running = 0;
    now.active[std::string(id)] = static_cast<int64_t>(tasks.active.size());
    // Kept without tasks too (for the image digests) until the deployment
    // is retired (ForgetDeployment).
    if (!tasks.active.empty()) with_tasks.emplace_back(id, &tasks);
  }

  // Counted: all of them the PRIMARY deployment's and none needing a look
  // of its own (asked to stop, UNHEALTHY, more than it wants).
  if (may_count && primary_record != nullptr &&
      (with_tasks.empty() || (with_tasks.size() == 1 && with_tasks.front().first == primary))) {
    const DeploymentTasks* tasks = with_tasks.empty() ? nullptr : with_tasks.front().second;
    const int64_t n = tasks != nullptr ? static_cast<int64_t>(tasks->active.size()) : 0;
    const int64_t desired = OptInt(*primary_record, "desiredCount").value_or(0);
    if (tasks == nullptr || (tasks->stopping == 0 && tasks->unhealthy == 0 && n <= desired)) {
      // Not asked to stop and not UNHEALTHY: healthy is RUNNING, and
      // HEALTHY where the task definition has a health check.
      const int64_t healthy = tasks == nullptr             ? 0
                              : now.primary_health_checked ? tasks->running_healthy
                                                           : tasks->running;
      now.uniform = UniformTasks{n, healthy};
      now.primary_healthy = healthy;
      return now;
    }
  }

  for (auto [id, tasks] : with_tasks) {
    for (const auto& [task_id, active] : tasks->active) {
      const json::object* task = active.record;
      const TaskRecord t(*task);
      const std::string instance = t.instance_id();
      if (t.stop_requested()) {
        now.stopping_on.push_back(instance);
        continue;
      }
      const json::object* on = FindInstance(cluster, instance);
      const std::string_view health = StringOr(*task, "healthStatus", "UNKNOWN");
      const bool past_grace =
          now_millis - OptInt(*task, "startedAt").value_or(0) * 1000 >= grace_millis;
      ServiceTask st;
      st.id = task_id;
      st.deployment = std::string(id);
      st.created_at_millis = t.created_at_millis().value_or(0);
      st.running = t.is_running();
      st.healthy = st.running && health != "UNHEALTHY" &&
                   (health == "HEALTHY" || !checked(t.task_definition_arn()));
      st.unhealthy = st.running && health == "UNHEALTHY" && past_grace;
      st.instance = instance;
      st.leaving = on == nullptr || !InstanceRecord(*on).is_active();
      now.primary_healthy += st.deployment == primary && st.healthy;
      now.tasks.push_back(std::move(st));
    }
  }
  return now;
}

bool EcsApi::ReconcileOneService(std::string_view cluster, json::object& service,
                                 int64_t now_millis, bool instances_active) {
  const ServiceRecord record(service);
  if (record.is_inactive()) return false;
  const bool draining = record.status() == kDraining;
  const bool daemon = record.scheduling_strategy() == kDaemon;
  json::object* primary = PrimaryDeployment(service);
  if (primary == nullptr && !draining) return false;
  std::string primary_id(primary != nullptr ? StringOr(*primary, "id", "") : "");
  ServiceTasksNow tasks = CollectServiceTasks(cluster, service, primary_id, now_millis,
                                              !daemon && !draining && instances_active);
  bool changed = false;

  // The deployment's guards: the circuit breaker (which may roll back to
  // another PRIMARY) and the launch throttle.
  if (!draining) {
    changed |= TrackDeploymentFailures(service, tasks, now_millis);
    primary = PrimaryDeployment(service);
    const std::string before = std::move(primary_id);
    primary_id = std::string(StringOr(*primary, "id", ""));
    // Rolled back: the tasks counted are an older deployment's now.
    if (tasks.uniform && primary_id != before) {
      tasks = CollectServiceTasks(cluster, service, primary_id, now_millis, false);
    }
  }
  const bool failed = primary != nullptr && StringOr(*primary, "rolloutState", "") == "FAILED";
  const json::object& throttle = ObjectOrEmpty(service, kThrottleKey);
  const bool throttled = OptInt(throttle, "until").value_or(0) > now_millis;

  const json::object& config = ObjectOrEmpty(service, "deploymentConfiguration");
  std::vector<std::string> stop, stop_health, place_on;
  int64_t place = 0;
  bool steady = false;
  if (daemon) {
    DaemonWants wants;
    wants.draining = draining;
    wants.minimum_healthy_percent = OptInt(config, "minimumHealthyPercent").value_or(0);
    wants.primary = primary_id;
    if (!draining) wants.instances = DaemonInstances(cluster, service, *primary, now_millis);
    wants.tasks = tasks.tasks;
    wants.stopping_on = tasks.stopping_on;
    DaemonChanges changes = ReconcileDaemon(wants);
    stop = std::move(changes.stop);
    stop_health = std::move(changes.stop_health);
    // An instance whose agent is not connected keeps its task (a blip
    // should not restart a node daemon) but gets none until it is back.
    for (const std::string& id : changes.place_on) {
      const json::object* instance = FindInstance(cluster, id);
      if (instance != nullptr && AgentConnected(*instance, now_millis)) place_on.push_back(id);
    }
    steady = changes.steady;
    // ECS shows a DAEMON service's desiredCount as the instances it belongs on.
    if (!draining && record.desired_count() != static_cast<int64_t>(wants.instances.size())) {
      MutableServiceRecord(service).SetDesiredCount(static_cast<int64_t>(wants.instances.size()),
                                                    Seconds(now_millis));
      changed = true;
    }
  } else {
    ServiceWants wants;
    wants.draining = draining;
    wants.desired = primary != nullptr ? OptInt(*primary, "desiredCount").value_or(0) : 0;
    wants.maximum_percent = OptInt(config, "maximumPercent").value_or(200);
    wants.minimum_healthy_percent = OptInt(config, "minimumHealthyPercent").value_or(100);
    wants.primary = primary_id;
    wants.tasks = tasks.tasks;
    ServiceChanges changes =
        tasks.uniform ? ReconcileUniformService(wants, *tasks.uniform) : ReconcileService(wants);
    stop = std::move(changes.stop);
    stop_health = std::move(changes.stop_health);
    place = changes.place;
    steady = changes.steady;
  }
  // A FAILED deployment that was not rolled back starts nothing more.
  if (failed) {
    place = 0;
    place_on.clear();
  }

  const std::string who = "(service " + std::string(record.name()) + ")";
  // ECS words every stop of the scheduler's this way, naming the deployment
  // in charge.
  const std::string by = "Scaling activity initiated by (deployment " + primary_id + ")";
  for (const std::string& id : stop_health) {
    AddEvent(events_, service, who + " (task " + id + ") failed container health checks.",
             now_millis);
  }
  std::vector<std::string> stopped = stop_health;
  stopped.insert(stopped.end(), stop.begin(), stop.end());
  if (!stopped.empty()) {
    StopServiceTasks(cluster, stop_health, kHealthStopReason, now_millis);
    StopServiceTasks(cluster, stop, by, now_millis);
    AddEvent(events_, service,
             who + " has stopped " + std::to_string(stopped.size()) +
                 " running tasks: " + TaskList(stopped) + ".",
             now_millis);
    changed = true;
  }

  std::string failure;
  if ((place > 0 || !place_on.empty()) && !throttled) {
    std::vector<std::string> started;
    failure = daemon ? PlaceDaemonTasks(cluster, service, *primary, place_on, now_millis, started)
                     : PlaceServiceTasks(cluster, service, *primary, place, now_millis, started);
    if (!started.empty()) {
      AddEvent(events_, service,
               who + " has started " + std::to_string(started.size()) +
                   " tasks: " + TaskList(started) + ".",
               now_millis);
      changed = true;
    }
    std::optional<int64_t> last = OptInt(service, kUnplacedKey);
    if (!failure.empty() && (!last || now_millis - *last >= kUnplacedEventMillis)) {
      AddEvent(events_, service,
               who +
                   " was unable to place a task because no container instance met all of its "
                   "requirements. Reason: " +
                   failure,
               now_millis);
      service[kUnplacedKey] = now_millis;
      changed = true;
    }
  }

  // Steady once the tasks asked to stop have stopped too: until then an
  // older deployment still runs some.
  if (steady && !failed && tasks.stopping_on.empty()) {
    if (StringOr(service, kSteadyKey, "") != primary_id) {
      AddEvent(events_, service, who + " has reached a steady state.", now_millis);
      service[kSteadyKey] = primary_id;
      if (primary != nullptr && StringOr(*primary, "rolloutState", "") != "COMPLETED") {
        (*primary)["rolloutState"] = "COMPLETED";
        (*primary)["rolloutStateReason"] = "ECS deployment " + primary_id + " completed.";
        (*primary)["updatedAt"] = Seconds(now_millis);
        service[kCompletedKey] = *primary;
      }
      changed = true;
    }
  } else if (service.erase(kSteadyKey) > 0) {
    changed = true;  // a new steady period will be announced
  }

  changed |= RetireDeployments(cluster, service, tasks, stopped, now_millis);
  changed |= ResolveServiceImages(cluster, service);
  changed |= SyncDeploymentHistory(service, Seconds(now_millis));

  if (draining && ServiceStatus(cluster, service) == kInactive) {
    MutableServiceRecord(service).SetStatus(kInactive, Seconds(now_millis));
    for (const auto& d : ServiceRecord(service).deployments()) {
      if (d.is_object()) ForgetDeployment(cluster, StringOr(d.get_object(), "id", ""));
    }
    changed = true;
  }
  if (changed) {
    Commit({store::Mutation::Put(ServiceKey(cluster, record.name()), json::serialize(service))});
  }
  return !failure.empty() || throttled;
}

bool EcsApi::TrackDeploymentFailures(json::object& service, const ServiceTasksNow& tasks,
                                     int64_t now_millis) {
  json::object& primary = *PrimaryDeployment(service);
  const std::string id(StringOr(primary, "id", ""));
  const std::string who = "(service " + std::string(ServiceRecord(service).name()) + ")";
  bool changed = false;

  // The throttle: tasks that keep failing to start are launched ever more
  // slowly; a task that reaches RUNNING, or a new deployment, ends it.
  if (tasks.failed_to_start > 0 || tasks.reached_running > 0) {
    json::object throttle = ObjectOrEmpty(service, kThrottleKey);
    int64_t failures =
        StringOr(throttle, "deployment", "") == id ? OptInt(throttle, "failures").value_or(0) : 0;
    const int64_t before = failures;
    failures = tasks.reached_running > 0 ? 0 : failures + tasks.failed_to_start;
    if (before < kThrottleAfterFailures && failures >= kThrottleAfterFailures) {
      AddEvent(events_, service, who + " is unable to consistently start tasks successfully.",
               now_millis);
    }
    const int64_t delay = ThrottleDelayMillis(failures);
    service[kThrottleKey] = json::object{
        {"deployment", id}, {"failures", failures}, {"until", delay > 0 ? now_millis + delay : 0}};
    changed = true;
  }

  // The circuit breaker: ECS counts a deployment's failed tasks until one of
  // its tasks runs well (RUNNING and, with a health check, HEALTHY); then
  // the count is 0 and no longer looked at.
  if (StringOr(primary, "rolloutState", "") != "IN_PROGRESS" ||
      StringOr(service, kProvedKey, "") == id) {
    return changed;
  }
  const bool runs_well =
      tasks.primary_healthy > 0 || (tasks.reached_running > 0 && !tasks.primary_health_checked);
  if (runs_well) {
    service[kProvedKey] = id;
    primary["failedTasks"] = 0;
    return true;
  }
  if (tasks.failed == 0) return changed;
  const int64_t failed = OptInt(primary, "failedTasks").value_or(0) + tasks.failed;
  primary["failedTasks"] = failed;
  const json::object& breaker =
      ObjectOrEmpty(ObjectOrEmpty(service, "deploymentConfiguration"), "deploymentCircuitBreaker");
  const int64_t desired = OptInt(primary, "desiredCount").value_or(0);
  if (!BoolOr(breaker, "enable", false) || failed < CircuitBreakerThreshold(desired)) return true;

  const bool is_rollback = StringOr(primary, "rolloutStateReason", "").starts_with(kRollbackReason);
  primary["rolloutState"] = "FAILED";
  primary["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start.";
  primary["updatedAt"] = Seconds(now_millis);
  AddEvent(events_, service,
           who + " (deployment " + id + ") deployment failed: tasks failed to start.", now_millis);
  // A rollback that fails in turn is not rolled back again: that would
  // start the same failing tasks round after round.
  const json::object& completed = ObjectOrEmpty(service, kCompletedKey);
  if (!BoolOr(breaker, "rollback", false) || completed.empty() || is_rollback) return true;

  // Back to the last deployment that completed: a new PRIMARY deployment of
  // its task definition, as ECS rolls back.
  const std::string back_to(StringOr(completed, "id", ""));
  const std::string td(StringOr(completed, "taskDefinition", ""));
  json::object deployment =
      NewDeployment(NewDeploymentId(random_), td, desired, completed, Seconds(now_millis));
  deployment["rolloutStateReason"] = std::string(kRollbackReason) + back_to + ".";
  AddEvent(events_, service, who + " rolling back to deployment " + back_to + ".", now_millis);
  MutableServiceRecord(service).AddPrimaryDeployment(std::move(deployment), Seconds(now_millis));
  service["taskDefinition"] = td;
  service.erase(kThrottleKey);
  return true;
}

void EcsApi::ForgetDeployment(std::string_view cluster, std::string_view id) {
  auto c = deployment_tasks_.find(cluster);
  if (c == deployment_tasks_.end()) return;
  auto of = c->second.find(id);
  if (of != c->second.end() && of->second.active.empty()) c->second.erase(of);
}

bool EcsApi::RetireDeployments(std::string_view cluster, json::object& service,
                               const ServiceTasksNow& tasks,
                               const std::vector<std::string>& stopped, int64_t now_millis) {
  json::value* v = service.if_contains("deployments");
  if (v == nullptr || !v->is_array()) return false;
  // What each older deployment keeps: its tasks not asked to stop.
  std::map<std::string_view, int64_t> keeps;
  for (const ServiceTask& task : tasks.tasks) {
    if (std::find(stopped.begin(), stopped.end(), task.id) == stopped.end()) {
      ++keeps[task.deployment];
    }
  }
  bool changed = false;
  json::array& deployments = v->get_array();
  bool primary_completed = false;
  for (const auto& d : deployments) {
    if (StringOr(d.as_object(), "status", "") == kPrimary) {
      primary_completed = StringOr(d.as_object(), "rolloutState", "") == "COMPLETED";
    }
  }
  for (auto it = deployments.begin(); it != deployments.end();) {
    json::object& d = it->as_object();
    const std::string_view id = StringOr(d, "id", "");
    if (StringOr(d, "status", "") == kPrimary) {
      ++it;
      continue;
    }
    // An older deployment goes once its last task has stopped; until then
    // its desiredCount is what it keeps, coming down as ECS shows a roll. A
    // FAILED one stays in sight until the rollback completes.
    auto active = tasks.active.find(id);
    const bool failed_in_sight = StringOr(d, "rolloutState", "") == "FAILED" && !primary_completed;
    if ((active == tasks.active.end() || active->second == 0) && !failed_in_sight) {
      ForgetDeployment(cluster, id);
      it = deployments.erase(it);
      changed = true;
      continue;
    }
    const int64_t n = keeps[id];
    if (OptInt(d, "desiredCount").value_or(0) != n) {
      d["desiredCount"] = n;
      d["updatedAt"] = Seconds(now_millis);
      changed = true;
    }
    ++it;
  }
  return changed;
}

void EcsApi::StopServiceTasks(std::string_view cluster, const std::vector<std::string>& ids,
                              std::string_view reason, int64_t now_millis) {
  if (ids.empty()) return;
  store::Batch batch;
  std::vector<std::string> instances;
  auto& cluster_tasks = tasks_.at(std::string(cluster));
  for (const std::string& id : ids) {
    json::object& task = cluster_tasks.at(id);
    RequestTaskStop(cluster, task, kServiceSchedulerInitiated, reason, Seconds(now_millis), batch);
    instances.push_back(TaskRecord(task).instance_id());
  }
  Commit(std::move(batch));
  for (const std::string& id : instances) agents_.Bump(id);
}

json::object EcsApi::ServiceRunRequest(std::string_view cluster, const json::object& service,
                                       const json::object& deployment, int64_t count) const {
  json::object in{{"cluster", cluster},
                  {"taskDefinition", StringOr(deployment, "taskDefinition", "")},
                  {"count", count},
                  {"group", ServiceRecord(service).group()},
                  {"startedBy", StringOr(deployment, "id", "")},
                  {"placementConstraints", ArrayOr(service, "placementConstraints")},
                  {"placementStrategy", ArrayOr(service, "placementStrategy")}};
  const std::string_view propagate = StringOr(service, "propagateTags", "NONE");
  if (propagate == "TASK_DEFINITION") in["propagateTags"] = "TASK_DEFINITION";
  if (propagate == "SERVICE") in["tags"] = ArrayOr(service, "tags");
  // The digests the revision's first tasks resolved (versionConsistency).
  json::object pins = PinnedImages(service, RevisionIdOf(service, deployment));
  if (!pins.empty()) in[kPinnedImagesKey] = std::move(pins);
  return in;
}

bool EcsApi::ResolveServiceImages(std::string_view cluster, json::object& service) {
  bool changed = false;
  auto c = tasks_.find(cluster);
  for (const auto& d : ServiceRecord(service).deployments()) {
    if (!d.is_object()) continue;
    const json::object& deployment = d.get_object();
    const json::object* td = FindTaskDefinitionByArn(StringOr(deployment, "taskDefinition", ""));
    if (td == nullptr) continue;
    // A digest some task of this deployment reported for the container,
    // kept as they report (AccountDeploymentTask). Looking for it in the
    // cluster's tasks on every pass cost each service a walk of all of them
    // (100,000 and more) until its first task reported RUNNING.
    const std::string_view id = StringOr(deployment, "id", "");
    const DeploymentTasks* of = nullptr;
    if (auto kept = deployment_tasks_.find(cluster); kept != deployment_tasks_.end()) {
      if (auto it = kept->second.find(id); it != kept->second.end()) of = &it->second;
    }
    if (of == nullptr) {
      // A deployment not seen since the server started: its tasks' digests
      // are looked for once, in the records, and kept from then on.
      DeploymentTasks& seen = deployment_tasks_[std::string(cluster)][std::string(id)];
      of = &seen;
      if (c != tasks_.end()) {
        for (const auto& [task_id, task] : c->second) {
          if (StringOr(task, "startedBy", "") == id) KeepImageDigests(seen, task);
        }
      }
    }
    auto reported = [&](std::string_view container) -> std::optional<std::string> {
      auto digest = of->image_digests.find(container);
      if (digest == of->image_digests.end()) return std::nullopt;
      return digest->second;
    };
    changed |= ResolveContainerImages(service, RevisionIdOf(service, deployment),
                                      RevisionContainers(TaskDefinitionRecord(*td).definition()),
                                      reported);
  }
  return changed;
}

std::string EcsApi::PlaceServiceRun(json::object& in, const std::vector<std::string>& only,
                                    int64_t now_millis, std::vector<std::string>& started) {
  const std::string td_arn(StringOr(in, "taskDefinition", ""));
  const json::object* td = FindTaskDefinitionByArn(td_arn);
  if (td == nullptr) return "Unable to find task definition '" + td_arn + "'";
  try {
    std::optional<PlannedRun> run =
        PlanRun(in, CallContext{"", now_millis}, only, /*optimistic=*/false, td);
    for (const auto& [id, task] : run->tasks) started.push_back(id);
    std::string failure;
    if (!run->plan.failures.empty()) {
      const auto& f = run->plan.failures.front();
      failure = f.detail.empty() ? f.reason : f.reason + " (" + f.detail + ")";
    }
    CommitRun(*run, /*verify=*/false);
    return failure;
  } catch (const ApiException& e) {
    return e.error().message;
  }
}

std::string EcsApi::PlaceServiceTasks(std::string_view cluster, const json::object& service,
                                      const json::object& deployment, int64_t count,
                                      int64_t now_millis, std::vector<std::string>& started) {
  while (count > 0 && service_place_budget_ > 0) {
    const int64_t n = std::min({count, kMaxPerPlan, service_place_budget_});
    json::object in = ServiceRunRequest(cluster, service, deployment, n);
    std::string failure = PlaceServiceRun(in, {}, now_millis, started);
    if (!failure.empty()) return failure;
    count -= n;
    service_place_budget_ -= n;
  }
  return "";
}

std::string EcsApi::PlaceDaemonTasks(std::string_view cluster, const json::object& service,
                                     const json::object& deployment,
                                     const std::vector<std::string>& instances, int64_t now_millis,
                                     std::vector<std::string>& started) {
  std::string first_failure;
  for (const std::string& instance : instances) {
    json::object in = ServiceRunRequest(cluster, service, deployment, 1);
    std::string failure = PlaceServiceRun(in, {instance}, now_millis, started);
    if (first_failure.empty() && !failure.empty()) {
      first_failure = failure + " on container instance " + instance;
    }
  }
  return first_failure;
}

std::vector<std::string> EcsApi::DaemonInstances(std::string_view cluster,
                                                 const json::object& service,
                                                 const json::object& deployment,
                                                 int64_t now_millis) const {
  std::vector<std::string> out;
  const json::object* td = FindTaskDefinitionByArn(StringOr(deployment, "taskDefinition", ""));
  auto c = instances_.find(cluster);
  if (td == nullptr || c == instances_.end()) return out;
  // The service's and its task definition's memberOf constraints, compiled
  // as the placement of its tasks compiles them (CreateService checked them).
  json::object as_run{{"placementConstraints", ArrayOr(service, "placementConstraints")},
                      {"group", ServiceRecord(service).group()}};
  StatusOr<planner::TaskRequest> request =
      planner::ParseTaskRequest(as_run, TaskDefinitionRecord(*td).definition());
  if (!request.ok()) return out;
  StatusOr<scheduler::CompiledRequest> compiled = scheduler::CompileRequest(request->placement);
  if (!compiled.ok()) return out;
  for (const auto& [id, instance] : c->second) {
    if (!InstanceRecord(instance).is_active()) continue;
    const scheduler::InstanceFacts facts =
        planner::InstanceSnapshot(instance, TasksOn(cluster, id),
                                  AgentConnected(instance, now_millis))
            .facts;
    if (std::all_of(compiled->member_of.begin(), compiled->member_of.end(),
                    [&](const scheduler::Query& q) { return q.Matches(facts); })) {
      out.push_back(id);
    }
  }
  return out;
}

}  // namespace berth::server::api
