// What berth's own API (GET /berth/v1/gangs) shows of gangs: a gang with
// its attempts and, for each rank, its task, instance, devices, state, the
// exit code of its essential container and the reason it stopped.
#include <mutex>
#include <shared_mutex>

#include "model/json_util.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

// The first essential container's exit code, when it has one.
std::optional<int64_t> EssentialExitCode(const json::object& task, const json::object* td) {
  std::string essential;
  if (td != nullptr) {
    for (const auto& c : ArrayOr(TaskDefinitionRecord(*td).definition(), "containerDefinitions")) {
      if (BoolOr(c.as_object(), "essential", true)) {
        essential = std::string(StringOr(c.as_object(), "name", ""));
        break;
      }
    }
  }
  for (const auto& c : TaskRecord(task).containers()) {
    if (StringOr(c.as_object(), "name", "") == essential) return OptInt(c.as_object(), "exitCode");
  }
  return std::nullopt;
}

}  // namespace

json::object EcsApi::GangView(std::string_view cluster, const json::object& gang) const {
  json::object view;
  for (const auto& [key, value] : gang) {
    if (!key.starts_with("berth")) view.emplace(key, value);
  }
  if (auto restart_at = OptInt(gang, "berthRestartAt")) {
    view["restartAt"] = static_cast<double>(*restart_at) / 1000.0;
  }
  if (std::optional<json::object> place = QueuePlaceOf(cluster, StringOr(gang, "gangName", ""))) {
    view["queue"] = std::move(*place);
  }
  auto c = tasks_.find(cluster);
  json::array attempts;
  for (const auto& a : ArrayOr(gang, "attempts")) {
    json::object attempt = a.as_object();
    json::array ranks;
    int64_t rank = 0;
    for (const auto& arn : ArrayOr(a.as_object(), "taskArns")) {
      json::object r{{"rank", rank++}, {"taskArn", arn}};
      const json::object* task = nullptr;
      if (c != tasks_.end()) {
        auto t = c->second.find(TaskIdOf(AsString(arn)));
        if (t != c->second.end()) task = &t->second;
      }
      if (task == nullptr) {
        r["lastStatus"] = "UNKNOWN";  // removed an hour after it stopped
        ranks.push_back(std::move(r));
        continue;
      }
      for (std::string_view key :
           {"containerInstanceArn", "lastStatus", "desiredStatus", "healthStatus", "stopCode",
            "stoppedReason", "startedAt", "stoppedAt"}) {
        if (auto* v = task->if_contains(key)) r[key] = *v;
      }
      // Each rank's device ids, its containers' together.
      for (std::string_view key : {"neuronDeviceIds", "gpuIds", "efaDeviceIds"}) {
        json::array ids;
        for (const auto& container : TaskRecord(*task).containers()) {
          for (const auto& id : ArrayOr(container.as_object(), key)) ids.push_back(id);
        }
        r[key] = std::move(ids);
      }
      const json::object* td = FindTaskDefinitionByArn(TaskRecord(*task).task_definition_arn());
      if (auto code = EssentialExitCode(*task, td)) r["exitCode"] = *code;
      ranks.push_back(std::move(r));
    }
    attempt["ranks"] = std::move(ranks);
    attempt.erase("taskArns");
    attempts.push_back(std::move(attempt));
  }
  view["attempts"] = std::move(attempts);
  return view;
}

json::object EcsApi::DescribeGang(std::string_view cluster_ref, std::string_view name) const {
  std::shared_lock lock(mu_);
  const std::string cluster = ClusterName(cluster_ref.empty() ? "default" : cluster_ref);
  auto c = clusters_.find(cluster);
  if (c == clusters_.end() || !ClusterRecord(c->second).is_active()) {
    Fail("ClusterNotFoundException", "Cluster not found: " + cluster);
  }
  auto g = gangs_.find(cluster);
  if (g == gangs_.end() || !g->second.contains(name)) {
    Fail("GangNotFoundException", "no gang named '" + std::string(name) + "' in cluster " +
                                      cluster + " (gangs are kept an hour after they end)");
  }
  return GangView(cluster, g->second.find(name)->second);
}

json::array EcsApi::ListGangs(std::string_view cluster_ref) const {
  std::shared_lock lock(mu_);
  const std::string cluster = ClusterName(cluster_ref.empty() ? "default" : cluster_ref);
  auto c = clusters_.find(cluster);
  if (c == clusters_.end() || !ClusterRecord(c->second).is_active()) {
    Fail("ClusterNotFoundException", "Cluster not found: " + cluster);
  }
  json::array out;
  auto g = gangs_.find(cluster);
  if (g == gangs_.end()) return out;
  for (const auto& [name, gang] : g->second) {
    json::object summary;
    for (std::string_view key : {"gangName", "status", "size", "attempt", "maxRestarts", "reason",
                                 "createdAt", "updatedAt"}) {
      if (auto* v = gang.if_contains(key)) summary[key] = *v;
    }
    out.push_back(std::move(summary));
  }
  return out;
}

}  // namespace berth::server::api
