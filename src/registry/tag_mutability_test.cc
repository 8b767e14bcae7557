#include "registry/tag_mutability.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "registry/names.h"

namespace berth::registry {
namespace {

TEST(TagMutability, WildcardsMatchAnyRunOfCharacters) {
  EXPECT_TRUE(WildcardMatches("latest", "latest"));
  EXPECT_FALSE(WildcardMatches("latest", "latest2"));
  EXPECT_TRUE(WildcardMatches("dev-*", "dev-"));
  EXPECT_TRUE(WildcardMatches("dev-*", "dev-42"));
  EXPECT_FALSE(WildcardMatches("dev-*", "prod-42"));
  EXPECT_TRUE(WildcardMatches("*-rc*", "1.2-rc3"));
  EXPECT_TRUE(WildcardMatches("a*b*c", "axxbyybzc"));
  EXPECT_FALSE(WildcardMatches("a*b*c", "axxbyyb"));
  EXPECT_TRUE(WildcardMatches("*", ""));
  EXPECT_TRUE(WildcardMatches("**x", "x"));
  EXPECT_FALSE(WildcardMatches("", "x"));
  // A pattern whose stars must retreat many times stays linear enough.
  EXPECT_FALSE(WildcardMatches("*a*a*a*a*a*a*b", std::string(128, 'a')));
}

TEST(TagMutability, ExclusionsInvertTheSettingForTheTagsTheyMatch) {
  const std::vector<std::string> none, dev{"dev-*", "latest"};
  EXPECT_FALSE(TagIsImmutable("MUTABLE", none, "v1"));
  EXPECT_TRUE(TagIsImmutable("IMMUTABLE", none, "v1"));
  EXPECT_TRUE(TagIsImmutable("IMMUTABLE_WITH_EXCLUSION", dev, "v1"));
  EXPECT_FALSE(TagIsImmutable("IMMUTABLE_WITH_EXCLUSION", dev, "latest"));
  EXPECT_FALSE(TagIsImmutable("IMMUTABLE_WITH_EXCLUSION", dev, "dev-7"));
  EXPECT_FALSE(TagIsImmutable("MUTABLE_WITH_EXCLUSION", dev, "v1"));
  EXPECT_TRUE(TagIsImmutable("MUTABLE_WITH_EXCLUSION", dev, "dev-7"));
}

TEST(TagMutability, FiltersGoWithTheExclusionSettingsOnly) {
  EXPECT_FALSE(TagMutabilityProblem("MUTABLE", {}));
  EXPECT_FALSE(TagMutabilityProblem("IMMUTABLE_WITH_EXCLUSION", {"latest"}));
  EXPECT_TRUE(TagMutabilityProblem("IMMUTABLE_WITH_EXCLUSION", {}));
  EXPECT_TRUE(TagMutabilityProblem("IMMUTABLE", {"latest"}));
}

}  // namespace
}  // namespace berth::registry
