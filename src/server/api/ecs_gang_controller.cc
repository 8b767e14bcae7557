// Gangs: the ranks of one multi-node job, placed all or none by RunTask
// (tag berth:gang), recorded as one gang (ecs/gangs/CLUSTER/NAME) with its
// attempts, and run by a controller pass (ReconcileGangs, with the clock
// passed in): DecideGang (pure, gang_rules.h) says when the ranks of an
// attempt are stopped together, when the gang succeeded or failed, and
// when a failed attempt is placed again (berth:gang-max-restarts).
#include <boost/json/serialize.hpp>
#include <mutex>
#include <shared_mutex>

#include "common/log.h"
#include "model/json_util.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"
#include "server/api/gang_rules.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

// The request member that carries the attempt of a restart into PlanRun (the
// model refuses it from clients, so only the controller sets it).
constexpr std::string_view kAttemptKey = "berthGangAttempt";
constexpr std::string_view kMaxRestartsTag = "berth:gang-max-restarts";
constexpr int64_t kMaxRestartsLimit = 1000;
// When a RESTARTING gang places its next attempt (epoch milliseconds).
constexpr std::string_view kRestartAtKey = "berthRestartAt";

double Seconds(int64_t millis) { return static_cast<double>(millis) / 1000.0; }

bool IsLive(std::string_view status) { return status == kGangRunning || status == kGangRestarting; }

// A name is taken while its gang is queued or live.
bool HoldsName(std::string_view status) { return status == kGangQueued || IsLive(status); }

// berth:gang-max-restarts: a whole number 0..1000; 0 when absent.
int64_t MaxRestartsOf(const json::array& tags) {
  return WholeNumberTag(tags, kMaxRestartsTag, 0, kMaxRestartsLimit).value_or(0);
}

}  // namespace

std::string EcsApi::GangKey(std::string_view cluster, std::string_view name) {
  return "ecs/gangs/" + std::string(cluster) + "/" + std::string(name);
}

void EcsApi::CheckNewGang(PlannedRun& run, const json::object& in) {
  const std::string& name = *run.request.gang;
  run.request.gang_attempt = static_cast<int>(OptInt(in, kAttemptKey).value_or(0));
  run.gang_max_restarts = MaxRestartsOf(ArrayOr(in, "tags"));
  // A restart, or a queued gang being placed, is the gang of that name.
  const bool same_gang = run.request.gang_attempt > 0 || !QueuedTaskIds(in).empty();
  if (!same_gang) {
    auto c = gangs_.find(run.cluster);
    if (c != gangs_.end()) {
      auto g = c->second.find(name);
      if (g != c->second.end() && HoldsName(StringOr(g->second, "status", ""))) {
        Fail("InvalidParameterException", "berth:gang " + name + ": a gang of that name is " +
                                              std::string(StringOr(g->second, "status", "")) +
                                              " in cluster " + run.cluster +
                                              " (stop its tasks or choose another name)");
      }
    }
  }
  run.gang_request = in;
  run.gang_request.erase("clientToken");
  run.gang_request.erase(kAttemptKey);
  run.gang_request.erase("berthTaskIds");
}

void EcsApi::RecordGangAttempt(const PlannedRun& run, store::Batch& batch) {
  CountGangAttempt(run.cluster);
  const std::string& name = *run.request.gang;
  json::array arns;
  for (const auto& [id, record] : run.tasks) {
    arns.push_back(json::string(TaskRecord(tasks_.at(run.cluster).at(id)).arn()));
  }
  const double now = Seconds(run.now_millis);
  json::object attempt{
      {"attempt", run.request.gang_attempt}, {"taskArns", std::move(arns)}, {"startedAt", now}};
  json::object& gang = gangs_[run.cluster][name];
  if (run.request.gang_attempt == 0) {
    const json::value created =
        gang.contains("createdAt") ? gang.at("createdAt") : json::value(now);
    gang = json::object{{"gangName", name},
                        {"clusterArn", ClusterArn(run.cluster)},
                        {"size", static_cast<int64_t>(run.tasks.size())},
                        {"maxRestarts", run.gang_max_restarts},
                        {"createdAt", created},
                        {"attempts", json::array()},
                        {"berthRequest", run.gang_request}};
  }
  gang["status"] = kGangRunning;
  gang["attempt"] = run.request.gang_attempt;
  gang["updatedAt"] = now;
  gang.erase(kRestartAtKey);
  gang.erase("reason");
  std::vector<std::string> resources;
  for (const json::value& arn : attempt.at("taskArns").as_array()) {
    resources.emplace_back(arn.as_string());
  }
  EmitEvent(run.now_millis, "GangAttempt", run.cluster, std::move(resources),
            "gang " + name + " attempt " + std::to_string(run.request.gang_attempt) +
                " placed: " + std::to_string(run.tasks.size()) + " ranks");
  gang["attempts"].as_array().push_back(std::move(attempt));
  batch.push_back(store::Mutation::Put(GangKey(run.cluster, name), json::serialize(gang)));
}

GangRank EcsApi::GangRankOf(int64_t rank, const json::object& task) const {
  const TaskRecord record(task);
  GangRank out;
  out.rank = rank;
  out.task_id = record.id();
  if (!record.is_stopped()) {
    out.state = record.stop_requested() ? RankState::kStopping : RankState::kActive;
    return out;
  }
  out.reason = std::string(StringOr(task, "stoppedReason", ""));
  out.stopped_at_millis = record.stopped_at_millis().value_or(0);
  const std::string_view code = record.stop_code();
  if (code == kUserInitiated) {
    out.state = RankState::kStoppedByUser;
  } else if (code == kServiceSchedulerInitiated) {
    out.state = RankState::kStoppedWithGang;
  } else if (code == "EssentialContainerExited" && EssentialContainersExitedZero(task)) {
    out.state = RankState::kSucceeded;
  } else {
    out.state = RankState::kFailed;
  }
  return out;
}

bool EcsApi::EssentialContainersExitedZero(const json::object& task) const {
  const json::object* td = FindTaskDefinitionByArn(TaskRecord(task).task_definition_arn());
  if (td == nullptr) return false;
  std::map<std::string_view, bool> essential;
  for (const auto& c : ArrayOr(TaskDefinitionRecord(*td).definition(), "containerDefinitions")) {
    essential[StringOr(c.as_object(), "name", "")] = BoolOr(c.as_object(), "essential", true);
  }
  for (const auto& c : TaskRecord(task).containers()) {
    const json::object& container = c.as_object();
    if (!essential[StringOr(container, "name", "")]) continue;
    if (OptInt(container, "exitCode").value_or(-1) != 0) return false;
  }
  return true;
}

void EcsApi::CleanUpGangs(int64_t now_millis) {
  constexpr int64_t kHourMillis = 3600 * 1000;
  store::Batch batch;
  for (auto& [cluster, gangs] : gangs_) {
    for (auto it = gangs.begin(); it != gangs.end();) {
      const double updated =
          it->second.contains("updatedAt") ? it->second.at("updatedAt").to_number<double>() : 0.0;
      if (!IsLive(StringOr(it->second, "status", "")) &&
          now_millis - static_cast<int64_t>(updated * 1000) > kHourMillis) {
        batch.push_back(store::Mutation::Delete(GangKey(cluster, it->first)));
        it = gangs.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (!batch.empty()) Commit(std::move(batch));
}

void EcsApi::ReconcileGangs(int64_t now_millis) {
  {
    std::shared_lock lock(mu_);
    bool any = false;
    for (const auto& [cluster, gangs] : gangs_) {
      for (const auto& [name, gang] : gangs) any |= IsLive(StringOr(gang, "status", ""));
    }
    if (!any) return;
  }
  std::unique_lock lock(mu_);
  for (auto& [cluster, gangs] : gangs_) {
    for (auto& [name, gang] : gangs) {
      if (IsLive(StringOr(gang, "status", ""))) ReconcileGang(cluster, name, gang, now_millis);
    }
  }
}

void EcsApi::ReconcileGang(const std::string& cluster, const std::string& name, json::object& gang,
                           int64_t now_millis) {
  const int64_t attempt = OptInt(gang, "attempt").value_or(0);
  if (StringOr(gang, "status", "") == kGangRestarting) {
    if (OptInt(gang, kRestartAtKey).value_or(0) > now_millis) return;
    PlaceGangAttempt(cluster, name, gang, attempt + 1, now_millis);
    return;
  }
  GangWants wants;
  wants.attempt = attempt;
  wants.max_restarts = OptInt(gang, "maxRestarts").value_or(0);
  json::array& attempts = gang["attempts"].as_array();
  json::object& current = attempts.back().as_object();
  auto& cluster_tasks = tasks_[cluster];
  int64_t rank = 0;
  for (const auto& arn : ArrayOr(current, "taskArns")) {
    auto task = cluster_tasks.find(TaskIdOf(AsString(arn)));
    if (task != cluster_tasks.end()) wants.ranks.push_back(GangRankOf(rank, task->second));
    ++rank;
  }
  const GangDecision decision = DecideGang(wants);
  const std::string why =
      "berth gang " + name + " (attempt " + std::to_string(attempt) + "): " + decision.reason;
  if (!decision.stop.empty()) {
    store::Batch batch;
    for (const std::string& id : decision.stop) {
      RequestTaskStop(cluster, cluster_tasks.at(id), kServiceSchedulerInitiated, why,
                      Seconds(now_millis), batch);
    }
    Commit(std::move(batch));
    for (const std::string& id : decision.stop) {
      agents_.Bump(TaskRecord(cluster_tasks.at(id)).instance_id());
    }
  }
  if (decision.outcome == GangOutcome::kRunning) return;

  const double now = Seconds(now_millis);
  current["endedAt"] = now;
  current["reason"] =
      decision.outcome == GangOutcome::kSucceeded ? "every rank exited 0" : decision.reason;
  gang["updatedAt"] = now;
  switch (decision.outcome) {
    case GangOutcome::kSucceeded:
      gang["status"] = "SUCCEEDED";
      break;
    case GangOutcome::kStopped:
      gang["status"] = "STOPPED";
      gang["reason"] = decision.reason;
      break;
    case GangOutcome::kFailed:
      gang["status"] = "FAILED";
      gang["reason"] = decision.reason + " (after " + std::to_string(attempt) + " restarts)";
      break;
    case GangOutcome::kRestarting:
      gang["status"] = kGangRestarting;
      gang[kRestartAtKey] = now_millis + GangRestartDelayMillis(attempt + 1);
      break;
    case GangOutcome::kRunning:
      break;
  }
  EmitEvent(now_millis, "GangAttemptEnded", cluster, {},
            "gang " + name + " attempt " + std::to_string(attempt) +
                " ended: " + std::string(StringOr(current, "reason", "")) + "; the gang is " +
                std::string(StringOr(gang, "status", "")));
  LogInfo("gang attempt ended", {{"cluster", cluster},
                                 {"gang", name},
                                 {"attempt", std::to_string(attempt)},
                                 {"status", std::string(StringOr(gang, "status", ""))},
                                 {"reason", decision.reason}});
  Commit({store::Mutation::Put(GangKey(cluster, name), json::serialize(gang))});
}

void EcsApi::PlaceGangAttempt(const std::string& cluster, const std::string& name,
                              json::object& gang, int64_t attempt, int64_t now_millis) {
  json::object in = model::ObjectAt(gang, "berthRequest") != nullptr
                        ? *model::ObjectAt(gang, "berthRequest")
                        : json::object{};
  in[kAttemptKey] = attempt;
  std::string waiting;
  try {
    std::optional<PlannedRun> run = PlanRun(in, CallContext{"", now_millis}, {}, false);
    if (!run->plan.failures.empty()) {
      const auto& f = run->plan.failures.front();
      // All or none: a gang that does not fit reserved nothing.
      waiting = f.detail.empty() ? f.reason : f.reason + " (" + f.detail + ")";
    } else {
      CommitRun(*run, /*verify=*/false);  // RecordGangAttempt makes it RUNNING
      return;
    }
  } catch (const ApiException& e) {
    waiting = e.error().message;
  }
  // Not placed now: tried again on the next pass, the reason kept in sight.
  if (StringOr(gang, "reason", "") != "waiting for capacity: " + waiting) {
    gang["reason"] = "waiting for capacity: " + waiting;
    Commit({store::Mutation::Put(GangKey(cluster, name), json::serialize(gang))});
  }
}

}  // namespace berth::server::api
