// ECS tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks.
//
// Placement runs on a long-lived Placer per cluster, kept in step with the
// records (tasks placed and stopped, running counts, instances' facts, new
// instances; a status change or new resources drop it and the next plan
// rebuilds it), so a RunTask costs what the engine costs, not a snapshot of the
// cluster. RunTask plans under the shared lock and commits under the exclusive
// one (see RunTask); the tasks and the instances they change are committed in
// one batch.
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <limits>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "common/crypto.h"
#include "common/log.h"
#include "model/json_util.h"
#include "planner/planner.h"
#include "planner/task_placement.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"
#include "server/api/task_records.h"

namespace berth::server::api {

using planner::InstanceSnapshot;
using planner::kReservationKey;
using planner::RemainingResources;
using planner::ReservationOf;

namespace json = boost::json;

namespace {

constexpr int64_t kHourMillis = 3600 * 1000;

// What the agent acts on moves a task's version or its desired status.
std::string AgentTaskMark(const TaskRecord& record) {
  return std::to_string(record.version()) + "/" + std::string(record.desired_status());
}

// An instance's pendingTasksCount and runningTasksCount.
void WriteTaskCounts(json::object& instance, int64_t tasks, int64_t running) {
  instance["pendingTasksCount"] = tasks - running;
  instance["runningTasksCount"] = running;
}

}  // namespace

bool EcsApi::HiddenFromTaskView(std::string_view key, bool tags) {
  return key == kReservationKey || key == "berthClientToken" || key == "berthRequest" ||
         key == kPinnedImagesKey || (!tags && key == "tags");
}

json::object EcsApi::TaskView(const json::object& record, bool tags) {
  json::object view;
  view.reserve(record.size());
  for (const auto& member : record) {
    if (!HiddenFromTaskView(member.key(), tags)) view.emplace(member.key(), member.value());
  }
  return view;
}

EcsApi::TaskCounts EcsApi::TaskCountsOf(std::string_view cluster) const {
  auto it = task_counts_.find(cluster);
  return it == task_counts_.end() ? TaskCounts{} : it->second;
}

std::vector<const json::object*> EcsApi::TasksOn(std::string_view cluster,
                                                 std::string_view instance_id) const {
  std::vector<const json::object*> out;
  auto a = instance_tasks_.find(cluster);
  if (a == instance_tasks_.end()) return out;
  auto on = a->second.find(instance_id);
  if (on == a->second.end()) return out;
  out.reserve(on->second.tasks.size());
  for (const auto& [id, held] : on->second.tasks) out.push_back(held.record);
  return out;
}

bool EcsApi::AccountTasks(std::string_view cluster, std::string_view instance_id,
                          const std::vector<std::string>& task_ids) {
  if (instance_id.empty()) return false;  // queued tasks hold nothing
  InstanceTasks& on = instance_tasks_[std::string(cluster)][std::string(instance_id)];
  auto& cluster_tasks = tasks_[std::string(cluster)];
  scheduler::Placer* placer = nullptr;
  if (auto p = placers_.find(cluster); p != placers_.end()) placer = p->second->placer.get();
  const int64_t running_before = on.running_count;
  const int64_t pending_before = static_cast<int64_t>(on.tasks.size()) - running_before;
  bool usage_changed = false;  // a task placed or stopped: what the instance has left moved
  for (const std::string& task_id : task_ids) {
    auto task = cluster_tasks.find(task_id);
    // Every path that removes a record accounts its task first, as stopped.
    if (task == cluster_tasks.end()) continue;
    auto known = on.tasks.find(task_id);
    const TaskRecord record(task->second);
    if (!record.is_stopped()) {
      bool running = record.is_running();
      if (known == on.tasks.end()) {
        scheduler::PlacementRequest request;
        scheduler::TaskPlacement placement;
        ReservationOf(task->second, request, placement);
        on.usage.Add(request, placement);
        usage_changed = true;
        on.neuron_devices_held += static_cast<int64_t>(placement.neuron_device_ids.size());
        on.gpus_held += static_cast<int64_t>(placement.gpu_ids.size());
        on.tasks.emplace(task_id,
                         InstanceTasks::Held{&task->second, running, std::string(record.arn()),
                                             AgentTaskMark(record)});
        EmitTaskEvent(cluster, "TaskPlaced", task->second);
        if (running) EmitTaskEvent(cluster, "TaskRunning", task->second);
        on.running_count += running;
        AccountDeploymentTask(cluster, task_id, task->second, false, running);
      } else {
        if (known->second.running != running) {
          on.running_count += running ? 1 : -1;
          if (running) EmitTaskEvent(cluster, "TaskRunning", task->second);
        }
        AccountDeploymentTask(cluster, task_id, task->second, known->second.running, running);
        known->second.running = running;
        known->second.agent_mark = AgentTaskMark(record);
      }
      continue;
    }
    if (known == on.tasks.end()) continue;  // stopped before, or never placed here
    EmitTaskEvent(cluster, "TaskStopped", task->second);
    AccountDeploymentTask(cluster, task_id, task->second, known->second.running, false);
    if (controller_wake_ && (task->second.contains("berthGang") || !queue_.empty())) {
      controller_wake_();
    }
    scheduler::PlacementRequest request;
    scheduler::TaskPlacement placement;
    ReservationOf(task->second, request, placement);
    on.usage.Remove(request, placement);
    usage_changed = true;
    on.neuron_devices_held -= static_cast<int64_t>(placement.neuron_device_ids.size());
    on.gpus_held -= static_cast<int64_t>(placement.gpu_ids.size());
    on.running_count -= known->second.running;
    on.tasks.erase(known);
    // The one place a stopped task gives its reservation back to the Placer.
    if (placer != nullptr) {
      Status released = placer->Release(request, placement);
      // NotFound: the instance is not ACTIVE, so not in the Placer.
      if (!released.ok() && released.code() != StatusCode::kNotFound) {
        LogError("placer out of step; rebuilding it", {{"error", released.ToString()}});
        InvalidatePlacer(cluster);
        placer = nullptr;
      }
    }
  }
  TaskCounts& counts = task_counts_[std::string(cluster)];
  counts.running += on.running_count - running_before;
  counts.pending += static_cast<int64_t>(on.tasks.size()) - on.running_count - pending_before;
  if (placer != nullptr && on.running_count != running_before) {
    // NotFound: the instance is not ACTIVE.
    (void)placer->SetRunningTasksCount(instance_id, static_cast<int>(on.running_count));
  }
  json::object* instance = FindInstance(cluster, instance_id);
  return instance != nullptr && SetDerivedFields(*instance, on, usage_changed);
}

void EcsApi::EmitTaskEvent(std::string_view cluster, std::string_view kind,
                           const json::object& task) {
  const TaskRecord record(task);
  // The time of the change as the record has it.
  auto seconds = [&](std::string_view field) -> std::optional<int64_t> {
    const json::value* v = task.if_contains(field);
    if (v == nullptr || !v->is_number()) return std::nullopt;
    return static_cast<int64_t>(v->to_number<double>() * 1000.0 + 0.5);
  };
  std::optional<int64_t> at;
  std::string message;
  std::string_view definition = record.task_definition_arn();
  definition = definition.substr(definition.rfind('/') + 1);
  std::string where = record.instance_id().empty() ? "" : " on " + record.instance_id();
  if (kind == "TaskPlaced") {
    at = seconds("createdAt");
    message = "task " + record.id() + " (" + std::string(definition) + ") placed" + where;
  } else if (kind == "TaskRunning") {
    at = seconds("startedAt");
    message = "task " + record.id() + " (" + std::string(definition) + ") is RUNNING" + where;
  } else {
    at = seconds("stoppedAt");
    if (!at) at = seconds("executionStoppedAt");
    message = "task " + record.id() + " (" + std::string(definition) + ") STOPPED" + where;
    if (!record.stop_code().empty()) message += ": " + std::string(record.stop_code());
    if (std::string_view reason = StringOr(task, "stoppedReason", ""); !reason.empty()) {
      message += ": " + std::string(reason);
    }
  }
  if (!at) at = seconds("createdAt");
  std::vector<std::string> resources{std::string(record.arn())};
  if (!record.instance_arn().empty()) resources.emplace_back(record.instance_arn());
  EmitEvent(at.value_or(0), std::string(kind), cluster, std::move(resources), std::move(message));
}

void EcsApi::AccountDeploymentTask(std::string_view cluster, const std::string& task_id,
                                   const json::object& task, bool was_running, bool running) {
  const TaskRecord record(task);
  if (!record.started_by().starts_with(kDeploymentIdPrefix)) return;
  DeploymentTasks& of = deployment_tasks_[std::string(cluster)][std::string(record.started_by())];
  KeepImageDigests(of, task);
  of.running += static_cast<int>(running) - static_cast<int>(was_running);
  of.reached_running += running && !was_running;
  // The counts move by what changed: the task's old facts out, its new in.
  auto count = [&of](const DeploymentTasks::Active& a, int sign) {
    of.stopping += sign * a.stopping;
    of.unhealthy += sign * (!a.stopping && a.unhealthy);
    of.running_healthy += sign * (!a.stopping && a.running && a.healthy);
  };
  auto known = of.active.find(task_id);
  if (known != of.active.end()) count(known->second, -1);
  if (!record.is_stopped()) {
    const std::string_view health = StringOr(task, "healthStatus", "UNKNOWN");
    const DeploymentTasks::Active now{&task, running, record.stop_requested(), health == "HEALTHY",
                                      health == "UNHEALTHY"};
    count(now, 1);
    if (known != of.active.end()) {
      known->second = now;
    } else {
      of.active.emplace(task_id, now);
    }
    return;
  }
  if (known != of.active.end()) of.active.erase(known);
  // What the deployment circuit breaker and the service throttle count: a
  // task that ended by itself (failed to start, an essential container
  // exited) or was stopped for failing its health checks.
  const std::string_view code = record.stop_code();
  const bool failed = code == "TaskFailedToStart" || code == "EssentialContainerExited" ||
                      (code == kServiceSchedulerInitiated &&
                       StringOr(task, "stoppedReason", "") == kHealthStopReason);
  of.failed += failed;
  of.failed_to_start += failed && !record.has_started();
}

void EcsApi::KeepImageDigests(DeploymentTasks& of, const json::object& task) {
  for (const auto& k : TaskRecord(task).containers()) {
    std::string_view digest = StringOr(k.as_object(), "imageDigest", "");
    if (!digest.empty()) of.image_digests.emplace(StringOr(k.as_object(), "name", ""), digest);
  }
}

void EcsApi::WriteDerivedFields(json::object& instance, const InstanceTasks& on) {
  instance["remainingResources"] = RemainingResources(instance, on.usage);
  WriteTaskCounts(instance, static_cast<int64_t>(on.tasks.size()), on.running_count);
}

bool EcsApi::SetDerivedFields(json::object& instance, const InstanceTasks& on, bool usage_changed) {
  MutableInstanceRecord record(instance);
  const std::optional<int64_t> pending = record.pending_tasks_count();
  const std::optional<int64_t> running = record.running_tasks_count();
  bool changed = false;
  // remainingResources is rebuilt (a copy of registeredResources) only when
  // what the tasks hold moved: a task placed or stopped, not one that
  // started RUNNING.
  if (usage_changed || !instance.contains("remainingResources")) {
    json::array remaining = RemainingResources(instance, on.usage);
    json::value& now = instance["remainingResources"];
    changed = !now.is_array() || now.get_array() != remaining;
    now = std::move(remaining);
  }
  WriteTaskCounts(instance, static_cast<int64_t>(on.tasks.size()), on.running_count);
  if (!changed && pending == record.pending_tasks_count() &&
      running == record.running_tasks_count()) {
    return false;
  }
  record.BumpVersion();
  return true;
}

// ---------------------------------------------------------------------------
// The long-lived Placer of each cluster

EcsApi::ClusterPlacer& EcsApi::PlacerOf(std::string_view cluster) {
  auto it = placers_.find(cluster);
  if (it == placers_.end()) {
    it = placers_.emplace(std::string(cluster), std::make_unique<ClusterPlacer>()).first;
  }
  return *it->second;
}

void EcsApi::InvalidatePlacer(std::string_view cluster) {
  auto it = placers_.find(cluster);
  if (it == placers_.end()) return;
  it->second->placer.reset();
  ++it->second->epoch;
}

void EcsApi::InstanceRegistered(std::string_view cluster, std::string_view id, bool re_registration,
                                int64_t now_millis) {
  auto it = placers_.find(cluster);
  if (it == placers_.end() || it->second->placer == nullptr) return;
  const json::object* instance = FindInstance(cluster, id);
  if (re_registration || instance == nullptr ||
      !it->second->placer
           ->AddInstance(InstanceSnapshot(*instance, {}, AgentConnected(*instance, now_millis)))
           .ok()) {
    InvalidatePlacer(cluster);
  }
}

void EcsApi::InstanceFactsChanged(std::string_view cluster, std::string_view id,
                                  int64_t now_millis) {
  auto it = placers_.find(cluster);
  if (it == placers_.end() || it->second->placer == nullptr) return;
  if (!UpdatePlacerFacts(cluster, *it->second, id, now_millis)) InvalidatePlacer(cluster);
}

bool EcsApi::UpdatePlacerFacts(std::string_view cluster, ClusterPlacer& entry, std::string_view id,
                               int64_t now_millis) const {
  const json::object* instance = FindInstance(cluster, id);
  // The Placer holds the ACTIVE instances only.
  if (instance == nullptr || !InstanceRecord(*instance).is_active()) return false;
  const bool connected = AgentConnected(*instance, now_millis);
  // Facts only: what the tasks make of them stays the Placer's.
  if (!entry.placer->UpdateFacts(InstanceSnapshot(*instance, {}, connected).facts).ok()) {
    return false;
  }
  if (InstanceRecord(*instance).has_agent()) {
    entry.agent_connected[std::string(id)] = connected;
    if (connected) {  // it may go silent before any agent looked at so far
      entry.agents_check_at_millis =
          std::min(entry.agents_check_at_millis, agents_.ConnectedAtLeastUntil(id, now_millis));
    }
  }
  ++entry.facts_version;
  return true;
}

scheduler::ClusterSnapshot EcsApi::BuildSnapshot(std::string_view cluster, int64_t now_millis,
                                                 std::map<std::string, bool, std::less<>>* agents,
                                                 const std::vector<std::string>* only) const {
  scheduler::ClusterSnapshot snapshot;
  auto c = instances_.find(cluster);
  if (c == instances_.end()) return snapshot;
  snapshot.instances.reserve(c->second.size());
  for (const auto& [id, instance] : c->second) {
    const InstanceRecord record(instance);
    if (!record.is_active()) continue;
    if (only != nullptr && std::find(only->begin(), only->end(), id) == only->end()) continue;
    bool connected = AgentConnected(instance, now_millis);
    if (agents != nullptr && record.has_agent()) (*agents)[id] = connected;
    snapshot.instances.push_back(InstanceSnapshot(instance, TasksOn(cluster, id), connected));
  }
  return snapshot;
}

void EcsApi::EnsurePlacer(std::string_view cluster, ClusterPlacer& entry,
                          int64_t now_millis) const {
  // agentConnected changes with time (heartbeats), not with a call here.
  // Looking at every joined agent before every plan would cost O(agents) a
  // RunTask; they are looked at when one may have gone silent or come back.
  if (entry.placer != nullptr &&
      (now_millis >= entry.agents_check_at_millis ||
       agents_.reconnections() != entry.agents_reconnections) &&
      !AgentsAsPlaced(cluster, entry, now_millis)) {
    entry.placer.reset();
    ++entry.epoch;
  }
  if (entry.placer == nullptr) {
    entry.agent_connected.clear();
    entry.placer = std::make_unique<scheduler::Placer>(
        BuildSnapshot(cluster, now_millis, &entry.agent_connected));
    (void)AgentsAsPlaced(cluster, entry, now_millis);  // true: just taken
  }
}

bool EcsApi::AgentsAsPlaced(std::string_view cluster, ClusterPlacer& entry,
                            int64_t now_millis) const {
  // Read first: a reconnection while looking is seen at the next plan.
  const uint64_t reconnections = agents_.reconnections();
  int64_t check_at = std::numeric_limits<int64_t>::max();
  for (const auto& [id, connected] : entry.agent_connected) {
    const json::object* instance = FindInstance(cluster, id);
    const bool now = instance != nullptr && AgentConnected(*instance, now_millis);
    if (now != connected && !UpdatePlacerFacts(cluster, entry, id, now_millis)) return false;
    if (now) check_at = std::min(check_at, agents_.ConnectedAtLeastUntil(id, now_millis));
  }
  entry.agents_check_at_millis = check_at;
  entry.agents_reconnections = reconnections;
  return true;
}

Status EcsApi::CheckPlacers(int64_t now_millis) const {
  std::unique_lock lock(mu_);
  for (const auto& [cluster, entry] : placers_) {
    if (entry->placer == nullptr || entry->pending != 0) continue;
    scheduler::ClusterSnapshot want = BuildSnapshot(cluster, now_millis, nullptr);
    const scheduler::ClusterSnapshot& have = entry->placer->snapshot();
    // An init-capture: clang before 16 cannot capture a binding.
    auto fail = [&, &name = cluster](const std::string& what) {
      return Internal("cluster " + name + ": the Placer differs from the records: " + what);
    };
    if (want.instances.size() != have.instances.size()) {
      return fail(std::to_string(have.instances.size()) + " instances, the records have " +
                  std::to_string(want.instances.size()));
    }
    // The records list instances in id order; the Placer, in the order they
    // came (registrations are appended).
    std::map<std::string_view, const scheduler::SnapshotInstance*> placed;
    for (const auto& h : have.instances) placed[h.facts.id] = &h;
    for (const auto& w : want.instances) {
      const std::string& id = w.facts.id;
      auto found = placed.find(id);
      if (found == placed.end()) return fail("instance " + id + " is missing");
      const auto& h = *found->second;
      auto groups = [](std::vector<std::string> g) {
        std::sort(g.begin(), g.end());
        return g;
      };
      bool agent_ok =
          entry->agent_connected.contains(id) || w.facts.agent_connected == h.facts.agent_connected;
      if (h.facts.status != w.facts.status || !agent_ok ||
          h.facts.attributes != w.facts.attributes ||
          h.facts.running_tasks_count != w.facts.running_tasks_count ||
          groups(h.facts.task_groups) != groups(w.facts.task_groups)) {
        return fail(id + ": facts (status, agent, attributes, running count or task groups)");
      }
      const auto& hr = h.resources;
      const auto& wr = w.resources;
      if (hr.cpu_remaining != wr.cpu_remaining ||
          hr.memory_remaining_mib != wr.memory_remaining_mib ||
          hr.cpu_registered != wr.cpu_registered ||
          hr.memory_registered_mib != wr.memory_registered_mib) {
        return fail(id + ": cpu " + std::to_string(hr.cpu_remaining) + " / memory " +
                    std::to_string(hr.memory_remaining_mib) + " remaining, the records say " +
                    std::to_string(wr.cpu_remaining) + " / " +
                    std::to_string(wr.memory_remaining_mib));
      }
      if (hr.ports_used.tcp != wr.ports_used.tcp || hr.ports_used.udp != wr.ports_used.udp ||
          hr.neuron.taken != wr.neuron.taken || hr.gpus.taken != wr.gpus.taken ||
          hr.neuron.count != wr.neuron.count || hr.gpus.ids != wr.gpus.ids ||
          hr.efa.taken != wr.efa.taken || hr.efa.ids != wr.efa.ids) {
        return fail(id + ": ports or devices in use");
      }
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// RunTask, StartTask

Reply EcsApi::RunTask(json::object& in, const CallContext& ctx) {
  // Called without mu_ (see Call): plans optimistically under the shared
  // lock, on the cluster's Placer, which reserves what it places so that
  // concurrent plans never book the same resources; the commit takes the
  // exclusive lock and checks that the cluster's instances did not change
  // meanwhile (the Placer's epoch), else plans again. After a few conflicts,
  // or where the optimistic path cannot go (no Placer yet, a clientToken),
  // plan and commit under the exclusive lock.
  if (StringOr(in, "launchType", "EC2") != "EC2") {
    Fail("InvalidParameterException", "launchType: berth runs tasks on EC2 instances only");
  }
  if (in.contains("capacityProviderStrategy")) {
    Fail("InvalidParameterException", "capacityProviderStrategy is not supported by berth");
  }
  {
    std::shared_lock lock(mu_);
    CheckRunRoles(in);
  }
  if (std::optional<QueueTags> queued = QueueTagsOf(ArrayOr(in, "tags"))) {
    std::unique_lock lock(mu_);
    return RunQueued(in, ctx, *queued);
  }
  constexpr int kOptimisticAttempts = 3;
  for (int attempt = 0; attempt < kOptimisticAttempts; ++attempt) {
    std::optional<PlannedRun> run;
    {
      std::shared_lock lock(mu_);
      run = PlanRun(in, ctx, {}, /*optimistic=*/true);
    }
    if (!run) break;
    std::unique_lock lock(mu_);
    if (std::optional<Reply> reply = CommitRun(*run, /*verify=*/true)) return std::move(*reply);
  }
  std::unique_lock lock(mu_);
  return PlaceAndRecord(in, ctx, {});
}

Reply EcsApi::StartTask(json::object& in, const CallContext& ctx) {
  std::vector<std::string> only;
  const json::array& refs = ArrayOr(in, "containerInstances");
  if (refs.empty() || refs.size() > 10) {
    Fail("InvalidParameterException", "containerInstances must name 1 to 10 instances");
  }
  for (const auto& r : refs) only.push_back(ContainerInstanceId(AsString(r)));
  CheckRunRoles(in);
  // One task per named instance, as ECS starts them.
  in["count"] = static_cast<int64_t>(only.size());
  return PlaceAndRecord(in, ctx, only);
}

Reply EcsApi::PlaceAndRecord(json::object& in, const CallContext& ctx,
                             const std::vector<std::string>& only) {
  std::optional<PlannedRun> run = PlanRun(in, ctx, only, /*optimistic=*/false);
  return std::move(*CommitRun(*run, /*verify=*/false));
}

std::optional<EcsApi::PlannedRun> EcsApi::PlanRun(json::object& in, const CallContext& ctx,
                                                  const std::vector<std::string>& only,
                                                  bool optimistic, const json::object* given_td) {
  PlannedRun run;
  run.cluster = ActiveClusterName(StringOr(in, "cluster", ""));
  const json::object& td_record =
      given_td != nullptr ? *given_td : TaskDefinitionToRun(StringOr(in, "taskDefinition", ""));
  const json::object& td = TaskDefinitionRecord(td_record).definition();
  ValidateTags(ArrayOr(in, "tags"));
  StatusOr<planner::TaskRequest> request = planner::ParseTaskRequest(in, td);
  if (!request.ok()) Fail("InvalidParameterException", request.status().message());
  run.request = std::move(*request);
  run.now_millis = ctx.now_millis;
  if (run.request.gang && only.empty()) {
    // A gang is one record besides its tasks: planned and committed under
    // the exclusive lock, where its name is checked.
    if (optimistic) return std::nullopt;
    CheckNewGang(run, in);
  }

  // Idempotency: the same token with the same request within the hour
  // returns the tasks it started; with another request it is refused. Two
  // calls with one token must not both place, so these take the exclusive
  // path.
  std::string token(StringOr(in, "clientToken", ""));
  if (token.size() > 64) {
    Fail("InvalidParameterException", "clientToken: at most 64 characters");
  }
  std::string request_text;
  if (!token.empty()) {
    if (optimistic) return std::nullopt;
    json::object fingerprint = in;
    fingerprint.erase("clientToken");
    request_text = json::serialize(fingerprint);
    if (std::optional<json::array> same =
            TasksOfClientToken(run.cluster, token, request_text, ctx.now_millis)) {
      run.replay = json::object{{"tasks", std::move(*same)}, {"failures", json::array()}};
      return run;
    }
  }

  // Both branches below plan; a StatusOr may not hold an OK status.
  StatusOr<planner::Plan> plan = Internal("not planned");
  ClusterPlacer* entry = nullptr;
  if (!only.empty()) {
    // StartTask: a Placer over the named instances only; the cluster's
    // long-lived Placer learns the placements when they are committed.
    for (const std::string& id : only) {
      json::object* instance = FindInstance(run.cluster, id);
      if (instance == nullptr || !InstanceRecord(*instance).is_active()) {
        Fail("InvalidParameterException",
             "Container instance " + id + " is not an ACTIVE instance of cluster " + run.cluster);
      }
    }
    scheduler::Placer named(BuildSnapshot(run.cluster, ctx.now_millis, nullptr, &only));
    plan = planner::PlanTasks(named, run.request, random_);
  } else {
    auto p = placers_.find(run.cluster);
    if (p == placers_.end() && optimistic) return std::nullopt;
    entry = p != placers_.end() ? p->second.get() : &PlacerOf(run.cluster);
    std::lock_guard placer_lock(entry->mu);
    EnsurePlacer(run.cluster, *entry, ctx.now_millis);
    plan = planner::PlanTasks(*entry->placer, run.request, entry->random);
    if (plan.ok()) {
      run.epoch = entry->epoch;
      run.facts_version = entry->facts_version;
      run.reserved = true;
      entry->pending += static_cast<int64_t>(plan->tasks.size());
    }
  }
  if (!plan.ok()) Fail("InvalidParameterException", plan.status().message());
  run.plan = std::move(*plan);
  for (const auto& f : run.plan.failures) {
    run.failures.push_back(json::object{{"arn", ""}, {"reason", f.reason}, {"detail", f.detail}});
  }

  try {
    TaskRecordInput records{scope_,       run.cluster,      ClusterArn(run.cluster), td_record,
                            in,           run.request,      ctx.now_millis,          token,
                            request_text, QueuedTaskIds(in)};
    for (size_t rank = 0; rank < run.plan.tasks.size(); ++rank) {
      const planner::PlannedTask& planned = run.plan.tasks[rank];
      const json::object* instance = FindInstance(run.cluster, planned.placement.instance_id);
      auto [id, task] = NewTaskRecord(records, run.plan, rank, *instance);
      KeepQueuedCreatedAt(run.cluster, id, task);
      run.batch.push_back(store::Mutation::Put(TaskKey(run.cluster, id), json::serialize(task)));
      run.views.push_back(TaskView(task, true));
      run.tasks.emplace_back(std::move(id), std::move(task));
    }
  } catch (...) {
    if (entry != nullptr) {
      std::lock_guard placer_lock(entry->mu);
      entry->pending -= static_cast<int64_t>(run.plan.tasks.size());
      if (entry->epoch == run.epoch && entry->placer != nullptr) {
        planner::ReleasePlan(*entry->placer, run.request, run.plan);
      }
    }
    throw;
  }
  return run;
}

void EcsApi::CheckTaskRoles(const json::object& definition, const json::object* overrides) const {
  for (std::string_view field : {"taskRoleArn", "executionRoleArn"}) {
    std::string arn = EffectiveRoleArn(definition, overrides, field);
    if (arn.empty() || (task_roles_ != nullptr && task_roles_->Has(arn))) continue;
    Fail("ClientException",
         "ECS was unable to assume the role '" + arn + "' that was provided for this task (" +
             std::string(field) + "): " +
             (task_roles_ == nullptr || task_roles_->path().empty()
                  ? std::string("this berth server has no roles file (berth server --roles-file)")
                  : "it is not in the server's roles file"));
  }
}

void EcsApi::CheckRunRoles(const json::object& in) const {
  const json::object& td =
      TaskDefinitionRecord(TaskDefinitionToRun(StringOr(in, "taskDefinition", ""))).definition();
  const json::value* overrides = in.if_contains("overrides");
  CheckTaskRoles(td, overrides && overrides->is_object() ? &overrides->as_object() : nullptr);
}

const json::object& EcsApi::TaskDefinitionToRun(std::string_view ref_text) const {
  // The task definition: family (latest ACTIVE), family:revision or ARN.
  TaskDefinitionRef ref = ParseTaskDefinitionRef(ref_text);
  const json::object* found = nullptr;
  if (auto f = task_definitions_.find(ref.family); f != task_definitions_.end()) {
    if (ref.revision) {
      if (auto r = f->second.find(*ref.revision); r != f->second.end()) found = &r->second;
    } else {
      for (auto r = f->second.rbegin(); r != f->second.rend(); ++r) {
        if (TaskDefinitionRecord(r->second).is_active()) {
          found = &r->second;
          break;
        }
      }
    }
  }
  if (found == nullptr) {
    Fail("ClientException", "Unable to find task definition '" + std::string(ref_text) + "'");
  }
  if (!TaskDefinitionRecord(*found).is_active()) {
    Fail("ClientException", "TaskDefinition is inactive: '" + std::string(ref_text) + "'");
  }
  return *found;
}

std::optional<json::array> EcsApi::TasksOfClientToken(std::string_view cluster,
                                                      std::string_view token,
                                                      std::string_view request_text,
                                                      int64_t now_millis) const {
  json::array same;
  bool seen = false;
  if (auto c = tasks_.find(cluster); c != tasks_.end()) {
    for (const auto& [id, record] : c->second) {
      const TaskRecord task(record);
      if (task.client_token() != token) continue;
      // A record without createdAt counts as older than the hour.
      if (now_millis - task.created_at_millis().value_or(0) > kHourMillis) continue;
      if (task.request_text() != request_text) {
        Fail("InvalidParameterException",
             "clientToken " + std::string(token) + " was used with a different request");
      }
      seen = true;
      same.push_back(TaskView(record, true));
    }
  }
  if (!seen) return std::nullopt;
  return same;
}

std::optional<Reply> EcsApi::CommitRun(PlannedRun& run, bool verify) {
  if (run.replay) return Reply{std::move(*run.replay)};
  const int64_t planned = static_cast<int64_t>(run.plan.tasks.size());
  if (run.reserved) {
    ClusterPlacer& entry = *placers_.at(run.cluster);
    entry.pending -= planned;
    if (verify) {
      // The plan holds in the Placer it was made on as long as no instance
      // of the cluster changed since: resources cannot have gone elsewhere,
      // since every plan reserves in the same Placer.
      auto c = clusters_.find(run.cluster);
      bool active = c != clusters_.end() && ClusterRecord(c->second).is_active();
      if (entry.epoch != run.epoch) return std::nullopt;  // that Placer is gone
      if (!active || entry.facts_version != run.facts_version) {
        planner::ReleasePlan(*entry.placer, run.request, run.plan);
        return std::nullopt;
      }
    }
  }
  CountPlacements(run.cluster, run.tasks.size(), run.plan.failures);
  std::map<std::string, std::vector<std::string>> placed;  // instance id -> task ids
  auto& cluster_tasks = tasks_[run.cluster];
  for (size_t i = 0; i < run.tasks.size(); ++i) {
    placed[run.plan.tasks[i].placement.instance_id].push_back(run.tasks[i].first);
    cluster_tasks[run.tasks[i].first] = std::move(run.tasks[i].second);
  }
  if (!run.reserved) {
    // Placed on a snapshot of its own (StartTask): the cluster's Placer
    // takes the same reservations now.
    if (auto p = placers_.find(run.cluster); p != placers_.end() && p->second->placer) {
      for (const auto& task : run.plan.tasks) {
        if (!p->second->placer->Apply(run.request.placement, task.placement).ok()) {
          InvalidatePlacer(run.cluster);
          break;
        }
      }
    }
  }
  store::Batch batch = std::move(run.batch);
  if (run.request.gang && !run.tasks.empty() && !run.gang_request.empty()) {
    RecordGangAttempt(run, batch);
  }
  for (const auto& [instance_id, ids] : placed) AccountTasks(run.cluster, instance_id, ids);
  uint64_t seq = batch.empty() ? 0 : Commit(std::move(batch));
  for (const auto& [instance_id, ids] : placed) agents_.Bump(instance_id);
  return Reply{json::object{{"tasks", std::move(run.views)}, {"failures", std::move(run.failures)}},
               seq};
}

Reply EcsApi::StopTask(json::object& in, const CallContext& ctx) {
  std::string cluster_name = ActiveClusterName(StringOr(in, "cluster", ""));
  std::string_view ref = StringOr(in, "task", "");
  std::string id = TaskIdOf(ref);
  auto c = tasks_.find(cluster_name);
  if (c == tasks_.end() || !c->second.contains(id)) {
    Fail("InvalidParameterException", "The referenced task was not found: " + std::string(ref));
  }
  json::object& task = c->second.at(id);
  if (TaskRecord(task).stop_requested()) return {json::object{{"task", TaskView(task, true)}}};
  std::string reason(StringOr(in, "reason", "Task stopped by user"));
  const bool queued = TaskRecord(task).last_status() == kProvisioning;
  store::Batch batch;
  RequestTaskStop(cluster_name, task, kUserInitiated, reason,
                  static_cast<double>(ctx.now_millis) / 1000.0, batch);
  uint64_t seq = Commit(std::move(batch));
  if (queued) DequeueTask(cluster_name, id, ctx.now_millis);
  agents_.Bump(TaskRecord(task).instance_id());
  return {json::object{{"task", TaskView(task, true)}}, seq};
}

void EcsApi::RequestTaskStop(std::string_view cluster, json::object& task,
                             std::string_view stop_code, std::string_view reason, double now,
                             store::Batch& batch) {
  MutableTaskRecord record(task);
  // A task not asked to stop yet has no stoppingAt: RequestStop sets it.
  record.RequestStop(reason, now);
  record.SetStopCode(stop_code);
  record.BumpVersion();
  std::string instance_id = record.instance_id();
  const json::object* instance = FindInstance(cluster, instance_id);
  // With a node agent the task stops when the agent reports it stopped (it
  // sees desiredStatus STOPPED in its next poll and stops the containers).
  // Without one (an instance modelled through the API, or deregistered)
  // nothing would ever report: the task stops here and frees what it holds.
  bool agent_stops =
      instance != nullptr && InstanceRecord(*instance).served_by_agent() && !record.is_stopped();
  if (!agent_stops) record.StopNow(now);
  std::string id = record.id();
  if (agent_stops) {  // else TaskStopped follows at once
    EmitEvent(
        static_cast<int64_t>(now * 1000.0 + 0.5), "TaskStopRequested", cluster,
        {std::string(record.arn())},
        "task " + id + " asked to stop: " + std::string(stop_code) + ": " + std::string(reason));
  }
  batch.push_back(store::Mutation::Put(TaskKey(cluster, id), json::serialize(task)));
  AccountTasks(cluster, instance_id, {id});
}

Reply EcsApi::DescribeTasks(json::object& in, const CallContext&) {
  std::string cluster_name = ActiveClusterName(StringOr(in, "cluster", ""));
  const json::array& refs = ArrayOr(in, "tasks");
  if (refs.empty() || refs.size() > 100) {
    Fail("InvalidParameterException", "tasks must name 1 to 100 tasks");
  }
  bool tags = ListContains(in, "include", "TAGS");
  json::array found, failures;
  auto c = tasks_.find(cluster_name);
  for (const auto& r : refs) {
    std::string_view ref = AsString(r);
    std::string id = TaskIdOf(ref);
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
  std::string cluster_name = ActiveClusterName(StringOr(in, "cluster", ""));
  std::string_view desired = StringOr(in, "desiredStatus", "RUNNING");
  if (desired != kRunning && desired != kStopped && desired != kPending) {
    Fail("InvalidParameterException", "desiredStatus must be RUNNING, PENDING or STOPPED");
  }
  std::string instance_arn;
  if (auto ref = OptString(in, "containerInstance")) {
    json::object* instance = FindInstance(cluster_name, *ref);
    if (instance == nullptr) {
      Fail("InvalidParameterException", "Container instance " + std::string(*ref) +
                                            " is not registered in cluster " + cluster_name);
    }
    instance_arn = std::string(InstanceRecord(*instance).arn());
  }
  auto family = OptString(in, "family");
  auto started_by = OptString(in, "startedBy");
  const json::object* service = nullptr;
  if (auto name = OptString(in, "serviceName")) {
    service = FindService(cluster_name, *name);
    if (service == nullptr) Fail("ServiceNotFoundException", "Service not found.");
  }
  Pager pager(page_tokens_, in, 100);
  if (auto c = tasks_.find(cluster_name); c != tasks_.end()) {
    for (auto it = c->second.upper_bound(pager.after()); it != c->second.end(); ++it) {
      const TaskRecord task(it->second);
      if (desired == kPending ? task.last_status() != kPending : task.desired_status() != desired) {
        continue;
      }
      if (!instance_arn.empty() && task.instance_arn() != instance_arn) continue;
      if (family) {
        std::string_view td = task.task_definition_arn();
        std::string_view name = td.substr(td.rfind('/') + 1);
        if (name.substr(0, name.rfind(':')) != *family) continue;
      }
      if (started_by && task.started_by() != *started_by) continue;
      if (service != nullptr && !ServiceRecord(*service).owns_task(
                                    StringOr(it->second, "group", ""), task.started_by())) {
        continue;
      }
      if (!pager.Add(it->first, json::string(task.arn()))) break;
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
      const TaskRecord task(it->second);
      std::optional<int64_t> stopped_at = task.stopped_at_millis();
      if (task.is_stopped() && stopped_at && now_millis - *stopped_at > kHourMillis) {
        batch.push_back(store::Mutation::Delete(TaskKey(cluster, it->first)));
        std::string instance_id = task.instance_id();
        AccountTasks(cluster, instance_id, {it->first});  // before its record goes
        touched.insert(std::move(instance_id));
        it = tasks.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (!batch.empty()) Commit(std::move(batch));
  for (const std::string& instance_id : touched) agents_.Bump(instance_id);
  CleanUpServices(now_millis);
  CleanUpGangs(now_millis);
}

}  // namespace berth::server::api
