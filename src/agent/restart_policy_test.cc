#include "agent/restart_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace berth::agent {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

RestartPolicy Parse(std::string_view definition, double scale = 1.0) {
  return ParseRestartPolicy(json::parse(definition).as_object(), scale);
}

constexpr int64_t kStart = 1'700'000'000'000;  // when the container (last) started
constexpr int64_t kSecond = 1000;

TEST(ParseRestartPolicyTest, DisabledWithoutAnEnabledPolicy) {
  EXPECT_FALSE(Parse(R"({"name":"main"})").enabled);
  EXPECT_FALSE(Parse(R"({"restartPolicy":{"enabled":false,"restartAttemptPeriod":60}})").enabled);
  EXPECT_FALSE(Parse(R"({"restartPolicy":{}})").enabled);
}

TEST(ParseRestartPolicyTest, EcsDefaultPeriodIs300Seconds) {
  RestartPolicy policy = Parse(R"({"restartPolicy":{"enabled":true}})");
  EXPECT_TRUE(policy.enabled);
  EXPECT_THAT(policy.ignored_exit_codes, IsEmpty());
  EXPECT_EQ(policy.attempt_period_millis, 300 * kSecond);
}

TEST(ParseRestartPolicyTest, ReadsCodesAndPeriodAndAppliesTheScale) {
  const char* definition =
      R"({"restartPolicy":{"enabled":true,"ignoredExitCodes":[0,143],"restartAttemptPeriod":60}})";
  RestartPolicy policy = Parse(definition);
  EXPECT_THAT(policy.ignored_exit_codes, ElementsAre(0, 143));
  EXPECT_EQ(policy.attempt_period_millis, 60 * kSecond);
  // The agent's e2e tests shrink ECS's 60 s minimum to 1.2 s.
  EXPECT_EQ(Parse(definition, 0.02).attempt_period_millis, 1200);
}

// The decision table: (policy, exit code, how long it ran) -> decision.
TEST(DecideRestartTest, Table) {
  const RestartPolicy off = Parse(R"({"restartPolicy":{"enabled":false}})");
  const RestartPolicy on = Parse(
      R"({"restartPolicy":{"enabled":true,"ignoredExitCodes":[0,42],"restartAttemptPeriod":60}})");
  const RestartPolicy by_default = Parse(R"({"restartPolicy":{"enabled":true}})");
  struct Row {
    const char* what;
    const RestartPolicy& policy;
    std::optional<int> exit_code;
    int64_t ran_millis;
    RestartDecision want;
  };
  const Row rows[] = {
      {"disabled, however long it ran", off, 1, 3600 * kSecond, RestartDecision::kDisabled},
      {"failed after the period", on, 1, 61 * kSecond, RestartDecision::kRestart},
      {"exactly the period counts as reached", on, 1, 60 * kSecond, RestartDecision::kRestart},
      {"just short of the period", on, 1, 60 * kSecond - 1, RestartDecision::kExitedTooSoon},
      {"exited at once", on, 1, 0, RestartDecision::kExitedTooSoon},
      {"ignored code, after the period", on, 42, 600 * kSecond, RestartDecision::kIgnoredExitCode},
      {"ignored success", on, 0, 600 * kSecond, RestartDecision::kIgnoredExitCode},
      {"ignored code wins over too soon", on, 42, 1, RestartDecision::kIgnoredExitCode},
      {"success is restarted unless ignored", by_default, 0, 300 * kSecond,
       RestartDecision::kRestart},
      {"killed (128+9)", on, 137, 120 * kSecond, RestartDecision::kRestart},
      {"unknown exit code is never ignored", on, std::nullopt, 61 * kSecond,
       RestartDecision::kRestart},
      {"default period: 299 s is too soon", by_default, 1, 299 * kSecond,
       RestartDecision::kExitedTooSoon},
      {"default period: 300 s is enough", by_default, 1, 300 * kSecond, RestartDecision::kRestart},
      {"a clock stepped back reads as too soon", on, 1, -5 * kSecond,
       RestartDecision::kExitedTooSoon},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(DecideRestart(row.policy, row.exit_code, kStart, kStart + row.ran_millis), row.want)
        << row.what;
  }
}

TEST(DecideRestartTest, EachDecisionButRestartSaysWhy) {
  EXPECT_EQ(RestartDecisionText(RestartDecision::kRestart), "");
  for (RestartDecision d : {RestartDecision::kDisabled, RestartDecision::kIgnoredExitCode,
                            RestartDecision::kExitedTooSoon}) {
    EXPECT_FALSE(RestartDecisionText(d).empty());
  }
}

}  // namespace
}  // namespace berth::agent
