// EcsApi services over an in-memory store: create (idempotent or not),
// update deployments, delete and drain, the clean-up, counts seen by the
// cluster, and a reload from the store.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

#include "server/api/ecs_api.h"
#include "server/api/ecs_api_testing.h"

namespace berth::server::api {
namespace {

using awsjson::ApiException;
namespace json = boost::json;

class EcsServicesTest : public testing::EcsApiTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.Load().ok());
    Call("CreateCluster", R"({"clusterName": "c"})");
    Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
        {"name": "a", "image": "busybox", "cpu": 256, "memory": 256}]})");
  }

  // The __type of the ApiException op throws; "" when it succeeds.
  std::string ErrorOf(std::string_view op, std::string_view body) {
    try {
      Call(op, body);
    } catch (const ApiException& e) {
      return e.error().type;
    }
    return "";
  }

  json::object Describe(std::string_view name) {
    json::object out =
        Call("DescribeServices", R"({"cluster": "c", "services": [")" + std::string(name) + "\"]}");
    EXPECT_EQ(out.at("services").as_array().size(), 1u);
    return out.at("services").as_array().at(0).as_object();
  }
};

constexpr std::string_view kCreate =
    R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f", "desiredCount": 0})";

TEST_F(EcsServicesTest, CreateIsIdempotentOnlyForTheSameRequest) {
  json::object first = Call("CreateService", kCreate).at("service").as_object();
  EXPECT_EQ(first.at("serviceArn").as_string(), "arn:aws:ecs:us-east-1:000000000000:service/c/s");
  EXPECT_FALSE(first.contains("berthRequest"));
  json::object again = Call("CreateService", kCreate).at("service").as_object();
  EXPECT_EQ(again.at("deployments"), first.at("deployments"));
  EXPECT_EQ(ErrorOf("CreateService",
                    R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f",
                        "desiredCount": 1})"),
            "InvalidParameterException");
  EXPECT_EQ(ErrorOf("CreateService", R"({"cluster": "c", "serviceName": "t",
                                         "taskDefinition": "nope", "desiredCount": 0})"),
            "ClientException");
  EXPECT_EQ(ErrorOf("CreateService", R"({"cluster": "c", "serviceName": "t",
                                         "taskDefinition": "f", "desiredCount": 0,
                                         "placementStrategy": [{"type": "binpack",
                                                                "field": "disk"}]})"),
            "InvalidParameterException");
  EXPECT_EQ(Call("ListServices", R"({"cluster": "c"})").at("serviceArns").as_array().size(), 1u);
}

TEST_F(EcsServicesTest, UpdateAddsAPrimaryDeploymentForANewDefinitionOnly) {
  Call("CreateService", kCreate);
  json::object scaled =
      Call("UpdateService", R"({"cluster": "c", "service": "s", "desiredCount": 3})")
          .at("service")
          .as_object();
  ASSERT_EQ(scaled.at("deployments").as_array().size(), 1u);
  EXPECT_EQ(scaled.at("deployments").as_array()[0].as_object().at("desiredCount").as_int64(), 3);
  Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
      {"name": "a", "image": "busybox:2", "cpu": 256, "memory": 256}]})");
  json::object rolled = Call("UpdateService", R"({"cluster": "c", "service": "s",
                                                 "taskDefinition": "f"})")
                            .at("service")
                            .as_object();
  const json::array& deployments = rolled.at("deployments").as_array();
  ASSERT_EQ(deployments.size(), 2u);
  EXPECT_EQ(deployments[0].as_object().at("status").as_string(), "PRIMARY");
  EXPECT_EQ(deployments[1].as_object().at("status").as_string(), "ACTIVE");
  EXPECT_EQ(deployments[0].as_object().at("desiredCount").as_int64(), 3);
  // The same definition again is no new deployment.
  json::object same = Call("UpdateService", R"({"cluster": "c", "service": "s",
                                               "taskDefinition": "f"})")
                          .at("service")
                          .as_object();
  EXPECT_EQ(same.at("deployments").as_array().size(), 2u);
}

TEST_F(EcsServicesTest, DeleteDrainsWhileTasksAreActiveAndCleanUpForgetsLater) {
  Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
      {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
      {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]})");
  json::object created =
      Call("CreateService",
           R"({"cluster": "c", "serviceName": "s", "taskDefinition": "f", "desiredCount": 1})");
  // A task of its deployment, as the service scheduler (not run here)
  // would start it.
  const std::string deployment(
      created.at("service").at("deployments").as_array()[0].at("id").as_string());
  json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f",
      "group": "service:s", "startedBy": ")" +
                                         deployment + "\"}");
  std::string task(run.at("tasks").as_array()[0].as_object().at("taskArn").as_string());
  EXPECT_EQ(Describe("s").at("pendingCount").as_int64(), 1);
  EXPECT_EQ(ErrorOf("DeleteService", R"({"cluster": "c", "service": "s"})"),
            "InvalidParameterException");
  json::object deleted = Call("DeleteService", R"({"cluster": "c", "service": "s", "force": true})")
                             .at("service")
                             .as_object();
  EXPECT_EQ(deleted.at("status").as_string(), "DRAINING");
  EXPECT_EQ(deleted.at("desiredCount").as_int64(), 0);
  EXPECT_EQ(ErrorOf("CreateService", kCreate), "InvalidParameterException");
  Call("StopTask", R"({"cluster": "c", "task": ")" + task + "\"}");
  EXPECT_EQ(Describe("s").at("status").as_string(), "INACTIVE");
  // The clean-up writes INACTIVE down, then forgets it an hour later.
  api_.CleanUpStoppedTasks(kNow + 1000);
  EcsApi reloaded{*store_, tracker_, ArnScope{}};
  ASSERT_TRUE(reloaded.Load().ok());
  json::object in = json::parse(R"({"cluster": "c", "services": ["s"]})").as_object();
  json::object seen =
      reloaded.Call("DescribeServices", in, CallContext{"key", kNow}).body.as_object();
  EXPECT_EQ(seen.at("services").as_array()[0].as_object().at("status").as_string(), "INACTIVE");
  api_.CleanUpStoppedTasks(kNow + 1000 + 61 * 60 * 1000);
  json::object gone = Call("DescribeServices", R"({"cluster": "c", "services": ["s"]})");
  EXPECT_TRUE(gone.at("services").as_array().empty());
  EXPECT_EQ(gone.at("failures").as_array()[0].as_object().at("reason").as_string(), "MISSING");
}

TEST_F(EcsServicesTest, ClusterCountsActiveServices) {
  Call("CreateService", kCreate);
  json::object clusters = Call("DescribeClusters", R"({"clusters": ["c"]})");
  EXPECT_EQ(clusters.at("clusters").as_array()[0].as_object().at("activeServicesCount").as_int64(),
            1);
  EXPECT_EQ(ErrorOf("DeleteCluster", R"({"cluster": "c"})"), "ClusterContainsServicesException");
  Call("DeleteService", R"({"cluster": "c", "service": "s"})");
  clusters = Call("DescribeClusters", R"({"clusters": ["c"]})");
  EXPECT_EQ(clusters.at("clusters").as_array()[0].as_object().at("activeServicesCount").as_int64(),
            0);
  EXPECT_EQ(ErrorOf("DeleteCluster", R"({"cluster": "c"})"), "");
}

}  // namespace
}  // namespace berth::server::api
