#include "agent/assignments.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::agent {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kArn = "arn:aws:ecs:us-east-1:000000000000:task/trn1/0a1b2c";

std::string Answer(std::string_view task_fields) {
  return R"({"version":"boot-1:7","tasks":[{"taskArn":")" + std::string(kArn) + "\"," +
         std::string(task_fields) + "}]}";
}

TEST(ParseAssignmentsTest, ReadsTheVersionAndEveryTask) {
  auto parsed = ParseAssignments(Answer(
      R"("taskDefinition":{"containerDefinitions":[{"name":"train"}],"volumes":[{"name":"data"}]},)"
      R"("containers":[{"name":"train","neuronDeviceIds":["0"]}],)"
      R"("overrides":{"containerOverrides":[{"name":"train","command":["x"]}]})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->version, "boot-1:7");
  ASSERT_EQ(parsed->tasks.size(), 1u);
  EXPECT_EQ(parsed->tasks[0].at("taskArn").as_string(), kArn);
}

TEST(ParseAssignmentsTest, AnEmptyListIsNoTasks) {
  auto parsed = ParseAssignments(R"({"version":"v","tasks":[]})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->tasks.empty());
}

// A delta answer (delta=1) names the tasks that did not change by ARN, and
// the credentials of every task's roles come beside the tasks.
TEST(ParseAssignmentsTest, ReadsUnchangedTasksAndCredentials) {
  auto parsed = ParseAssignments(R"({"version":"v","tasks":[],"unchangedTaskArns":[")" +
                                 std::string(kArn) + R"("],"credentials":{")" + std::string(kArn) +
                                 R"(":{"roleCredentials":{"AccessKeyId":"AKIA"}}}})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_THAT(parsed->unchanged_task_arns, ::testing::ElementsAre(kArn));
  EXPECT_EQ(parsed->credentials.at(kArn).at("roleCredentials").at("AccessKeyId"), "AKIA");
}

TEST(ParseAssignmentsTest, RefusesAnAnswerWithoutItsParts) {
  for (const char* body :
       {"", "[]", R"({"tasks":[]})", R"({"version":"v"})", R"({"version":1,"tasks":[]})",
        R"({"version":"v","tasks":{}})", R"({"version":"v","tasks":[1]})",
        R"({"version":"v","tasks":[],"unchangedTaskArns":"a"})",
        R"({"version":"v","tasks":[],"unchangedTaskArns":[1]})",
        R"({"version":"v","tasks":[],"credentials":[]})",
        R"({"version":"v","tasks":[],"credentials":{"a":1}})",
        R"({"version":"v","tasks":[],"credentials":{"a":{"roleCredentials":"k"}}})"}) {
    EXPECT_FALSE(ParseAssignments(body).ok()) << body;
  }
}

// Task ids and container and volume names become paths under the data
// folder: one that could climb out of it is refused, and so is the whole
// answer, so the tasks that run keep running.
TEST(ParseAssignmentsTest, RefusesNamesThatAreNotSafePathParts) {
  auto bad_id =
      ParseAssignments(R"({"version":"v","tasks":[{"taskArn":"arn:aws:ecs:r:1:task/c/..",)"
                       R"("taskDefinition":{"containerDefinitions":[{"name":"a"}]}}]})");
  EXPECT_THAT(bad_id.status().message(), HasSubstr("names no task id"));
  auto bad_container =
      ParseAssignments(Answer(R"("taskDefinition":{"containerDefinitions":[{"name":"../x"}]})"));
  EXPECT_THAT(bad_container.status().message(), HasSubstr("containerDefinitions: name \"../x\""));
  auto bad_volume = ParseAssignments(Answer(
      R"("taskDefinition":{"containerDefinitions":[{"name":"a"}],"volumes":[{"name":"."}]})"));
  EXPECT_THAT(bad_volume.status().message(), HasSubstr("volumes: name \".\""));
}

// What the task runner dereferences without looking is checked first.
TEST(ParseAssignmentsTest, RefusesListsOfTheWrongShape) {
  for (const char* fields : {
           R"("taskDefinition":[])",
           R"("taskDefinition":{})",
           R"("taskDefinition":{"containerDefinitions":[1]})",
           R"("taskDefinition":{"containerDefinitions":[{"name":"a"}],"volumes":[[]]})",
           R"("taskDefinition":{"containerDefinitions":[{"name":"a"}]},"containers":["a"])",
           R"("taskDefinition":{"containerDefinitions":[{"name":"a"}]},"overrides":[])",
           R"("taskDefinition":{"containerDefinitions":[{"name":"a"}]},)"
           R"("overrides":{"containerOverrides":[null]})",
       }) {
    auto parsed = ParseAssignments(Answer(fields));
    EXPECT_FALSE(parsed.ok()) << fields;
    EXPECT_THAT(parsed.status().message(), HasSubstr("task 0a1b2c")) << fields;
  }
}

}  // namespace
}  // namespace berth::agent
