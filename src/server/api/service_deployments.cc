#include "server/api/service_deployments.h"

#include <algorithm>

#include "model/json_util.h"
#include "server/api/ecs_records.h"
#include "server/api/service_reconciler.h"

namespace berth::server::api {

using model::ArrayOr;
using model::OptInt;
using model::StringOr;

namespace json = boost::json;

namespace {

// ServiceDeploymentStatus values.
constexpr std::string_view kInProgress = "IN_PROGRESS";
constexpr std::string_view kSuccessful = "SUCCESSFUL";
constexpr std::string_view kStoppedStatus = "STOPPED";
constexpr std::string_view kRollbackInProgress = "ROLLBACK_IN_PROGRESS";
constexpr std::string_view kRollbackSuccessful = "ROLLBACK_SUCCESSFUL";
constexpr std::string_view kRollbackFailed = "ROLLBACK_FAILED";

constexpr std::string_view kServiceDeleted = "The service was deleted.";

bool IsFinal(std::string_view status) {
  return status != kInProgress && status != kRollbackInProgress;
}

json::object* FindIn(json::array& history, std::string_view id) {
  for (auto& e : history) {
    if (e.is_object() && StringOr(e.get_object(), "id", "") == id) return &e.get_object();
  }
  return nullptr;
}

const json::object* FindDeployment(const json::array& deployments, std::string_view id) {
  for (const auto& d : deployments) {
    if (d.is_object() && StringOr(d.get_object(), "id", "") == id) return &d.get_object();
  }
  return nullptr;
}

std::string_view NumberOf(std::string_view deployment_id) {
  return deployment_id.starts_with(kDeploymentIdPrefix)
             ? deployment_id.substr(kDeploymentIdPrefix.size())
             : deployment_id;
}

void CopyIfPresent(const json::object& from, std::string_view key, json::object& to) {
  if (const json::value* v = from.if_contains(key)) to[key] = *v;
}

// What a new deployment of the service runs (ServiceRevision's members).
json::object NewRevision(const json::object& service, const json::object& deployment) {
  json::object revision{
      {"taskDefinition", StringOr(deployment, "taskDefinition", "")},
      {"launchType", StringOr(deployment, "launchType", "EC2")},
      {"loadBalancers", ArrayOr(service, "loadBalancers")},
      {"serviceRegistries", ArrayOr(service, "serviceRegistries")},
      {"containerImages", json::array()},
      {"createdAt", deployment.contains("createdAt") ? deployment.at("createdAt") : json::value()},
  };
  for (std::string_view key : {"networkConfiguration", "serviceConnectConfiguration",
                               "volumeConfigurations", "vpcLatticeConfigurations"}) {
    CopyIfPresent(deployment, key, revision);
  }
  return revision;
}

json::object NewEntry(const json::object& service, const json::object& deployment,
                      const json::array& deployments, double now) {
  const std::string_view id = StringOr(deployment, "id", "");
  json::array sources;
  for (const auto& other : deployments) {
    if (!other.is_object() || StringOr(other.get_object(), "id", "") == id) continue;
    json::string revision(RevisionIdOf(service, other.get_object()));
    if (std::find(sources.begin(), sources.end(), json::value(revision)) == sources.end()) {
      sources.push_back(std::move(revision));
    }
  }
  const json::value created =
      deployment.contains("createdAt") ? deployment.at("createdAt") : json::value(now);
  json::object entry{
      {"id", id},
      {"status", kInProgress},
      {"createdAt", created},
      {"startedAt", created},
      {"updatedAt", now},
      {"sourceRevisions", std::move(sources)},
      {"requested", OptInt(deployment, "desiredCount").value_or(0)},
      {"failedTasks", OptInt(deployment, "failedTasks").value_or(0)},
      {"revision", NewRevision(service, deployment)},
  };
  CopyIfPresent(service, "deploymentConfiguration", entry);
  return entry;
}

void Finish(json::object& entry, std::string_view status, std::string_view reason,
            std::string_view when_key, double now) {
  entry["status"] = status;
  if (!reason.empty()) entry["statusReason"] = reason;
  entry[when_key] = now;
  entry["updatedAt"] = now;
}

// Whether deployment_id is the rollback of an entry.
bool RollsBack(const json::array& history, std::string_view deployment_id) {
  return std::any_of(history.begin(), history.end(), [&](const json::value& e) {
    return e.is_object() && StringOr(e.get_object(), "rollbackDeployment", "") == deployment_id;
  });
}

// The failed deployment a rollback deployment rolls back from: FAILED, with
// an entry not yet rolled back.
json::object* RolledBackEntry(json::array& history, const json::array& deployments) {
  for (auto& e : history) {
    json::object& entry = e.as_object();
    if (entry.contains("rollbackDeployment") || IsFinal(StringOr(entry, "status", ""))) continue;
    const json::object* d = FindDeployment(deployments, StringOr(entry, "id", ""));
    if (d != nullptr && StringOr(*d, "rolloutState", "") == "FAILED") return &entry;
  }
  return nullptr;
}

// Where an entry that is still going stands now; whether that changed it.
bool Advance(json::object& entry, const json::array& deployments, bool service_deleted,
             double now) {
  const std::string_view status = StringOr(entry, "status", "");
  if (IsFinal(status)) return false;
  if (service_deleted) {
    Finish(entry, kStoppedStatus, kServiceDeleted, "stoppedAt", now);
    return true;
  }
  const bool rolling_back = status == kRollbackInProgress;
  const std::string_view watched = StringOr(entry, rolling_back ? "rollbackDeployment" : "id", "");
  const json::object* d = FindDeployment(deployments, watched);
  bool changed = false;
  if (d != nullptr && !rolling_back) {
    for (std::string_view key : {"failedTasks", "desiredCount"}) {
      const std::string_view to = key == "desiredCount" ? "requested" : key;
      const int64_t value = OptInt(*d, key).value_or(0);
      if (OptInt(entry, to).value_or(0) != value) {
        entry[to] = value;
        changed = true;
      }
    }
  }
  const std::string_view state = d != nullptr ? StringOr(*d, "rolloutState", "") : "";
  if (state == "COMPLETED") {
    Finish(entry, rolling_back ? kRollbackSuccessful : kSuccessful, "", "finishedAt", now);
    return true;
  }
  if (state == "FAILED") {
    // A rollback that fails in turn is not rolled back again; a deployment
    // that fails without a rollback stops (ECS's stoppedAt).
    Finish(entry, rolling_back ? kRollbackFailed : kStoppedStatus,
           StringOr(*d, "rolloutStateReason", ""), rolling_back ? "finishedAt" : "stoppedAt", now);
    return true;
  }
  if (d == nullptr || StringOr(*d, "status", "") != kPrimary) {
    const std::string newer(deployments.empty() || !deployments.front().is_object()
                                ? ""
                                : StringOr(deployments.front().get_object(), "id", ""));
    Finish(entry, kStoppedStatus, "A newer deployment (" + newer + ") replaced it.", "stoppedAt",
           now);
    return true;
  }
  return changed;
}

json::object* MutableEntry(json::object& service, std::string_view id) {
  json::value* history = service.if_contains(kHistoryKey);
  return history != nullptr && history->is_array() ? FindIn(history->get_array(), id) : nullptr;
}

}  // namespace

std::string RevisionIdOf(const json::object& service, const json::object& deployment) {
  const std::string_view id = StringOr(deployment, "id", "");
  // A rollback known to the history: its reason changes once it completes.
  for (const auto& e : ArrayOr(service, kHistoryKey)) {
    if (!e.is_object() || StringOr(e.get_object(), "rollbackDeployment", "") != id) continue;
    if (const json::object* rollback = model::ObjectAt(e.get_object(), "rollback")) {
      return std::string(StringOr(*rollback, "revision", id));
    }
  }
  std::string_view reason = StringOr(deployment, "rolloutStateReason", "");
  if (reason.starts_with(kRollbackReason)) {
    std::string_view to = reason.substr(kRollbackReason.size());
    while (!to.empty() && to.back() == '.') to.remove_suffix(1);
    if (!to.empty()) return std::string(to);
  }
  return std::string(id);
}

bool SyncDeploymentHistory(json::object& service, double now) {
  json::value& v = service[kHistoryKey];
  if (!v.is_array()) v.emplace_array();
  json::array& history = v.get_array();
  const json::array& deployments = ArrayOr(service, "deployments");
  bool changed = false;

  // Oldest first, so that the newest ends up in front.
  for (auto it = deployments.rbegin(); it != deployments.rend(); ++it) {
    if (!it->is_object()) continue;
    const json::object& d = it->get_object();
    const std::string_view id = StringOr(d, "id", "");
    if (id.empty() || FindIn(history, id) != nullptr || RollsBack(history, id)) continue;
    const bool rollback = StringOr(d, "rolloutStateReason", "").starts_with(kRollbackReason);
    json::object* failed = rollback ? RolledBackEntry(history, deployments) : nullptr;
    if (failed != nullptr) {
      const json::object* from = FindDeployment(deployments, StringOr(*failed, "id", ""));
      (*failed)["status"] = kRollbackInProgress;
      (*failed)["rollbackDeployment"] = id;
      (*failed)["rollback"] = json::object{
          {"reason", from != nullptr ? StringOr(*from, "rolloutStateReason", "") : ""},
          {"startedAt", d.contains("createdAt") ? d.at("createdAt") : json::value(now)},
          {"revision", RevisionIdOf(service, d)}};
      (*failed)["updatedAt"] = now;
      changed = true;
      continue;
    }
    history.insert(history.begin(), NewEntry(service, d, deployments, now));
    changed = true;
  }

  const std::string_view status = StringOr(service, "status", "");
  const bool deleted = status == kDraining || status == kInactive;
  for (auto& e : history) {
    if (e.is_object()) changed |= Advance(e.get_object(), deployments, deleted, now);
  }

  // The oldest finished entries go first; one still going stays.
  for (size_t i = history.size(); history.size() > kMaxHistory && i-- > 0;) {
    if (IsFinal(StringOr(history[i].as_object(), "status", ""))) {
      history.erase(history.begin() + static_cast<std::ptrdiff_t>(i));
      changed = true;
    }
  }
  return changed;
}

const json::object* FindHistoryEntry(const json::object& service, std::string_view id) {
  return MutableEntry(const_cast<json::object&>(service), id);
}

std::vector<RevisionContainer> RevisionContainers(const json::object& task_definition) {
  std::vector<RevisionContainer> out;
  for (const auto& c : ArrayOr(task_definition, "containerDefinitions")) {
    if (!c.is_object()) continue;
    const json::object& def = c.get_object();
    out.push_back({std::string(StringOr(def, "name", "")), std::string(StringOr(def, "image", "")),
                   StringOr(def, "versionConsistency", "enabled") != "disabled"});
  }
  return out;
}

bool ResolveContainerImages(
    json::object& service, std::string_view revision_id,
    const std::vector<RevisionContainer>& containers,
    const std::function<std::optional<std::string>(std::string_view)>& reported_digest) {
  json::object* entry = MutableEntry(service, revision_id);
  if (entry == nullptr) return false;
  json::value& r = (*entry)["revision"];
  if (!r.is_object()) r.emplace_object();
  json::value& images_value = r.get_object()["containerImages"];
  if (!images_value.is_array()) images_value.emplace_array();
  json::array& images = images_value.get_array();
  bool changed = false;
  for (const RevisionContainer& c : containers) {
    const bool listed = std::any_of(images.begin(), images.end(), [&](const json::value& i) {
      return i.is_object() && StringOr(i.get_object(), "containerName", "") == c.name;
    });
    if (listed) continue;
    json::object image{{"containerName", c.name}, {"image", c.image}};
    if (c.version_consistency) {
      // An image named by digest is resolved already.
      const size_t at = c.image.find('@');
      std::optional<std::string> digest =
          at != std::string::npos ? std::optional(c.image.substr(at + 1)) : reported_digest(c.name);
      if (!digest || digest->empty()) continue;  // until a task of it reports one
      image["imageDigest"] = *digest;
    }
    images.push_back(std::move(image));
    changed = true;
  }
  return changed;
}

json::object PinnedImages(const json::object& service, std::string_view revision_id) {
  json::object pins;
  const json::object* entry = FindHistoryEntry(service, revision_id);
  if (entry == nullptr) return pins;
  const json::object* revision = model::ObjectAt(*entry, "revision");
  if (revision == nullptr) return pins;
  for (const auto& i : ArrayOr(*revision, "containerImages")) {
    if (!i.is_object()) continue;
    const json::object& image = i.get_object();
    std::string_view digest = StringOr(image, "imageDigest", "");
    if (digest.empty()) continue;
    pins[StringOr(image, "containerName", "")] =
        ImageAtDigest(StringOr(image, "image", ""), digest);
  }
  return pins;
}

std::string ImageAtDigest(std::string_view image, std::string_view digest) {
  if (image.find('@') != std::string_view::npos) return std::string(image);
  return std::string(image) + "@" + std::string(digest);
}

std::string ServiceDeploymentArn(const ArnScope& scope, std::string_view cluster,
                                 std::string_view service, std::string_view deployment_id) {
  return MakeArn(scope, "ecs",
                 "service-deployment/" + std::string(cluster) + "/" + std::string(service) + "/" +
                     std::string(NumberOf(deployment_id)));
}

std::string ServiceRevisionArn(const ArnScope& scope, std::string_view cluster,
                               std::string_view service, std::string_view revision_id) {
  return MakeArn(scope, "ecs",
                 "service-revision/" + std::string(cluster) + "/" + std::string(service) + "/" +
                     std::string(NumberOf(revision_id)));
}

std::optional<ServiceDeploymentRef> ParseServiceDeploymentArn(std::string_view arn,
                                                              std::string_view kind) {
  if (!arn.starts_with("arn:")) return std::nullopt;
  const std::string marker = ":" + std::string(kind) + "/";
  const size_t at = arn.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = arn.substr(at + marker.size());
  const size_t first = rest.find('/');
  const size_t last = rest.rfind('/');
  if (first == std::string_view::npos || first == last) return std::nullopt;
  std::string_view number = rest.substr(last + 1);
  if (number.empty() ||
      !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return ServiceDeploymentRef{std::string(rest.substr(0, first)),
                              std::string(rest.substr(first + 1, last - first - 1)),
                              std::string(kDeploymentIdPrefix) + std::string(number)};
}

namespace {

struct Names {
  std::string service_arn;
  std::string cluster_arn;
  std::string service;
};

Names NamesOf(const ArnScope& scope, std::string_view cluster, const json::object& service) {
  return {std::string(StringOr(service, "serviceArn", "")),
          MakeArn(scope, "ecs", "cluster/" + std::string(cluster)),
          std::string(StringOr(service, "serviceName", ""))};
}

json::object RevisionSummary(const std::string& arn, const RevisionCounts& counts) {
  return json::object{{"arn", arn},
                      {"requestedTaskCount", counts.requested},
                      {"runningTaskCount", counts.running},
                      {"pendingTaskCount", counts.pending}};
}

}  // namespace

json::object ServiceDeploymentBriefView(const ArnScope& scope, std::string_view cluster,
                                        const json::object& service, const json::object& entry) {
  const Names names = NamesOf(scope, cluster, service);
  const std::string_view id = StringOr(entry, "id", "");
  json::object brief{
      {"serviceDeploymentArn", ServiceDeploymentArn(scope, cluster, names.service, id)},
      {"serviceArn", names.service_arn},
      {"clusterArn", names.cluster_arn},
      {"targetServiceRevisionArn", ServiceRevisionArn(scope, cluster, names.service, id)},
      {"status", StringOr(entry, "status", "")},
  };
  for (std::string_view key : {"createdAt", "startedAt", "finishedAt", "statusReason"}) {
    CopyIfPresent(entry, key, brief);
  }
  return brief;
}

json::object ServiceDeploymentView(const ArnScope& scope, std::string_view cluster,
                                   const json::object& service, const json::object& entry,
                                   const std::function<RevisionCounts(std::string_view)>& counts) {
  const Names names = NamesOf(scope, cluster, service);
  const std::string_view id = StringOr(entry, "id", "");
  json::object view = ServiceDeploymentBriefView(scope, cluster, service, entry);
  view.erase("targetServiceRevisionArn");
  for (std::string_view key : {"stoppedAt", "updatedAt", "deploymentConfiguration"}) {
    CopyIfPresent(entry, key, view);
  }
  RevisionCounts target = counts(id);
  if (target.requested == 0 && !IsFinal(StringOr(entry, "status", ""))) {
    target.requested = OptInt(entry, "requested").value_or(0);
  }
  view["targetServiceRevision"] =
      RevisionSummary(ServiceRevisionArn(scope, cluster, names.service, id), target);
  json::array sources;
  for (const auto& s : ArrayOr(entry, "sourceRevisions")) {
    if (!s.is_string()) continue;
    sources.push_back(RevisionSummary(
        ServiceRevisionArn(scope, cluster, names.service, s.get_string()), counts(s.get_string())));
  }
  view["sourceServiceRevisions"] = std::move(sources);
  if (const json::object* rollback = model::ObjectAt(entry, "rollback")) {
    view["rollback"] = json::object{
        {"reason", StringOr(*rollback, "reason", "")},
        {"startedAt", rollback->contains("startedAt") ? rollback->at("startedAt") : json::value()},
        {"serviceRevisionArn",
         ServiceRevisionArn(scope, cluster, names.service, StringOr(*rollback, "revision", ""))}};
  }
  // The circuit breaker as it watched this deployment.
  const json::object* config = model::ObjectAt(entry, "deploymentConfiguration");
  const json::object* breaker =
      config != nullptr ? model::ObjectAt(*config, "deploymentCircuitBreaker") : nullptr;
  const std::string_view status = StringOr(entry, "status", "");
  json::object circuit{{"status", "DISABLED"}};
  if (breaker != nullptr && model::BoolOr(*breaker, "enable", false)) {
    const bool triggered = status.starts_with("ROLLBACK") ||
                           (status == kStoppedStatus &&
                            StringOr(entry, "statusReason", "").starts_with("ECS deployment"));
    circuit["status"] = triggered               ? "TRIGGERED"
                        : status == kInProgress ? "MONITORING"
                                                : "MONITORING_COMPLETE";
    circuit["failureCount"] = OptInt(entry, "failedTasks").value_or(0);
    circuit["threshold"] = CircuitBreakerThreshold(OptInt(entry, "requested").value_or(0));
  }
  view["deploymentCircuitBreaker"] = std::move(circuit);
  // berth watches no CloudWatch alarms.
  view["alarms"] = json::object{{"status", "DISABLED"}};
  return view;
}

json::object ServiceRevisionView(const ArnScope& scope, std::string_view cluster,
                                 const json::object& service, const json::object& entry) {
  const Names names = NamesOf(scope, cluster, service);
  json::object view{
      {"serviceRevisionArn",
       ServiceRevisionArn(scope, cluster, names.service, StringOr(entry, "id", ""))},
      {"serviceArn", names.service_arn},
      {"clusterArn", names.cluster_arn},
      {"guardDutyEnabled", false},
  };
  if (const json::object* revision = model::ObjectAt(entry, "revision")) {
    for (const auto& [key, value] : *revision) view[key] = value;
  }
  return view;
}

}  // namespace berth::server::api
