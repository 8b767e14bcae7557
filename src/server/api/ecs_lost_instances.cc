// Lost instances: a node whose agent has been silent for longer than
// lost-after (AgentTracker) no longer runs anything as far as the API can
// tell. Its tasks are STOPPED here, with a reason naming the instance and the
// silence, and what they held goes back to the cluster; the instance stays
// registered (agentConnected false) and may come back.
//
// When its agent does come back, its assignments no longer list those tasks
// (they are STOPPED), so it stops their containers and reports them; the
// state rules keep a STOPPED task STOPPED whatever it reports
// (task_state_rules.h).
//
// The stop code is TerminationNotice: of the codes the ECS model defines, it
// is the one for a task stopped because the host under it went away, which is
// what a lost node looks like from the API. The others say something false
// here: no user asked (UserInitiated), no service scheduler chose it
// (ServiceSchedulerInitiated), nothing is known about the containers
// (EssentialContainerExited, TaskFailedToStart), and it is not a Spot
// reclaim (SpotInterruption).
#include <boost/json/serialize.hpp>
#include <mutex>
#include <shared_mutex>

#include "server/api/ecs_api.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

int64_t CeilSeconds(int64_t millis) { return (millis + 999) / 1000; }

}  // namespace

std::vector<EcsApi::LostInstance> EcsApi::StopTasksOfLostInstances(int64_t now_millis) {
  // Only instances that hold tasks are looked at: a lost instance without
  // tasks has nothing to stop. Instances no agent ever joined are modelled
  // through the API alone; nothing reports for them, so they are never lost.
  const int64_t lost_after = agents_.lost_after_millis();
  if (lost_after <= 0) return {};  // never lost
  auto find_lost = [&] {
    std::vector<LostInstance> lost;
    for (const auto& [cluster, instances] : instance_tasks_) {
      for (const auto& [id, on] : instances) {
        if (on.tasks.empty()) continue;
        const json::object* instance = FindInstance(cluster, id);
        if (instance == nullptr || !InstanceRecord(*instance).has_agent()) continue;
        const int64_t silent = agents_.SilentMillis(id, now_millis);
        if (silent > lost_after) lost.push_back({cluster, id, silent, {}});
      }
    }
    return lost;
  };
  // Nearly every check finds nothing: it does not hold up the API for that.
  {
    std::shared_lock lock(mu_);
    if (find_lost().empty()) return {};
  }
  std::unique_lock lock(mu_);
  std::vector<LostInstance> lost = find_lost();  // again: things moved meanwhile
  if (lost.empty()) return lost;

  const double now = static_cast<double>(now_millis) / 1000.0;
  const int64_t lost_after_seconds = CeilSeconds(lost_after);
  store::Batch batch;
  for (LostInstance& item : lost) {
    auto& cluster_tasks = tasks_.at(item.cluster);
    const std::string reason =
        "Container instance " + item.instance_id + " was lost: its agent has been silent for " +
        std::to_string(CeilSeconds(item.silent_millis)) + " s, longer than --agent-lost-after " +
        std::to_string(lost_after_seconds) + " s";
    for (const json::object* on : TasksOn(item.cluster, item.instance_id)) {
      item.task_ids.push_back(TaskRecord(*on).id());
    }
    for (const std::string& task_id : item.task_ids) {
      json::object& task = cluster_tasks.at(task_id);
      MutableTaskRecord record(task);
      // A stop asked for before (StopTask, a deregistration) keeps its code
      // and reason: the agent just never confirmed it.
      if (!record.stop_requested()) {
        record.SetDesiredStatus(kStopped);
        record.SetStopCode(kLostInstanceStopCode);
        record.SetStoppedReason(reason);
      }
      if (!task.contains("stoppingAt")) task["stoppingAt"] = now;
      record.StopNow(now);
      // The server no longer hears from the task's agent.
      task["connectivity"] = "DISCONNECTED";
      task["connectivityAt"] = now;
      record.BumpVersion();
      batch.push_back(store::Mutation::Put(TaskKey(item.cluster, task_id), json::serialize(task)));
    }
    // Resources, devices, ports and counts come back, in the Placer too.
    AccountTasks(item.cluster, item.instance_id, item.task_ids);
    std::vector<std::string> resources;
    if (const json::object* instance = FindInstance(item.cluster, item.instance_id)) {
      resources.emplace_back(StringOr(*instance, "containerInstanceArn", ""));
    }
    EmitEvent(now_millis, "InstanceLost", item.cluster, std::move(resources),
              reason + "; " + std::to_string(item.task_ids.size()) + " task(s) stopped");
  }
  Commit(std::move(batch));
  // A returning agent's next poll is answered without these tasks.
  for (const LostInstance& item : lost) agents_.Bump(item.instance_id);
  return lost;
}

}  // namespace berth::server::api
