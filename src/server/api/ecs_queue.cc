// Queueing instead of refusing: a RunTask (a gang or plain tasks) tagged
// berth:queue = NAME that does not fit now is accepted, its tasks recorded
// PROVISIONING on no instance, and placed as soon as it fits. Entries go in
// one order per cluster: berth:priority (higher first), then arrival (first
// in, first out). The head goes first and nothing behind it jumps ahead
// (no backfill), so a big gang is never starved by small requests; an entry
// is placed whole or not at all, so a queued gang reserves nothing until all
// of it fits. Entries are durable (ecs/queue/CLUSTER/SEQ).
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <mutex>
#include <shared_mutex>

#include "model/json_util.h"
#include "planner/planner.h"
#include "planner/task_placement.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"
#include "server/api/task_records.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kQueueTag = "berth:queue";
constexpr std::string_view kPriorityTag = "berth:priority";
constexpr int64_t kMaxPriority = 1000;
// The request member that carries a queued entry's task ids into PlanRun
// (the model refuses it from clients, so only the queue sets it).
constexpr std::string_view kTaskIdsKey = "berthTaskIds";

// The gang a queued request is of; "" for plain tasks.
std::string GangOf(const json::object& request) {
  return planner::TagValue(ArrayOr(request, "tags"), planner::kGangTag).value_or("");
}

}  // namespace

std::optional<EcsApi::QueueTags> EcsApi::QueueTagsOf(const json::array& tags) {
  std::optional<std::string> queue = planner::TagValue(tags, kQueueTag);
  if (!queue) {
    if (planner::TagValue(tags, kPriorityTag)) {
      Fail("InvalidParameterException",
           std::string(kPriorityTag) + " orders queued requests: give berth:queue too");
    }
    return std::nullopt;
  }
  QueueTags out;
  out.queue = std::move(*queue);
  if (!IsValidName(out.queue)) {
    Fail("InvalidParameterException", std::string(kQueueTag) +
                                          ": a queue name is 1-255 letters, numbers, hyphens "
                                          "and underscores, got '" +
                                          out.queue + "'");
  }
  out.priority = WholeNumberTag(tags, kPriorityTag, -kMaxPriority, kMaxPriority).value_or(0);
  return out;
}

std::vector<std::string> EcsApi::QueuedTaskIds(const json::object& in) {
  std::vector<std::string> ids;
  for (const auto& id : ArrayOr(in, kTaskIdsKey)) ids.emplace_back(AsString(id));
  return ids;
}

void EcsApi::KeepQueuedCreatedAt(std::string_view cluster, const std::string& id,
                                 json::object& task) const {
  auto c = tasks_.find(cluster);
  if (c == tasks_.end()) return;
  auto queued = c->second.find(id);
  if (queued == c->second.end()) return;
  if (auto* created = queued->second.if_contains("createdAt")) task["createdAt"] = *created;
}

std::string EcsApi::QueueKey(std::string_view cluster, int64_t seq) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020lld", static_cast<long long>(seq));
  return "ecs/queue/" + std::string(cluster) + "/" + digits;
}

void EcsApi::DropRun(PlannedRun& run) {
  if (!run.reserved) return;
  ClusterPlacer& entry = *placers_.at(run.cluster);
  entry.pending -= static_cast<int64_t>(run.plan.tasks.size());
  if (entry.epoch == run.epoch && entry.placer != nullptr) {
    planner::ReleasePlan(*entry.placer, run.request, run.plan);
  }
  run.reserved = false;
}

Reply EcsApi::RunQueued(json::object& in, const CallContext& ctx, const QueueTags& tags) {
  const std::string cluster = ActiveClusterName(StringOr(in, "cluster", ""));
  // Nothing jumps the line: with an entry of this priority or higher
  // waiting, the request waits behind it.
  bool behind = false;
  if (auto q = queue_.find(cluster); q != queue_.end()) {
    behind = !q->second.empty() && -q->second.begin()->first.first >= tags.priority;
  }
  if (!behind) {
    std::optional<PlannedRun> run = PlanRun(in, ctx, {}, /*optimistic=*/false);
    if (run->replay || run->plan.failures.empty()) return std::move(*CommitRun(*run, false));
    DropRun(*run);
  }
  const json::object& td_record = TaskDefinitionToRun(StringOr(in, "taskDefinition", ""));
  const json::object& td = TaskDefinitionRecord(td_record).definition();
  StatusOr<planner::TaskRequest> request = planner::ParseTaskRequest(in, td);
  if (!request.ok()) Fail("InvalidParameterException", request.status().message());
  PlannedRun stub;
  stub.cluster = cluster;
  stub.request = std::move(*request);
  stub.now_millis = ctx.now_millis;
  if (stub.request.gang) CheckNewGang(stub, in);
  CheckEverFits(cluster, stub.request, ctx.now_millis);

  // The tasks, PROVISIONING on no instance, and the entry.
  const int64_t seq = ++queue_seq_;
  json::object entry{{"queue", tags.queue},
                     {"priority", tags.priority},
                     {"seq", seq},
                     {"enqueuedAt", static_cast<double>(ctx.now_millis) / 1000.0}};
  json::object stored_request = in;
  stored_request.erase("clientToken");
  TaskRecordInput records{
      scope_, cluster, ClusterArn(cluster), td_record, in, stub.request, ctx.now_millis, "",
      "",     {}};
  store::Batch batch;
  json::array ids, views;
  auto& cluster_tasks = tasks_[cluster];
  for (int rank = 0; rank < stub.request.count; ++rank) {
    auto [id, task] = NewQueuedTaskRecord(records, rank);
    batch.push_back(store::Mutation::Put(TaskKey(cluster, id), json::serialize(task)));
    views.push_back(TaskView(task, true));
    ids.push_back(json::string(id));
    cluster_tasks[id] = std::move(task);
  }
  entry["taskIds"] = std::move(ids);
  entry["request"] = std::move(stored_request);
  if (stub.request.gang) {
    json::object& gang = gangs_[cluster][*stub.request.gang];
    gang = json::object{{"gangName", *stub.request.gang},
                        {"clusterArn", ClusterArn(cluster)},
                        {"size", static_cast<int64_t>(stub.request.count)},
                        {"maxRestarts", stub.gang_max_restarts},
                        {"status", kGangQueued},
                        {"attempt", 0},
                        {"createdAt", static_cast<double>(ctx.now_millis) / 1000.0},
                        {"updatedAt", static_cast<double>(ctx.now_millis) / 1000.0},
                        {"attempts", json::array()},
                        {"berthRequest", stub.gang_request}};
    batch.push_back(
        store::Mutation::Put(GangKey(cluster, *stub.request.gang), json::serialize(gang)));
  }
  batch.push_back(store::Mutation::Put(QueueKey(cluster, seq), json::serialize(entry)));
  queue_[cluster].emplace(std::make_pair(-tags.priority, seq), std::move(entry));
  uint64_t commit = Commit(std::move(batch));
  return {json::object{{"tasks", std::move(views)}, {"failures", json::array()}}, commit};
}

void EcsApi::CheckEverFits(std::string_view cluster, const planner::TaskRequest& request,
                           int64_t now_millis) const {
  // The cluster as if it ran nothing, every agent connected.
  scheduler::ClusterSnapshot empty;
  if (auto c = instances_.find(cluster); c != instances_.end()) {
    for (const auto& [id, instance] : c->second) {
      if (InstanceRecord(instance).is_active()) {
        empty.instances.push_back(planner::InstanceSnapshot(instance, {}, true));
      }
    }
  }
  (void)now_millis;
  scheduler::Placer placer(std::move(empty));
  std::mt19937_64 random(0);
  StatusOr<planner::Plan> plan = planner::PlanTasks(placer, request, random);
  if (!plan.ok()) Fail("InvalidParameterException", plan.status().message());
  if (plan->failures.empty()) return;
  const auto& f = plan->failures.front();
  Fail("InvalidParameterException", "berth:queue: this request could never be placed in cluster " +
                                        std::string(cluster) +
                                        ", even with nothing else running: " + f.reason +
                                        (f.detail.empty() ? "" : " (" + f.detail + ")"));
}

void EcsApi::ReconcileQueue(int64_t now_millis) {
  {
    std::shared_lock lock(mu_);
    bool any = false;
    for (const auto& [cluster, entries] : queue_) any |= !entries.empty();
    if (!any) return;
  }
  std::unique_lock lock(mu_);
  for (auto& [cluster, entries] : queue_) {
    while (!entries.empty()) {
      auto head = entries.begin();
      json::object in = head->second.at("request").as_object();
      in[kTaskIdsKey] = head->second.at("taskIds");
      std::string gone;
      try {
        std::optional<PlannedRun> run = PlanRun(in, CallContext{"", now_millis}, {}, false);
        if (!run->plan.failures.empty()) {
          DropRun(*run);
          break;  // the head waits, and everything behind it
        }
        CommitRun(*run, /*verify=*/false);
      } catch (const ApiException& e) {
        gone = e.error().message;  // the cluster or definition changed: it never will
      }
      if (!gone.empty()) {
        StopQueuedTasks(cluster, head->second, "berth:queue: could not be placed: " + gone,
                        now_millis);
      }
      Commit({store::Mutation::Delete(QueueKey(cluster, OptInt(head->second, "seq").value_or(0)))});
      entries.erase(head);
    }
  }
}

void EcsApi::StopQueuedTasks(std::string_view cluster, const json::object& entry,
                             std::string_view reason, int64_t now_millis) {
  store::Batch batch;
  auto& cluster_tasks = tasks_[std::string(cluster)];
  for (const auto& id : ArrayOr(entry, "taskIds")) {
    auto task = cluster_tasks.find(AsString(id));
    if (task == cluster_tasks.end() || TaskRecord(task->second).stop_requested()) continue;
    RequestTaskStop(cluster, task->second, kUserInitiated, reason,
                    static_cast<double>(now_millis) / 1000.0, batch);
  }
  const json::object* request = model::ObjectAt(entry, "request");
  if (const std::string gang = request != nullptr ? GangOf(*request) : ""; !gang.empty()) {
    auto g = gangs_.find(cluster);
    if (g != gangs_.end() && g->second.contains(gang)) {
      json::object& record = g->second.find(gang)->second;
      if (StringOr(record, "status", "") == kGangQueued) {
        record["status"] = "STOPPED";
        record["reason"] = std::string(reason);
        record["updatedAt"] = static_cast<double>(now_millis) / 1000.0;
        batch.push_back(store::Mutation::Put(GangKey(cluster, gang), json::serialize(record)));
      }
    }
  }
  if (!batch.empty()) Commit(std::move(batch));
}

void EcsApi::DequeueTask(std::string_view cluster, std::string_view task_id, int64_t now_millis) {
  auto q = queue_.find(cluster);
  if (q == queue_.end()) return;
  for (auto it = q->second.begin(); it != q->second.end(); ++it) {
    json::object& entry = it->second;
    json::array& ids = entry["taskIds"].as_array();
    auto found = std::find_if(ids.begin(), ids.end(),
                              [&](const json::value& id) { return AsString(id) == task_id; });
    if (found == ids.end()) continue;
    const std::string key = QueueKey(cluster, OptInt(entry, "seq").value_or(0));
    const json::object& request = entry.at("request").as_object();
    if (!GangOf(request).empty()) {
      // A gang runs whole or not at all: its other ranks leave with it.
      StopQueuedTasks(cluster, entry,
                      "berth:queue: rank " + std::to_string(found - ids.begin()) +
                          " of its gang was stopped while queued",
                      now_millis);
      ids.clear();
    } else {
      ids.erase(found);
    }
    if (ids.empty()) {
      Commit({store::Mutation::Delete(key)});
      q->second.erase(it);
    } else {
      Commit({store::Mutation::Put(key, json::serialize(entry))});
    }
    return;
  }
}

std::optional<json::object> EcsApi::QueuePlaceOf(std::string_view cluster,
                                                 std::string_view gang) const {
  auto q = queue_.find(cluster);
  if (q == queue_.end()) return std::nullopt;
  int64_t position = 0;
  for (const auto& [key, entry] : q->second) {
    ++position;
    const json::object& request = entry.at("request").as_object();
    if (GangOf(request) != gang) continue;
    return json::object{{"queue", entry.at("queue")},
                        {"priority", entry.at("priority")},
                        {"position", position},
                        {"enqueuedAt", entry.at("enqueuedAt")}};
  }
  return std::nullopt;
}

}  // namespace berth::server::api
