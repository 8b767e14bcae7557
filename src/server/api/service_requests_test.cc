// The stateless rules of CreateService / UpdateService and the records they
// build.
#include "server/api/service_requests.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <set>
#include <string>

#include "awsjson/endpoint.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {
namespace {

using awsjson::ApiException;
namespace json = boost::json;

json::object Parse(std::string_view text) { return json::parse(text).as_object(); }

TEST(ServiceRulesTest, Names) {
  ValidateServiceName("web_1-a");
  ValidateServiceName(std::string(255, 'a'));
  EXPECT_THROW(ValidateServiceName(std::string(256, 'a')), ApiException);
  EXPECT_THROW(ValidateServiceName(""), ApiException);
  EXPECT_THROW(ValidateServiceName("a.b"), ApiException);
}

TEST(ServiceRulesTest, DesiredCount) {
  ValidateDesiredCount(0, kReplica, true);
  ValidateDesiredCount(5000, kReplica, true);
  ValidateDesiredCount(std::nullopt, kReplica, false);
  ValidateDesiredCount(std::nullopt, kDaemon, true);
  EXPECT_THROW(ValidateDesiredCount(std::nullopt, kReplica, true), ApiException);
  EXPECT_THROW(ValidateDesiredCount(-1, kReplica, true), ApiException);
  EXPECT_THROW(ValidateDesiredCount(5001, kReplica, true), ApiException);
  EXPECT_THROW(ValidateDesiredCount(1, kDaemon, true), ApiException);
}

TEST(ServiceRulesTest, DeploymentConfigurationDefaultsMergeAndRanges) {
  json::object replica = DeploymentConfigurationOf(nullptr, nullptr, kReplica);
  EXPECT_EQ(replica.at("maximumPercent").as_int64(), 200);
  EXPECT_EQ(replica.at("minimumHealthyPercent").as_int64(), 100);
  json::object daemon = DeploymentConfigurationOf(nullptr, nullptr, kDaemon);
  EXPECT_EQ(daemon.at("maximumPercent").as_int64(), 100);
  EXPECT_EQ(daemon.at("minimumHealthyPercent").as_int64(), 0);
  json::object given = Parse(R"({"minimumHealthyPercent": 50})");
  json::object merged = DeploymentConfigurationOf(&given, &replica, kReplica);
  EXPECT_EQ(merged.at("maximumPercent").as_int64(), 200);
  EXPECT_EQ(merged.at("minimumHealthyPercent").as_int64(), 50);
  for (std::string_view bad : {R"({"maximumPercent": 99})", R"({"minimumHealthyPercent": 101})",
                               R"({"minimumHealthyPercent": -1})"}) {
    json::object b = Parse(bad);
    EXPECT_THROW(DeploymentConfigurationOf(&b, nullptr, kReplica), ApiException) << bad;
  }
  json::object wide = Parse(R"({"maximumPercent": 200})");
  EXPECT_THROW(DeploymentConfigurationOf(&wide, nullptr, kDaemon), ApiException);
}

TEST(ServiceRulesTest, PlacementGoesThroughTheSchedulersChecks) {
  const json::object td = Parse(R"({"family": "f", "containerDefinitions": [
      {"name": "a", "image": "busybox", "memory": 64}]})");
  ValidateServicePlacement(
      Parse(R"({"c": [{"type": "memberOf", "expression": "attribute:a == b"}]})")
          .at("c")
          .as_array(),
      Parse(R"({"s": [{"type": "binpack", "field": "memory"}]})").at("s").as_array(), td, kReplica,
      "service:s");
  auto refused = [&](std::string_view constraints, std::string_view strategies,
                     std::string_view scheduling) {
    json::object c = Parse(constraints), s = Parse(strategies);
    EXPECT_THROW(ValidateServicePlacement(c.at("l").as_array(), s.at("l").as_array(), td,
                                          scheduling, "service:s"),
                 ApiException)
        << constraints << " " << strategies;
  };
  refused(R"({"l": [{"type": "memberOf", "expression": "(("}]})", R"({"l": []})", kReplica);
  refused(R"({"l": [{"type": "nearby"}]})", R"({"l": []})", kReplica);
  refused(R"({"l": []})", R"({"l": [{"type": "spread", "field": ""}, {"type": "best"}]})",
          kReplica);
  refused(R"({"l": []})", R"({"l": [{"type": "random"}]})", kDaemon);
  json::array many;
  for (int i = 0; i < 11; ++i) many.push_back(json::object{{"type", "distinctInstance"}});
  EXPECT_THROW(ValidateServicePlacement(many, {}, td, kReplica, "service:s"), ApiException);
}

TEST(ServiceRulesTest, LaunchOptions) {
  ValidateLaunchOptions(Parse(R"({"launchType": "EC2", "deploymentController": {"type": "ECS"}})"));
  for (std::string_view bad : {R"({"launchType": "FARGATE"})", R"({"platformVersion": "LATEST"})",
                               R"({"capacityProviderStrategy": [{"capacityProvider": "x"}]})",
                               R"({"deploymentController": {"type": "CODE_DEPLOY"}})"}) {
    EXPECT_THROW(ValidateLaunchOptions(Parse(bad)), ApiException) << bad;
  }
}

TEST(ServiceRulesTest, DeploymentIdsLookLikeEcs) {
  std::mt19937_64 random(7);
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    std::string id = NewDeploymentId(random);
    ASSERT_EQ(id.size(), 8u + 19u) << id;
    EXPECT_TRUE(id.starts_with("ecs-svc/")) << id;
    EXPECT_NE(id[8], '0');
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

TEST(ServiceRulesTest, NamesFromArnsOfEitherFormat) {
  EXPECT_EQ(ServiceNameOf("arn:aws:ecs:us-east-1:1:service/c/web"), "web");
  EXPECT_EQ(ServiceNameOf("arn:aws:ecs:us-east-1:1:service/web"), "web");
  EXPECT_EQ(ServiceNameOf("web"), "web");
}

TEST(ServiceRecordTest, NewRecordAndDeployments) {
  ArnScope scope;
  json::object in = Parse(R"({"serviceName": "web", "desiredCount": 2, "role": "r",
                              "tags": [{"key": "k", "value": "v"}]})");
  ServiceInput input{&scope, "c", &in, "arn:td:1", "ecs-svc/1", "me", 10.0, "text"};
  json::object record = NewServiceRecord(input);
  ServiceRecord service(record);
  EXPECT_EQ(service.name(), "web");
  EXPECT_TRUE(service.is_active());
  EXPECT_EQ(service.scheduling_strategy(), kReplica);
  EXPECT_EQ(service.desired_count(), 2);
  EXPECT_EQ(service.group(), "service:web");
  EXPECT_EQ(service.request_text(), "text");
  EXPECT_EQ(record.at("roleArn").as_string(), "arn:aws:iam::000000000000:role/r");
  EXPECT_TRUE(service.owns_task("service:web", ""));
  EXPECT_TRUE(service.owns_task("family:f", "ecs-svc/1"));
  EXPECT_FALSE(service.owns_task("family:f", "ecs-svc/2"));

  MutableServiceRecord mutable_record(record);
  mutable_record.AddPrimaryDeployment(Parse(R"({"id": "ecs-svc/2", "status": "PRIMARY"})"), 11.0);
  mutable_record.SetDesiredCount(5, 12.0);
  const json::array& deployments = service.deployments();
  ASSERT_EQ(deployments.size(), 2u);
  EXPECT_EQ(deployments[0].as_object().at("desiredCount").as_int64(), 5);
  EXPECT_EQ(deployments[1].as_object().at("status").as_string(), "ACTIVE");
  EXPECT_EQ(deployments[1].as_object().at("desiredCount").as_int64(), 2);
  EXPECT_TRUE(service.owns_task("", "ecs-svc/2"));

  EXPECT_EQ(service.inactive_at_millis(), std::nullopt);
  mutable_record.SetStatus(kInactive, 20.0);
  EXPECT_EQ(service.inactive_at_millis(), 20000);
}

}  // namespace
}  // namespace berth::server::api
