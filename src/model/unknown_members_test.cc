#include "model/unknown_members.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace berth::model {
namespace {

namespace json = boost::json;

TEST(UnknownMembers, CarriedOntoARecordAnUpdateReplacingWhatItNames) {
  json::object record =
      json::parse(R"({"name": "r", "@unknownMembers": {"a": 1, "b": 2}})").as_object();
  json::object update =
      json::parse(R"({"name": "x", "@unknownMembers": {"b": [3], "c": {"d": 4}}})").as_object();
  CarryUnknownMembers(update, record);
  EXPECT_EQ(record, json::parse(R"({"name": "r",
      "@unknownMembers": {"a": 1, "b": [3], "c": {"d": 4}}})"));
  CarryUnknownMembers(json::object{{"name", "y"}}, record);  // nothing to carry
  EXPECT_EQ(record.at("@unknownMembers").as_object().size(), 3u);
}

TEST(UnknownMembers, UnfoldedWhereTheyWereAndKnownMembersWin) {
  json::value reply = json::parse(R"({"taskDefinition": {
      "family": "f", "status": "ACTIVE",
      "@unknownMembers": {"status": "FORGED", "newer": {"@unknownMembers": {"x": 1}}},
      "containerDefinitions": [{"name": "a", "@unknownMembers": {"restartEverything": true}}],
      "dockerLabels": {"@unknownMembers": "a label, not a kept set"}}})");
  UnfoldUnknownMembers(reply);
  // A kept value is the client's own and is not looked into.
  EXPECT_EQ(reply, json::parse(R"({"taskDefinition": {
      "family": "f", "status": "ACTIVE",
      "containerDefinitions": [{"name": "a", "restartEverything": true}],
      "dockerLabels": {"@unknownMembers": "a label, not a kept set"},
      "newer": {"@unknownMembers": {"x": 1}}}})"));
}

TEST(UnknownMembers, DroppedEverywhereForTheAgent) {
  json::value tasks = json::parse(R"([{"taskArn": "t", "@unknownMembers": {"a": 1},
      "taskDefinition": {"containerDefinitions": [{"name": "c", "@unknownMembers": {"b": 2}}],
                         "dockerLabels": {"@unknownMembers": "kept: a label"}}}])");
  DropUnknownMembers(tasks);
  EXPECT_EQ(tasks, json::parse(R"([{"taskArn": "t",
      "taskDefinition": {"containerDefinitions": [{"name": "c"}],
                         "dockerLabels": {"@unknownMembers": "kept: a label"}}}])"));
}

}  // namespace
}  // namespace berth::model
