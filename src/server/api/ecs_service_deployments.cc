// ECS service deployments and revisions: ListServiceDeployments,
// DescribeServiceDeployments, DescribeServiceRevisions, over the history
// service_deployments.h keeps in each service record.
#include <cstdio>

#include "model/json_util.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"
#include "server/api/service_deployments.h"
#include "server/api/service_requests.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

// ECS: at most 20 ARNs per Describe; ListServiceDeployments pages by 20
// unless asked for up to 100.
constexpr size_t kMaxDescribe = 20;
constexpr int kDefaultListPage = 20;
constexpr int kMaxListPage = 100;

// A timestamp member as epoch seconds (the SDKs send numbers in AWS JSON).
std::optional<double> Seconds(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

// Newest first, and a page position that sorts that way.
std::string Position(const json::object& entry) {
  char at[32];
  std::snprintf(at, sizeof at, "%020.6f ", Seconds(entry, "createdAt").value_or(0));
  return at + std::string(StringOr(entry, "id", ""));
}

}  // namespace

RevisionCounts EcsApi::CountsOfRevision(std::string_view cluster, const json::object& service,
                                        std::string_view revision_id) const {
  RevisionCounts counts;
  for (const auto& d : ServiceRecord(service).deployments()) {
    if (!d.is_object() || RevisionIdOf(service, d.get_object()) != revision_id) continue;
    const json::object& deployment = d.get_object();
    counts.requested += OptInt(deployment, "desiredCount").value_or(0);
    const TaskCounts n = ServiceTaskCounts(cluster, service, StringOr(deployment, "id", ""));
    counts.running += n.running;
    counts.pending += n.pending;
  }
  return counts;
}

Reply EcsApi::ListServiceDeployments(json::object& in, const CallContext&) {
  const std::string cluster = ActiveClusterName(StringOr(in, "cluster", ""));
  const json::object* service = FindService(cluster, StringOr(in, "service", ""));
  if (service == nullptr || ServiceStatus(cluster, *service) == kInactive) {
    Fail("ServiceNotFoundException", "Service not found.");
  }
  const json::array& statuses = ArrayOr(in, "status");
  std::optional<double> before, after;
  if (const json::object* created = model::ObjectAt(in, "createdAt")) {
    before = Seconds(*created, "before");
    after = Seconds(*created, "after");
  }
  if (!in.contains("maxResults")) in["maxResults"] = kDefaultListPage;
  Pager pager(page_tokens_, in, kMaxListPage, /*descending=*/true);
  for (const auto& e : ArrayOr(*service, kHistoryKey)) {
    const json::object& entry = e.as_object();
    if (!statuses.empty() && !ListContains(in, "status", StringOr(entry, "status", ""))) continue;
    const double created = Seconds(entry, "createdAt").value_or(0);
    if ((before && created >= *before) || (after && created <= *after)) continue;
    if (!pager.Add(Position(entry), ServiceDeploymentBriefView(scope_, cluster, *service, entry))) {
      break;
    }
  }
  json::object reply;
  pager.Finish(reply, "serviceDeployments");
  return {std::move(reply)};
}

namespace {

// The ARNs a Describe names: 1 to 20.
const json::array& DescribedArns(const json::object& in, std::string_view member) {
  const json::array& arns = ArrayOr(in, member);
  if (arns.empty() || arns.size() > kMaxDescribe) {
    Fail("InvalidParameterException", std::string(member) + " must name 1 to " +
                                          std::to_string(kMaxDescribe) + " ARNs, got " +
                                          std::to_string(arns.size()));
  }
  return arns;
}

}  // namespace

// What both Describe calls share: each ARN to its history entry, or a
// failure ECS-style.
template <typename View>
json::object EcsApi::DescribeHistory(const json::object& in, std::string_view member,
                                     std::string_view kind, std::string_view list_member,
                                     const View& view) const {
  json::array found, failures;
  for (const auto& a : DescribedArns(in, member)) {
    const std::string_view arn = AsString(a);
    std::optional<ServiceDeploymentRef> ref = ParseServiceDeploymentArn(arn, kind);
    if (!ref) {
      Fail("InvalidParameterException",
           std::string(member) + ": '" + std::string(arn) + "' is not a " + std::string(kind) +
               " ARN (arn:aws:ecs:REGION:ACCOUNT:" + std::string(kind) + "/CLUSTER/SERVICE/ID)");
    }
    const json::object* service = nullptr;
    if (auto c = clusters_.find(ref->cluster); c != clusters_.end()) {
      service = FindService(ref->cluster, ref->service);
    }
    const json::object* entry =
        service != nullptr ? FindHistoryEntry(*service, ref->deployment_id) : nullptr;
    if (entry == nullptr) {
      failures.push_back(json::object{{"arn", arn}, {"reason", "MISSING"}});
      continue;
    }
    found.push_back(view(ref->cluster, *service, *entry));
  }
  return json::object{{list_member, std::move(found)}, {"failures", std::move(failures)}};
}

Reply EcsApi::DescribeServiceDeployments(json::object& in, const CallContext&) {
  return {DescribeHistory(
      in, "serviceDeploymentArns", "service-deployment", "serviceDeployments",
      [&](const std::string& cluster, const json::object& service, const json::object& entry) {
        return ServiceDeploymentView(scope_, cluster, service, entry,
                                     [&](std::string_view revision) {
                                       return CountsOfRevision(cluster, service, revision);
                                     });
      })};
}

Reply EcsApi::DescribeServiceRevisions(json::object& in, const CallContext&) {
  return {DescribeHistory(
      in, "serviceRevisionArns", "service-revision", "serviceRevisions",
      [&](const std::string& cluster, const json::object& service, const json::object& entry) {
        return ServiceRevisionView(scope_, cluster, service, entry);
      })};
}

}  // namespace berth::server::api
