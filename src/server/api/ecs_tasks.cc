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
#include <type_traits>

#include "common/crypto.h"
#include "common/log.h"
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
  InstanceTasks& on = instance_tasks_[std::string(cluster)][std::string(instance_id)];
  auto& cluster_tasks = tasks_[std::string(cluster)];
  scheduler::Placer* placer = nullptr;
  if (auto p = placers_.find(cluster); p != placers_.end()) placer = p->second->placer.get();
  const int64_t running_before = on.running_count;
  const int64_t pending_before = static_cast<int64_t>(on.tasks.size()) - running_before;
  for (const std::string& task_id : task_ids) {
    auto task = cluster_tasks.find(task_id);
    // Every path that removes a record accounts its task first, as stopped.
    if (task == cluster_tasks.end()) continue;
    auto known = on.tasks.find(task_id);
    if (!IsStopped(task->second)) {
      bool running = AsString(task->second.at("lastStatus")) == "RUNNING";
      if (known == on.tasks.end()) {
        scheduler::PlacementRequest request;
        scheduler::TaskPlacement placement;
        ReservationOf(task->second, request, placement);
        on.usage.Add(request, placement);
        on.tasks.emplace(task_id, InstanceTasks::Held{&task->second, running});
        on.running_count += running;
      } else if (known->second.running != running) {
        on.running_count += running ? 1 : -1;
        known->second.running = running;
      }
      continue;
    }
    if (known == on.tasks.end()) continue;  // stopped before, or never placed here
    scheduler::PlacementRequest request;
    scheduler::TaskPlacement placement;
    ReservationOf(task->second, request, placement);
    on.usage.Remove(request, placement);
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
  return instance != nullptr && SetDerivedFields(*instance, on);
}

void EcsApi::WriteDerivedFields(json::object& instance, const InstanceTasks& on) {
  instance["remainingResources"] = RemainingResources(instance, on.usage);
  instance["pendingTasksCount"] = static_cast<int64_t>(on.tasks.size()) - on.running_count;
  instance["runningTasksCount"] = on.running_count;
}

bool EcsApi::SetDerivedFields(json::object& instance, const InstanceTasks& on) {
  const json::value remaining = instance["remainingResources"];
  const std::optional<int64_t> pending = OptInt(instance, "pendingTasksCount");
  const std::optional<int64_t> running = OptInt(instance, "runningTasksCount");
  WriteDerivedFields(instance, on);
  if (remaining == instance.at("remainingResources") &&
      pending == OptInt(instance, "pendingTasksCount") &&
      running == OptInt(instance, "runningTasksCount")) {
    return false;
  }
  instance["version"] = OptInt(instance, "version").value_or(0) + 1;
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
  if (instance == nullptr || AsString(instance->at("status")) != "ACTIVE") return false;
  const bool connected = AgentConnected(*instance, now_millis);
  // Facts only: what the tasks make of them stays the Placer's.
  if (!entry.placer->UpdateFacts(InstanceSnapshot(*instance, {}, connected).facts).ok()) {
    return false;
  }
  if (HasAgent(*instance)) {
    entry.agent_connected[std::string(id)] = connected;
    if (connected) {  // it may go silent before any agent looked at so far
      entry.agents_check_at_millis =
          std::min(entry.agents_check_at_millis, agents_.ConnectedAtLeastUntil(id, now_millis));
    }
  }
  ++entry.facts_version;
  return true;
}

scheduler::ClusterSnapshot EcsApi::BuildSnapshot(
    std::string_view cluster, int64_t now_millis,
    std::map<std::string, bool, std::less<>>* agents) const {
  scheduler::ClusterSnapshot snapshot;
  auto c = instances_.find(cluster);
  if (c == instances_.end()) return snapshot;
  snapshot.instances.reserve(c->second.size());
  for (const auto& [id, instance] : c->second) {
    if (AsString(instance.at("status")) != "ACTIVE") continue;
    bool connected = AgentConnected(instance, now_millis);
    if (agents != nullptr && HasAgent(instance)) (*agents)[id] = connected;
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
    auto fail = [&](const std::string& what) {
      return Internal("cluster " + cluster + ": the Placer differs from the records: " + what);
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
          hr.neuron.count != wr.neuron.count || hr.gpus.ids != wr.gpus.ids) {
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
                                                  bool optimistic) {
  const json::object& cluster = ActiveCluster(StringOr(in, "cluster", ""));
  std::string cluster_name(AsString(cluster.at("clusterName")));
  std::string cluster_arn = ClusterArn(cluster_name);

  // The task definition: family (latest ACTIVE), family:revision or ARN.
  TaskDefinitionRef ref = ParseTaskDefinitionRef(StringOr(in, "taskDefinition", ""));
  const json::object* td = nullptr;
  const json::object* td_record = nullptr;
  if (auto f = task_definitions_.find(ref.family); f != task_definitions_.end()) {
    if (ref.revision) {
      if (auto r = f->second.find(*ref.revision); r != f->second.end()) {
        td = &r->second.at("taskDefinition").as_object();
        td_record = &r->second;
      }
    } else {
      for (auto r = f->second.rbegin(); r != f->second.rend(); ++r) {
        const json::object& candidate = r->second.at("taskDefinition").as_object();
        if (AsString(candidate.at("status")) == "ACTIVE") {
          td = &candidate;
          td_record = &r->second;
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

  PlannedRun run;
  run.cluster = cluster_name;
  scheduler::PlacementRequest& request = run.request;
  request = BuildPlacementRequest(*td, ov);
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
    if (seen) {
      run.replay = json::object{{"tasks", std::move(same)}, {"failures", json::array()}};
      return run;
    }
  }

  std::vector<scheduler::TaskPlacement>& placements = run.placements;
  std::string gang_attribute_value;
  std::optional<std::string> same;
  if (gang) {
    same = TagValue(tags, kGangSameAttributeTag);
    if (same && same->empty()) same.reset();
  }
  // The outcome of PlaceTasks / PlaceGang, by whichever engine.
  auto take = [&](auto&& result) {
    if (!result.ok()) Fail("InvalidParameterException", result.status().message());
    if constexpr (std::is_same_v<std::decay_t<decltype(*result)>, scheduler::GangPlacement>) {
      if (result->failure) {
        for (int64_t i = 0; i < count; ++i) {
          run.failures.push_back(
              json::object{{"arn", ""},
                           {"reason", result->failure->reason},
                           {"detail", "gang " + *gang + ": " + result->failure->detail}});
        }
      } else {
        placements = std::move(result->ranks);
        gang_attribute_value = result->attribute_value;
      }
    } else {
      placements = std::move(result->placements);
      for (const auto& f : result->failures) {
        run.failures.push_back(
            json::object{{"arn", ""}, {"reason", f.reason}, {"detail", f.detail}});
      }
    }
  };
  ClusterPlacer* entry = nullptr;
  if (!only.empty()) {
    // StartTask: a snapshot of the named instances only; the long-lived
    // Placer learns the placements when they are committed.
    scheduler::ClusterSnapshot snapshot;
    if (auto c = instances_.find(cluster_name); c != instances_.end()) {
      for (const auto& [id, instance] : c->second) {
        if (AsString(instance.at("status")) != "ACTIVE") continue;
        if (std::find(only.begin(), only.end(), id) == only.end()) continue;
        snapshot.instances.push_back(InstanceSnapshot(instance, TasksOn(cluster_name, id),
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
    if (gang) {
      take(scheduler::PlaceGang(snapshot, request, static_cast<int>(count), same, random_));
    } else {
      take(scheduler::PlaceTasks(snapshot, request, static_cast<int>(count), random_));
    }
  } else {
    auto p = placers_.find(cluster_name);
    if (p == placers_.end() && optimistic) return std::nullopt;
    entry = p != placers_.end() ? p->second.get() : &PlacerOf(cluster_name);
    std::lock_guard placer_lock(entry->mu);
    EnsurePlacer(cluster_name, *entry, ctx.now_millis);
    if (gang) {
      take(entry->placer->PlaceGang(request, static_cast<int>(count), same, entry->random));
    } else {
      take(entry->placer->PlaceTasks(request, static_cast<int>(count), entry->random));
    }
    run.epoch = entry->epoch;
    run.facts_version = entry->facts_version;
    run.reserved = true;
    entry->pending += static_cast<int64_t>(placements.size());
  }

  try {
    // Record the placed tasks.
    bool propagate = StringOr(in, "propagateTags", "NONE") == "TASK_DEFINITION";
    json::array td_tags;
    if (propagate) td_tags = ArrayOr(*td_record, "tags");
    double now = static_cast<double>(ctx.now_millis) / 1000.0;
    for (size_t rank = 0; rank < placements.size(); ++rank) {
      const scheduler::TaskPlacement& placement = placements[rank];
      std::string id = NewTimeOrderedId(ctx.now_millis);
      std::string task_arn = MakeArn(scope_, "ecs", "task/" + cluster_name + "/" + id);
      json::object* instance = FindInstance(cluster_name, placement.instance_id);
      json::array task_tags = td_tags;
      MergeTags(task_tags, tags);
      if (gang) {
        MergeTags(task_tags, json::array{json::object{{"key", kGangRankTag},
                                                      {"value", std::to_string(rank)}}});
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
        const json::array& reqs = ResourceRequirementsOf(def, FindOverride(ov, name));
        std::vector<int> neuron, gpus;
        if (auto* lp = def.if_contains("linuxParameters"); lp != nullptr && lp->is_object()) {
          for (const auto& d : ArrayOr(lp->as_object(), "devices")) {
            if (auto n = NeuronIndex(StringOr(d.as_object(), "hostPath", ""))) neuron.push_back(*n);
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
      run.batch.push_back(store::Mutation::Put(TaskKey(cluster_name, id), json::serialize(task)));
      run.views.push_back(TaskView(task, true));
      run.tasks.emplace_back(std::move(id), std::move(task));
    }
  } catch (...) {
    if (entry != nullptr) {
      std::lock_guard placer_lock(entry->mu);
      entry->pending -= static_cast<int64_t>(placements.size());
      if (entry->epoch == run.epoch && entry->placer != nullptr) {
        for (const auto& placement : placements) (void)entry->placer->Release(request, placement);
      }
    }
    throw;
  }
  return run;
}

std::optional<Reply> EcsApi::CommitRun(PlannedRun& run, bool verify) {
  if (run.replay) return Reply{std::move(*run.replay)};
  const int64_t planned = static_cast<int64_t>(run.placements.size());
  if (run.reserved) {
    ClusterPlacer& entry = *placers_.at(run.cluster);
    entry.pending -= planned;
    if (verify) {
      // The plan holds in the Placer it was made on as long as no instance
      // of the cluster changed since: resources cannot have gone elsewhere,
      // since every plan reserves in the same Placer.
      auto c = clusters_.find(run.cluster);
      bool active = c != clusters_.end() && AsString(c->second.at("status")) == "ACTIVE";
      if (entry.epoch != run.epoch) return std::nullopt;  // that Placer is gone
      if (!active || entry.facts_version != run.facts_version) {
        for (const auto& placement : run.placements) {
          (void)entry.placer->Release(run.request, placement);
        }
        return std::nullopt;
      }
    }
  }
  std::map<std::string, std::vector<std::string>> placed;  // instance id -> task ids
  auto& cluster_tasks = tasks_[run.cluster];
  for (size_t i = 0; i < run.tasks.size(); ++i) {
    placed[run.placements[i].instance_id].push_back(run.tasks[i].first);
    cluster_tasks[run.tasks[i].first] = std::move(run.tasks[i].second);
  }
  if (!run.reserved) {
    // Placed on a snapshot of its own (StartTask): the cluster's Placer
    // takes the same reservations now.
    if (auto p = placers_.find(run.cluster); p != placers_.end() && p->second->placer) {
      for (const auto& placement : run.placements) {
        if (!p->second->placer->Apply(run.request, placement).ok()) {
          InvalidatePlacer(run.cluster);
          break;
        }
      }
    }
  }
  store::Batch batch = std::move(run.batch);
  for (const auto& [instance_id, ids] : placed) AccountTasks(run.cluster, instance_id, ids);
  uint64_t seq = batch.empty() ? 0 : Commit(std::move(batch));
  for (const auto& [instance_id, ids] : placed) agents_.Bump(instance_id);
  return Reply{json::object{{"tasks", std::move(run.views)}, {"failures", std::move(run.failures)}},
               seq};
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
  AccountTasks(cluster_name, instance_id, {id});
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
        std::string instance_id = ContainerInstanceId(StringOr(task, "containerInstanceArn", ""));
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
}

}  // namespace berth::server::api
