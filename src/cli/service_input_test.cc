#include "cli/service_input.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <functional>

namespace berth::cli {
namespace {

namespace json = boost::json;

// Flags for service "web" of task definition "web", then as set says.
ServiceFlags Web(const std::function<void(ServiceFlags&)>& set = {}) {
  ServiceFlags flags;
  flags.name = "web";
  flags.task_definition = "web";
  if (set) set(flags);
  return flags;
}

TEST(ServiceInputTest, CreateCarriesEveryFlag) {
  auto input = CreateServiceInput("c", Web([](ServiceFlags& f) {
                                    f.task_definition = "web:3";
                                    f.desired_count = "4";
                                    f.max_percent = "150";
                                    f.min_healthy_percent = "50";
                                    f.circuit_breaker = f.rollback = true;
                                  }));
  ASSERT_TRUE(input.ok()) << input.status().message();
  EXPECT_EQ(json::value(*input), json::parse(R"({"cluster": "c", "serviceName": "web",
      "taskDefinition": "web:3", "schedulingStrategy": "REPLICA", "desiredCount": 4,
      "deploymentConfiguration": {"maximumPercent": 150, "minimumHealthyPercent": 50,
        "deploymentCircuitBreaker": {"enable": true, "rollback": true}}})"));
}

TEST(ServiceInputTest, CreateDefaultsToOneReplicaAndDaemonHasNoCount) {
  auto replica = CreateServiceInput("c", Web());
  ASSERT_TRUE(replica.ok());
  EXPECT_EQ(replica->at("desiredCount"), 1);
  EXPECT_FALSE(replica->contains("deploymentConfiguration"));
  auto daemon =
      CreateServiceInput("c", Web([](ServiceFlags& f) { f.scheduling_strategy = "DAEMON"; }));
  ASSERT_TRUE(daemon.ok());
  EXPECT_EQ(daemon->at("schedulingStrategy"), "DAEMON");
  EXPECT_FALSE(daemon->contains("desiredCount"));
}

TEST(ServiceInputTest, CreateRefusesBadValuesInOneLine) {
  auto message = [](const std::function<void(ServiceFlags&)>& set) {
    auto input = CreateServiceInput("c", Web(set));
    EXPECT_FALSE(input.ok());
    return input.ok() ? "" : input.status().message();
  };
  EXPECT_EQ(message([](ServiceFlags& f) { f.desired_count = "two"; }),
            "--desired-count two: not a whole number from 0 to 10000");
  EXPECT_EQ(message([](ServiceFlags& f) { f.desired_count = "-1"; }),
            "--desired-count -1: not a whole number from 0 to 10000");
  EXPECT_EQ(message([](ServiceFlags& f) { f.scheduling_strategy = "replica"; }),
            "--scheduling-strategy replica: REPLICA or DAEMON");
  EXPECT_EQ(message([](ServiceFlags& f) {
              f.scheduling_strategy = "DAEMON";
              f.desired_count = "2";
            }),
            "--desired-count: a DAEMON service runs one task per node");
  EXPECT_EQ(message([](ServiceFlags& f) { f.max_percent = "200"; }),
            "--max-percent and --min-healthy-percent go together");
  EXPECT_EQ(message([](ServiceFlags& f) {
              f.max_percent = "50";
              f.min_healthy_percent = "0";
            }),
            "--max-percent 50: not a whole number from 100 to 2000");
  EXPECT_EQ(message([](ServiceFlags& f) {
              f.max_percent = "200";
              f.min_healthy_percent = "101";
            }),
            "--min-healthy-percent 101: not a whole number from 0 to 100");
  EXPECT_EQ(message([](ServiceFlags& f) { f.rollback = true; }),
            "--rollback needs --circuit-breaker");
  EXPECT_EQ(message([](ServiceFlags& f) { f.task_definition.clear(); }),
            "--task-definition is required");
}

TEST(ServiceInputTest, UpdateCarriesOnlyWhatChanges) {
  ServiceFlags flags;
  flags.name = "web";
  EXPECT_FALSE(UpdateServiceInput("c", flags).ok());
  flags.desired_count = "0";
  auto input = UpdateServiceInput("c", flags);
  ASSERT_TRUE(input.ok());
  EXPECT_EQ(json::value(*input),
            json::parse(R"({"cluster": "c", "service": "web", "desiredCount": 0})"));
  auto forced = UpdateServiceInput("c", Web([](ServiceFlags& f) {
                                     f.task_definition = "web:4";
                                     f.force_new_deployment = true;
                                   }));
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->at("taskDefinition"), "web:4");
  EXPECT_EQ(forced->at("forceNewDeployment"), true);
  EXPECT_FALSE(forced->contains("desiredCount"));
  flags.desired_count = "1.5";
  EXPECT_EQ(UpdateServiceInput("c", flags).status().message(),
            "--desired-count 1.5: not a whole number from 0 to 10000");
}

}  // namespace
}  // namespace berth::cli
