// ECR lifecycle policies: parsing with ECR's validation, and evaluation.
//
// A policy is a list of rules; each selects images by tag and expires those
// beyond a count or older than an age. Pure: no I/O, no clock (now is passed
// in), so the rules ECR documents are tested as tables. Deleting what the
// evaluation returns is the caller's job (EcrApi::ApplyLifecyclePolicies).
//
// The rules of evaluation, as ECR documents them:
//   - rules run in rulePriority order, lowest number first;
//   - an image whose tags match a rule's selection can be expired only by
//     the highest-priority rule that matches it (so at most one rule);
//   - a rule still counts images that a higher-priority rule claimed, as if
//     they had not been expired ("identify but not mark");
//   - expiry always takes older images (by push time) before newer ones.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::registry {

enum class LifecycleTagStatus { kTagged, kUntagged, kAny };
enum class LifecycleCountType { kImageCountMoreThan, kSinceImagePushed };

struct LifecycleRule {
  int64_t priority = 0;
  std::string description;
  LifecycleTagStatus tag_status = LifecycleTagStatus::kAny;
  // For kTagged, exactly one of these is non-empty. Every entry must match
  // some tag of an image for the rule to select it.
  std::vector<std::string> tag_prefixes;
  std::vector<std::string> tag_patterns;  // '*' matches any run of characters
  LifecycleCountType count_type = LifecycleCountType::kImageCountMoreThan;
  int64_t count_number = 0;  // images to keep, or days since push
};

struct LifecyclePolicy {
  std::vector<LifecycleRule> rules;  // sorted by priority, lowest first
};

// Parses and validates policy text. InvalidArgument, with a message that
// names the rule and the field, when ECR would refuse it.
StatusOr<LifecyclePolicy> ParseLifecyclePolicy(std::string_view text);

struct LifecycleImage {
  std::string digest;
  std::vector<std::string> tags;
  int64_t pushed_at_millis = 0;
};

struct LifecycleExpiry {
  LifecycleImage image;
  int64_t rule_priority = 0;  // the rule that expires it
};

// The images that policy expires at now_millis, oldest first.
std::vector<LifecycleExpiry> EvaluateLifecyclePolicy(const LifecyclePolicy& policy,
                                                     std::span<const LifecycleImage> images,
                                                     int64_t now_millis);

// True if rule's tag selection (status, prefixes, patterns) takes image.
bool LifecycleRuleSelects(const LifecycleRule& rule, const LifecycleImage& image);

}  // namespace berth::registry
