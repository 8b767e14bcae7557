// The history of a service's deployments, as ECS's ServiceDeployment and
// ServiceRevision describe it (ListServiceDeployments,
// DescribeServiceDeployments, DescribeServiceRevisions, and the Service's
// currentServiceDeployment / currentServiceRevisions).
//
// berth's deployments (the Service's `deployments`, PRIMARY and ACTIVE) come
// and go as tasks roll; the history outlives them. It is kept in the service
// record under kHistoryKey, newest first, at most kMaxHistory entries, and
// derived from the deployments by SyncDeploymentHistory after every change
// to the record, so that the controller and the API need only call it.
//
// Each berth deployment is one service deployment and targets one service
// revision of the same number: "ecs-svc/123" is service-deployment/C/S/123
// and service-revision/C/S/123. A circuit breaker rollback is not a
// deployment of its own here, as in ECS: the failed deployment turns
// ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED, and
// the rollback runs the revision it rolls back to.
//
// A revision also records the container images it runs (versionConsistency):
// once a task of the deployment reports the digest of a container whose
// versionConsistency is not "disabled", later tasks of the revision run that
// digest, whatever the tag points at by then.
//
// Pure: no store, no clock, no locks.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"

namespace berth::server::api {

inline constexpr std::string_view kHistoryKey = "berthDeploymentHistory";
// A task record's {container name: "image@digest"}: the images a service
// task runs in place of its task definition's (the agent is told so).
inline constexpr std::string_view kPinnedImagesKey = "berthPinnedImages";
inline constexpr size_t kMaxHistory = 50;
// How a rollback deployment's rolloutStateReason starts; the id of the
// deployment it rolls back to follows.
inline constexpr std::string_view kRollbackReason =
    "ECS deployment circuit breaker: rolling back to deploymentId ";

// Brings service[kHistoryKey] up to date with service["deployments"]:
// entries for new deployments, statuses for those that completed, failed,
// were replaced or are being rolled back. Returns whether it changed.
bool SyncDeploymentHistory(boost::json::object& service, double now_epoch_seconds);

// The revision a deployment of service runs: its own, or for a rollback the
// one it rolls back to.
std::string RevisionIdOf(const boost::json::object& service, const boost::json::object& deployment);

// The history entry of a deployment id, or nullptr.
const boost::json::object* FindHistoryEntry(const boost::json::object& service,
                                            std::string_view deployment_id);

// A container of a revision's task definition, for image pinning.
struct RevisionContainer {
  std::string name;
  std::string image;
  bool version_consistency = true;  // versionConsistency is not "disabled"
};
std::vector<RevisionContainer> RevisionContainers(const boost::json::object& task_definition);

// Records in the revision `revision_id` each container not listed yet: a
// consistent one once reported_digest(container name) names the digest a
// task of the revision reported (asked only for those), the others as they
// are. Returns whether it changed.
bool ResolveContainerImages(
    boost::json::object& service, std::string_view revision_id,
    const std::vector<RevisionContainer>& containers,
    const std::function<std::optional<std::string>(std::string_view)>& reported_digest);

// {container name: "image@digest"} for the resolved containers of the
// revision: what new tasks of it run.
boost::json::object PinnedImages(const boost::json::object& service, std::string_view revision_id);

// "repo:tag" or "repo" with a digest: "repo:tag@sha256:..."; an image
// already naming a digest is left as it is.
std::string ImageAtDigest(std::string_view image, std::string_view digest);

// ARNs: service-deployment/CLUSTER/SERVICE/NUMBER, service-revision/...
std::string ServiceDeploymentArn(const ArnScope& scope, std::string_view cluster,
                                 std::string_view service, std::string_view deployment_id);
std::string ServiceRevisionArn(const ArnScope& scope, std::string_view cluster,
                               std::string_view service, std::string_view revision_id);
// The cluster, service and deployment id an ARN of `kind` ("service-deployment"
// or "service-revision") names; nullopt when it is not one.
struct ServiceDeploymentRef {
  std::string cluster;
  std::string service;
  std::string deployment_id;  // "ecs-svc/NUMBER"
};
std::optional<ServiceDeploymentRef> ParseServiceDeploymentArn(std::string_view arn,
                                                              std::string_view kind);

// Live counts of one revision's tasks, filled in by the caller.
struct RevisionCounts {
  int64_t requested = 0;
  int64_t running = 0;
  int64_t pending = 0;
};

// The ECS shapes of an entry. counts: of the revision's tasks (for the
// target and the sources), by revision id.
boost::json::object ServiceDeploymentView(
    const ArnScope& scope, std::string_view cluster, const boost::json::object& service,
    const boost::json::object& entry,
    const std::function<RevisionCounts(std::string_view)>& counts);
boost::json::object ServiceDeploymentBriefView(const ArnScope& scope, std::string_view cluster,
                                               const boost::json::object& service,
                                               const boost::json::object& entry);
boost::json::object ServiceRevisionView(const ArnScope& scope, std::string_view cluster,
                                        const boost::json::object& service,
                                        const boost::json::object& entry);

}  // namespace berth::server::api
