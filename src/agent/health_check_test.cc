#include "agent/health_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace berth::agent {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;

std::optional<HealthCheckSpec> Parse(std::string_view definition) {
  return ParseHealthCheck(json::parse(definition).as_object());
}

TEST(ParseHealthCheckTest, EcsDefaultsAndBothCommandForms) {
  auto shell = Parse(R"({"healthCheck":{"command":["CMD-SHELL","test -f /ready"]}})");
  ASSERT_TRUE(shell);
  EXPECT_THAT(shell->command, ElementsAre("/bin/sh", "-c", "test -f /ready"));
  EXPECT_EQ(shell->interval_millis, 30'000);
  EXPECT_EQ(shell->timeout_millis, 5'000);
  EXPECT_EQ(shell->retries, 3);
  EXPECT_EQ(shell->start_period_millis, 0);

  auto exec = Parse(
      R"({"healthCheck":{"command":["CMD","cat","/ready"],"interval":5,"timeout":2,
          "retries":1,"startPeriod":10}})");
  ASSERT_TRUE(exec);
  EXPECT_THAT(exec->command, ElementsAre("cat", "/ready"));
  EXPECT_EQ(exec->interval_millis, 5'000);
  EXPECT_EQ(exec->timeout_millis, 2'000);
  EXPECT_EQ(exec->retries, 1);
  EXPECT_EQ(exec->start_period_millis, 10'000);

  EXPECT_FALSE(Parse(R"({"name":"x"})"));
  EXPECT_FALSE(Parse(R"({"healthCheck":{"command":["curl","-f"]}})"));
  EXPECT_FALSE(Parse(R"({"healthCheck":{"command":["CMD"]}})"));
}

// Each case: a check spec, results as (seconds after start, passed), and
// the health after each result.
struct TrackerCase {
  const char* name;
  int retries;
  int start_period_seconds;
  std::vector<std::pair<int, bool>> results;
  std::vector<Health> after;
};

class HealthTrackerTest : public ::testing::TestWithParam<TrackerCase> {};

TEST_P(HealthTrackerTest, Transitions) {
  const TrackerCase& c = GetParam();
  HealthCheckSpec spec;
  spec.retries = c.retries;
  spec.start_period_millis = c.start_period_seconds * 1000;
  spec.interval_millis = 5000;
  constexpr int64_t kStart = 1'000'000;
  HealthTracker tracker(spec, kStart);
  EXPECT_EQ(tracker.health(), Health::kUnknown);
  EXPECT_EQ(tracker.next_check_at(), kStart + 5000);
  std::vector<Health> seen;
  for (auto [at, passed] : c.results) {
    tracker.Record(passed, kStart + at * 1000);
    EXPECT_EQ(tracker.next_check_at(), kStart + at * 1000 + 5000);
    seen.push_back(tracker.health());
  }
  EXPECT_EQ(seen, c.after);
}

constexpr Health U = Health::kUnknown, H = Health::kHealthy, X = Health::kUnhealthy;

INSTANTIATE_TEST_SUITE_P(
    Cases, HealthTrackerTest,
    ::testing::Values(TrackerCase{"SuccessIsHealthy", 3, 0, {{5, true}}, {H}},
                      TrackerCase{"RetriesFailuresInARowAreUnhealthy",
                                  3,
                                  0,
                                  {{5, false}, {10, false}, {15, false}},
                                  {U, U, X}},
                      TrackerCase{"ASuccessResetsTheCount",
                                  2,
                                  0,
                                  {{5, false}, {10, true}, {15, false}, {20, false}},
                                  {U, H, H, X}},
                      TrackerCase{"UnhealthyRecovers", 1, 0, {{5, false}, {10, true}}, {X, H}},
                      TrackerCase{"FailuresInTheStartPeriodDoNotCount",
                                  1,
                                  12,
                                  {{5, false}, {10, false}, {15, false}},
                                  {U, U, X}},
                      TrackerCase{
                          "ASuccessEndsTheStartPeriod", 1, 60, {{5, true}, {10, false}}, {H, X}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TaskHealthTest, EssentialContainersWithChecksDecide) {
  EXPECT_EQ(TaskHealth({}), Health::kUnknown);
  EXPECT_EQ(TaskHealth({{true, std::nullopt}}), Health::kUnknown);
  EXPECT_EQ(TaskHealth({{true, H}, {true, std::nullopt}}), Health::kHealthy);
  EXPECT_EQ(TaskHealth({{true, H}, {true, U}}), Health::kUnknown);
  EXPECT_EQ(TaskHealth({{true, H}, {true, X}}), Health::kUnhealthy);
  EXPECT_EQ(TaskHealth({{true, U}, {true, X}}), Health::kUnhealthy);
  // A non-essential container's health does not count.
  EXPECT_EQ(TaskHealth({{true, H}, {false, X}}), Health::kHealthy);
  EXPECT_EQ(TaskHealth({{false, H}}), Health::kUnknown);
}

}  // namespace
}  // namespace berth::agent
