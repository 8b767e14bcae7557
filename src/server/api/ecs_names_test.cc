#include "server/api/ecs_names.h"

#include <gtest/gtest.h>

#include "awsjson/endpoint.h"

namespace berth::server::api {

using awsjson::ApiException;
namespace {

namespace json = boost::json;

TEST(EcsNames, ClusterNameFromNameOrArn) {
  EXPECT_EQ(ClusterName("trn1"), "trn1");
  EXPECT_EQ(ClusterName("arn:aws:ecs:us-east-1:000000000000:cluster/trn1"), "trn1");
}

TEST(EcsNames, TaskDefinitionReferences) {
  auto latest = ParseTaskDefinitionRef("train");
  EXPECT_EQ(latest.family, "train");
  EXPECT_FALSE(latest.revision);
  auto third = ParseTaskDefinitionRef("train:3");
  EXPECT_EQ(*third.revision, 3);
  auto arn = ParseTaskDefinitionRef("arn:aws:ecs:us-east-1:000000000000:task-definition/train:7");
  EXPECT_EQ(arn.family, "train");
  EXPECT_EQ(*arn.revision, 7);
  EXPECT_THROW(ParseTaskDefinitionRef("train:0"), ApiException);
  EXPECT_THROW(ParseTaskDefinitionRef("train:x"), ApiException);
  EXPECT_THROW(ParseTaskDefinitionRef("bad name:1"), ApiException);
}

TEST(EcsNames, NameRules) {
  EXPECT_TRUE(IsValidName("trn1_cluster-A"));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName(std::string(256, 'a')));
  EXPECT_FALSE(IsValidName("a/b"));
}

TEST(EcsNames, TagRules) {
  EXPECT_NO_THROW(ValidateTags(json::array{json::object{{"key", "team"}, {"value", "ml"}}}));
  EXPECT_THROW(ValidateTags(json::array{json::object{{"key", "aws:x"}, {"value", "1"}}}),
               ApiException);
  EXPECT_THROW(ValidateTags(json::array{json::object{{"key", "a"}}, json::object{{"key", "a"}}}),
               ApiException);
  json::array many;
  for (int i = 0; i < 51; ++i) many.push_back(json::object{{"key", std::to_string(i)}});
  EXPECT_THROW(ValidateTags(many), ApiException);
}

TEST(EcsNames, MergeTagsReplacesValuesOfExistingKeys) {
  json::array tags{json::object{{"key", "a"}, {"value", "1"}}};
  MergeTags(tags, json::array{json::object{{"key", "a"}, {"value", "2"}},
                              json::object{{"key", "b"}, {"value", "3"}}});
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].as_object().at("value"), "2");
}

}  // namespace
}  // namespace berth::server::api
