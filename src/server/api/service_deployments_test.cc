#include "server/api/service_deployments.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "model/json_util.h"

namespace berth::server::api {
namespace {

namespace json = boost::json;
using model::StringOr;

json::object Deployment(std::string_view id, std::string_view status, std::string_view rollout,
                        double created, std::string_view reason = "") {
  json::object d{{"id", id},
                 {"status", status},
                 {"taskDefinition", "arn:aws:ecs:us-east-1:0:task-definition/t:1"},
                 {"desiredCount", 2},
                 {"createdAt", created},
                 {"rolloutState", rollout}};
  if (!reason.empty()) d["rolloutStateReason"] = reason;
  return d;
}

json::object Service(json::array deployments) {
  return json::object{{"serviceName", "web"},
                      {"serviceArn", "arn:aws:ecs:us-east-1:0:service/c/web"},
                      {"status", "ACTIVE"},
                      {"deploymentConfiguration", json::parse(R"({"deploymentCircuitBreaker":
                                        {"enable": true, "rollback": true}})")},
                      {"deployments", std::move(deployments)}};
}

const json::array& History(const json::object& service) {
  return service.at(kHistoryKey).as_array();
}

std::string StatusOf(const json::object& service, std::string_view id) {
  const json::object* entry = FindHistoryEntry(service, id);
  return entry == nullptr ? "(none)" : std::string(StringOr(*entry, "status", ""));
}

TEST(ServiceDeployments, ADeploymentRunsUntilItsRolloutCompletes) {
  json::object service = Service({Deployment("ecs-svc/1", "PRIMARY", "IN_PROGRESS", 100)});
  EXPECT_TRUE(SyncDeploymentHistory(service, 100));
  EXPECT_EQ(StatusOf(service, "ecs-svc/1"), "IN_PROGRESS");
  EXPECT_FALSE(SyncDeploymentHistory(service, 101));  // nothing new

  service["deployments"].as_array()[0].as_object()["rolloutState"] = "COMPLETED";
  EXPECT_TRUE(SyncDeploymentHistory(service, 130));
  EXPECT_EQ(StatusOf(service, "ecs-svc/1"), "SUCCESSFUL");
  EXPECT_EQ(FindHistoryEntry(service, "ecs-svc/1")->at("finishedAt"), 130.0);
}

TEST(ServiceDeployments, ANewerDeploymentStopsTheOneInProgressAndNamesItsSource) {
  json::object service = Service({Deployment("ecs-svc/1", "PRIMARY", "IN_PROGRESS", 100)});
  SyncDeploymentHistory(service, 100);
  service["deployments"] = json::array{Deployment("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 200),
                                       Deployment("ecs-svc/1", "ACTIVE", "IN_PROGRESS", 100)};
  SyncDeploymentHistory(service, 200);
  ASSERT_EQ(History(service).size(), 2u);
  EXPECT_EQ(StringOr(History(service)[0].as_object(), "id", ""), "ecs-svc/2");  // newest first
  EXPECT_EQ(StatusOf(service, "ecs-svc/2"), "IN_PROGRESS");
  EXPECT_EQ(StatusOf(service, "ecs-svc/1"), "STOPPED");
  EXPECT_EQ(FindHistoryEntry(service, "ecs-svc/2")->at("sourceRevisions"),
            json::array{"ecs-svc/1"});
}

TEST(ServiceDeployments, ACircuitBreakerRollbackBelongsToTheFailedDeployment) {
  json::object service = Service({Deployment("ecs-svc/1", "PRIMARY", "COMPLETED", 100)});
  SyncDeploymentHistory(service, 100);
  service["deployments"] = json::array{Deployment("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 200),
                                       Deployment("ecs-svc/1", "ACTIVE", "COMPLETED", 100)};
  SyncDeploymentHistory(service, 200);
  // The breaker trips: 2 FAILED, a rollback deployment of 1's revision.
  json::object failed = Deployment("ecs-svc/2", "ACTIVE", "FAILED", 200,
                                   "ECS deployment circuit breaker: tasks failed to start.");
  json::object rollback = Deployment("ecs-svc/3", "PRIMARY", "IN_PROGRESS", 300,
                                     std::string(kRollbackReason) + "ecs-svc/1.");
  EXPECT_EQ(RevisionIdOf(service, rollback), "ecs-svc/1");
  service["deployments"] = json::array{rollback, failed};
  SyncDeploymentHistory(service, 300);
  EXPECT_EQ(History(service).size(), 2u) << "a rollback is no deployment of its own";
  EXPECT_EQ(StatusOf(service, "ecs-svc/2"), "ROLLBACK_IN_PROGRESS");
  const json::object& rolled = *FindHistoryEntry(service, "ecs-svc/2");
  EXPECT_EQ(rolled.at("rollback").at("revision"), "ecs-svc/1");
  EXPECT_EQ(rolled.at("rollback").at("reason"),
            "ECS deployment circuit breaker: tasks failed to start.");

  json::object& running = service["deployments"].as_array()[0].as_object();
  running["rolloutState"] = "COMPLETED";
  running["rolloutStateReason"] = "ECS deployment ecs-svc/3 completed.";
  SyncDeploymentHistory(service, 360);
  EXPECT_EQ(StatusOf(service, "ecs-svc/2"), "ROLLBACK_SUCCESSFUL");
  EXPECT_EQ(RevisionIdOf(service, running), "ecs-svc/1") << "after its reason changed";

  json::object view = ServiceDeploymentView(ArnScope{"us-east-1", "0"}, "c", service, rolled,
                                            [](std::string_view) { return RevisionCounts{}; });
  EXPECT_EQ(view.at("deploymentCircuitBreaker").at("status"), "TRIGGERED");
  EXPECT_EQ(view.at("rollback").at("serviceRevisionArn"),
            "arn:aws:ecs:us-east-1:0:service-revision/c/web/1");
}

TEST(ServiceDeployments, DeletingTheServiceStopsWhatIsInProgress) {
  json::object service = Service({Deployment("ecs-svc/1", "PRIMARY", "IN_PROGRESS", 100)});
  SyncDeploymentHistory(service, 100);
  service["status"] = "DRAINING";
  EXPECT_TRUE(SyncDeploymentHistory(service, 110));
  EXPECT_EQ(StatusOf(service, "ecs-svc/1"), "STOPPED");
}

TEST(ServiceDeployments, TheHistoryKeepsTheNewestFinishedOnes) {
  json::object service = Service({});
  for (int i = 1; i <= static_cast<int>(kMaxHistory) + 5; ++i) {
    service["deployments"] =
        json::array{Deployment("ecs-svc/" + std::to_string(i), "PRIMARY", "COMPLETED", 100.0 * i)};
    SyncDeploymentHistory(service, 100.0 * i);
  }
  EXPECT_EQ(History(service).size(), kMaxHistory);
  EXPECT_EQ(StatusOf(service, "ecs-svc/1"), "(none)");
  EXPECT_EQ(StatusOf(service, "ecs-svc/55"), "SUCCESSFUL");
}

TEST(ServiceDeployments, ConsistentContainersRunTheDigestTheFirstTaskResolved) {
  json::object service = Service({Deployment("ecs-svc/1", "PRIMARY", "IN_PROGRESS", 100)});
  SyncDeploymentHistory(service, 100);
  std::vector<RevisionContainer> containers =
      RevisionContainers(json::parse(R"({"containerDefinitions": [
          {"name": "app", "image": "127.0.0.1:5000/app:latest"},
          {"name": "log", "image": "127.0.0.1:5000/log:1", "versionConsistency": "disabled"},
          {"name": "fixed", "image": "127.0.0.1:5000/x@sha256:aa"}]})")
                             .as_object());
  int asked = 0;
  auto none = [&](std::string_view) -> std::optional<std::string> {
    ++asked;
    return std::nullopt;
  };
  EXPECT_TRUE(ResolveContainerImages(service, "ecs-svc/1", containers, none));
  EXPECT_EQ(asked, 1) << "only a consistent container named by tag is looked up";
  EXPECT_EQ(PinnedImages(service, "ecs-svc/1"),
            json::parse(R"({"fixed": "127.0.0.1:5000/x@sha256:aa"})"));

  auto reported = [](std::string_view name) -> std::optional<std::string> {
    if (name == "app") return "sha256:bb";
    return std::nullopt;
  };
  EXPECT_TRUE(ResolveContainerImages(service, "ecs-svc/1", containers, reported));
  EXPECT_FALSE(ResolveContainerImages(service, "ecs-svc/1", containers, reported));
  EXPECT_EQ(PinnedImages(service, "ecs-svc/1"),
            json::parse(R"({"fixed": "127.0.0.1:5000/x@sha256:aa",
                            "app": "127.0.0.1:5000/app:latest@sha256:bb"})"));
  json::object revision = ServiceRevisionView(ArnScope{"us-east-1", "0"}, "c", service,
                                              *FindHistoryEntry(service, "ecs-svc/1"));
  EXPECT_EQ(revision.at("containerImages").as_array().size(), 3u);
  EXPECT_EQ(revision.at("serviceRevisionArn"), "arn:aws:ecs:us-east-1:0:service-revision/c/web/1");
}

TEST(ServiceDeployments, ArnsNameClusterServiceAndDeployment) {
  const ArnScope scope{"us-east-1", "0"};
  std::string arn = ServiceDeploymentArn(scope, "c", "web", "ecs-svc/42");
  EXPECT_EQ(arn, "arn:aws:ecs:us-east-1:0:service-deployment/c/web/42");
  auto ref = ParseServiceDeploymentArn(arn, "service-deployment");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->cluster, "c");
  EXPECT_EQ(ref->service, "web");
  EXPECT_EQ(ref->deployment_id, "ecs-svc/42");
  EXPECT_FALSE(ParseServiceDeploymentArn(arn, "service-revision"));
  EXPECT_FALSE(ParseServiceDeploymentArn("web", "service-deployment"));
  EXPECT_FALSE(ParseServiceDeploymentArn("arn:aws:ecs:r:0:service-deployment/c/web/x1",
                                         "service-deployment"));
}

}  // namespace
}  // namespace berth::server::api
