#include "registry/lifecycle.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace berth::registry {
namespace {

constexpr int64_t kDay = 24 * 3600 * 1000LL;
constexpr int64_t kNow = 1'800'000'000'000;  // milliseconds

// A policy with the given rules, each written as the JSON of one rule.
std::string Policy(std::initializer_list<std::string> rules) {
  std::string text = R"({"rules":[)";
  bool first = true;
  for (const auto& rule : rules) {
    if (!first) text += ",";
    first = false;
    text += rule;
  }
  return text + "]}";
}

// One rule; selection is the inside of the selection object.
std::string Rule(int priority, const std::string& selection) {
  return R"({"rulePriority":)" + std::to_string(priority) + R"(,"description":"r)" +
         std::to_string(priority) + R"(","selection":{)" + selection +
         R"(},"action":{"type":"expire"}})";
}

struct ParseCase {
  std::string name;
  std::string text;
  std::string error;  // a fragment of the message; empty when valid
};

TEST(LifecyclePolicyParse, EnforcesEcrValidation) {
  const std::string count1 = R"("countType":"imageCountMoreThan","countNumber":1)";
  const std::vector<ParseCase> cases = {
      {"tagged by prefix",
       Policy({Rule(1, R"("tagStatus":"tagged","tagPrefixList":["v"],)" + count1)}), ""},
      {"tagged by pattern",
       Policy({Rule(1, R"("tagStatus":"tagged","tagPatternList":["*-rc*"],)" + count1)}), ""},
      {"untagged by age",
       Policy({Rule(1, R"("tagStatus":"untagged","countType":"sinceImagePushed",)"
                       R"("countUnit":"days","countNumber":14)")}),
       ""},
      {"any last, after tagged",
       Policy({Rule(1, R"("tagStatus":"tagged","tagPrefixList":["prod"],)" + count1),
               Rule(2, R"("tagStatus":"any",)" + count1)}),
       ""},
      {"not JSON", "{rules: nope", "not valid JSON"},
      {"no rules", R"({"rules":[]})", "'rules' must be a non-empty list"},
      {"unknown top-level field", R"({"rules":[],"extra":1})", "unknown field 'extra'"},
      {"duplicate priority",
       Policy({Rule(1, R"("tagStatus":"untagged",)" + count1),
               Rule(1, R"("tagStatus":"tagged","tagPrefixList":["a"],)" + count1)}),
       "rulePriority is used by more than one rule"},
      {"priority zero", Policy({Rule(0, R"("tagStatus":"untagged",)" + count1)}),
       "'rulePriority' must be at least 1"},
      {"tagged without a filter", Policy({Rule(1, R"("tagStatus":"tagged",)" + count1)}),
       "needs a tagPrefixList or a tagPatternList"},
      {"prefix list on untagged",
       Policy({Rule(1, R"("tagStatus":"untagged","tagPrefixList":["a"],)" + count1)}),
       "only allowed with tagStatus 'tagged'"},
      {"both prefix and pattern",
       Policy({Rule(
           1, R"("tagStatus":"tagged","tagPrefixList":["a"],"tagPatternList":["b*"],)" + count1)}),
       "not both"},
      {"five wildcards",
       Policy({Rule(1, R"("tagStatus":"tagged","tagPatternList":["*a*b*c*d*"],)" + count1)}),
       "more than 4 wildcards"},
      {"countUnit with a count",
       Policy({Rule(1, R"("tagStatus":"untagged","countType":"imageCountMoreThan",)"
                       R"("countUnit":"days","countNumber":1)")}),
       "countUnit is only allowed with countType 'sinceImagePushed'"},
      {"age without countUnit",
       Policy(
           {Rule(1, R"("tagStatus":"untagged","countType":"sinceImagePushed","countNumber":1)")}),
       "'countUnit' is required"},
      {"hours are not a unit",
       Policy({Rule(1, R"("tagStatus":"untagged","countType":"sinceImagePushed",)"
                       R"("countUnit":"hours","countNumber":1)")}),
       "countUnit must be 'days'"},
      {"zero count",
       Policy(
           {Rule(1, R"("tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":0)")}),
       "'countNumber' must be at least 1"},
      {"fractional count",
       Policy({Rule(1, R"("tagStatus":"untagged","countType":"imageCountMoreThan",)"
                       R"("countNumber":1.5)")}),
       "'countNumber' must be an integer"},
      // Found by lifecycle_fuzz: a count beyond int64 was converted first
      // (undefined) and checked after.
      {"count beyond int64",
       Policy({Rule(1, R"("tagStatus":"untagged","countType":"imageCountMoreThan",)"
                       R"("countNumber":92233720368547758070.0)")}),
       "'countNumber' must be an integer"},
      {"unknown countType",
       Policy(
           {Rule(1, R"("tagStatus":"untagged","countType":"sinceImagePulled","countNumber":1)")}),
       "countType must be"},
      {"bad tagStatus", Policy({Rule(1, R"("tagStatus":"TAGGED",)" + count1)}),
       "tagStatus must be"},
      {"any not last",
       Policy({Rule(1, R"("tagStatus":"any",)" + count1),
               Rule(2, R"("tagStatus":"untagged",)" + count1)}),
       "tagStatus 'any' must have the highest rulePriority"},
      {"two untagged rules",
       Policy({Rule(1, R"("tagStatus":"untagged",)" + count1),
               Rule(2, R"("tagStatus":"untagged","countType":"sinceImagePushed",)"
                       R"("countUnit":"days","countNumber":3)")}),
       "only one rule may select untagged images"},
      {"same prefixes twice",
       Policy({Rule(1, R"("tagStatus":"tagged","tagPrefixList":["a","b"],)" + count1),
               Rule(2, R"("tagStatus":"tagged","tagPrefixList":["b","a"],)" + count1)}),
       "same set of tag prefixes"},
      {"action other than expire",
       R"({"rules":[{"rulePriority":1,"selection":{"tagStatus":"any",)" + count1 +
           R"(},"action":{"type":"archive"}}]})",
       "action type must be 'expire'"},
      {"misspelt selection field",
       Policy({Rule(1, R"("tagStatus":"tagged","tagPrefixlist":["a"],)" + count1)}),
       "unknown field 'tagPrefixlist'"},
  };
  for (const auto& c : cases) {
    auto policy = ParseLifecyclePolicy(c.text);
    if (c.error.empty()) {
      EXPECT_TRUE(policy.ok()) << c.name << ": " << policy.status().ToString();
    } else {
      ASSERT_FALSE(policy.ok()) << c.name;
      EXPECT_EQ(policy.status().code(), StatusCode::kInvalidArgument) << c.name;
      EXPECT_NE(policy.status().message().find(c.error), std::string::npos)
          << c.name << ": " << policy.status().message();
    }
  }
}

// Found by lifecycle_fuzz: days times milliseconds overflowed int64.
TEST(LifecyclePolicyEvaluate, AnAgeBeyondInt64MillisecondsExpiresNothing) {
  auto policy = ParseLifecyclePolicy(
      Policy({Rule(1, R"("tagStatus":"any","countType":"sinceImagePushed","countUnit":"days",)"
                      R"("countNumber":9223372036854775807)")}));
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  std::vector<LifecycleImage> images = {{"sha256:a", {"v1"}, 0}, {"sha256:b", {}, kNow - kDay}};
  EXPECT_TRUE(EvaluateLifecyclePolicy(*policy, images, kNow).empty());
}

TEST(LifecyclePolicyParse, SortsRulesByPriority) {
  auto policy = ParseLifecyclePolicy(
      Policy({Rule(5, R"("tagStatus":"any","countType":"imageCountMoreThan","countNumber":9)"),
              Rule(2, R"("tagStatus":"untagged","countType":"imageCountMoreThan",)"
                      R"("countNumber":1)")}));
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  ASSERT_EQ(policy->rules.size(), 2u);
  EXPECT_EQ(policy->rules[0].priority, 2);
  EXPECT_EQ(policy->rules[1].priority, 5);
  EXPECT_EQ(policy->rules[1].count_number, 9);
}

struct EvalCase {
  std::string name;
  std::string policy;
  std::vector<LifecycleImage> images;
  // digest -> rule priority, oldest first
  std::vector<std::pair<std::string, int64_t>> expired;
};

LifecycleImage Image(std::string digest, std::vector<std::string> tags, int64_t age_millis) {
  return {std::move(digest), std::move(tags), kNow - age_millis};
}

TEST(LifecyclePolicyEvaluate, FollowsEcrRules) {
  const int64_t m = 60 * 1000;  // a minute
  const std::vector<EvalCase> cases = {
      {"keep the newest untagged image",
       // Three untagged images, keep 1: the two older ones go; the tagged
       // image is not selected at all.
       Policy({Rule(1, R"("tagStatus":"untagged","countType":"imageCountMoreThan",)"
                       R"("countNumber":1)")}),
       {Image("a", {}, 30 * m), Image("b", {}, 20 * m), Image("c", {}, 10 * m),
        Image("t", {"v1"}, 40 * m)},
       {{"a", 1}, {"b", 1}}},
      {"expire by age",
       // Older than 14 days: 'old' (15 days) goes, 'young' (13 days) and
       // 'edge' (exactly 14 days, not older) stay.
       Policy({Rule(1, R"("tagStatus":"any","countType":"sinceImagePushed",)"
                       R"("countUnit":"days","countNumber":14)")}),
       {Image("old", {"x"}, 15 * kDay), Image("young", {}, 13 * kDay),
        Image("edge", {}, 14 * kDay)},
       {{"old", 1}}},
      {"every prefix must match",
       // ECR's "multiple tags in a single rule" example: prefixes alpha and
       // beta select only A and C (B lacks beta); keep 1 of them, so A goes.
       Policy({Rule(1, R"("tagStatus":"tagged","tagPrefixList":["alpha","beta"],)"
                       R"("countType":"imageCountMoreThan","countNumber":1)")}),
       {Image("A", {"alpha-1", "beta-1"}, 10 * m), Image("B", {"alpha-2"}, 9 * m),
        Image("C", {"alpha-3", "beta-3"}, 8 * m)},
       {{"A", 1}}},
      {"a lower rule cannot take a higher rule's image",
       // ECR's "multiple rules" example. Rule 1 (prod, keep 1) selects A and
       // B and expires A. Rule 2 (beta, keep 1) selects A, B, C and would
       // expire A and B, but both match rule 1, so rule 2 expires nothing:
       // only A goes.
       Policy({Rule(1, R"("tagStatus":"tagged","tagPrefixList":["prod"],)"
                       R"("countType":"imageCountMoreThan","countNumber":1)"),
               Rule(2, R"("tagStatus":"tagged","tagPrefixList":["beta"],)"
                       R"("countType":"imageCountMoreThan","countNumber":1)")}),
       {Image("A", {"beta-1", "prod-1"}, 10 * m), Image("B", {"beta-2", "prod-2"}, 9 * m),
        Image("C", {"beta-3"}, 8 * m)},
       {{"A", 1}}},
      {"claimed images still count for lower rules",
       // Rule 1 keeps every prod image for 100 days (none is that old). Rule
       // 2 (any, keep 2) counts all four, newest first: p2, x2 are kept, x1
       // and p1 are beyond the count. p1 belongs to rule 1, so only x1 goes.
       Policy({Rule(1, R"("tagStatus":"tagged","tagPrefixList":["prod"],)"
                       R"("countType":"sinceImagePushed","countUnit":"days","countNumber":100)"),
               Rule(2, R"("tagStatus":"any","countType":"imageCountMoreThan","countNumber":2)")}),
       {Image("p1", {"prod-1"}, 40 * m), Image("x1", {"dev-1"}, 30 * m),
        Image("p2", {"prod-2"}, 20 * m), Image("x2", {}, 10 * m)},
       {{"x1", 2}}},
      {"wildcard patterns",
       // "*-rc*" matches v1-rc1 and v2-rc2 but not v2 or latest; keep 1 of
       // the two release candidates, so r1 goes.
       Policy({Rule(1, R"("tagStatus":"tagged","tagPatternList":["*-rc*"],)"
                       R"("countType":"imageCountMoreThan","countNumber":1)")}),
       {Image("r1", {"v1-rc1"}, 3 * m), Image("r2", {"v2-rc2"}, 2 * m),
        Image("rel", {"v2", "latest"}, 1 * m)},
       {{"r1", 1}}},
      {"rules apply in priority order, not list order",
       // Rule 3 is listed first but runs after rule 1 (untagged, keep 1). u-old is untagged, so
       // rule 1 owns it even though rule 3 also finds it old; rule 1 expires it as the older of two
       // untagged images. t-old (tagged, 2 days) goes by rule 3.
       Policy({Rule(3, R"("tagStatus":"any","countType":"sinceImagePushed",)"
                       R"("countUnit":"days","countNumber":1)"),
               Rule(1, R"("tagStatus":"untagged","countType":"imageCountMoreThan",)"
                       R"("countNumber":1)")}),
       {Image("u-old", {}, 3 * kDay), Image("t-old", {"v"}, 2 * kDay), Image("u-new", {}, m)},
       {{"u-old", 1}, {"t-old", 3}}},
      {"nothing beyond the count",
       // Two tagged images, keep 5: nothing goes.
       Policy({Rule(1, R"("tagStatus":"tagged","tagPrefixList":["v"],)"
                       R"("countType":"imageCountMoreThan","countNumber":5)")}),
       {Image("a", {"v1"}, 2 * m), Image("b", {"v2"}, m)},
       {}},
  };
  for (const auto& c : cases) {
    auto policy = ParseLifecyclePolicy(c.policy);
    ASSERT_TRUE(policy.ok()) << c.name << ": " << policy.status().ToString();
    auto expired = EvaluateLifecyclePolicy(*policy, c.images, kNow);
    std::vector<std::pair<std::string, int64_t>> got;
    for (const auto& e : expired) got.emplace_back(e.image.digest, e.rule_priority);
    EXPECT_EQ(got, c.expired) << c.name;
  }
}

}  // namespace
}  // namespace berth::registry
