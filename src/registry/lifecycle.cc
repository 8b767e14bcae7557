#include "registry/lifecycle.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <set>

#include "registry/names.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

constexpr int64_t kMillisPerDay = 24 * 3600 * 1000LL;
constexpr int kMaxWildcardsPerPattern = 4;

// ECR words its refusals "Lifecycle policy validation failure: ..."; keeping
// the prefix lets scripts written against ECR recognise them.
Status Invalid(std::string_view where, std::string_view what) {
  return InvalidArgument("Lifecycle policy validation failure: " + std::string(where) + ": " +
                         std::string(what));
}

// ECR validates policies against a schema that allows no extra members, so a
// misspelt "tagPrefixlist" is refused rather than silently selecting nothing.
Status CheckMembers(const json::object& o, std::string_view where,
                    std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : o) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(key)) == allowed.end()) {
      return Invalid(where, "unknown field '" + std::string(key) + "'");
    }
  }
  return Status::Ok();
}

// A positive integer member; JSON 2 and 2.0 both count, 2.5 does not.
StatusOr<int64_t> PositiveInt(const json::object& o, std::string_view key, std::string_view where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return Invalid(where, "'" + std::string(key) + "' is required");
  int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= INT64_MAX) {
    n = static_cast<int64_t>(v->get_uint64());
  } else if (v->is_double() && std::abs(v->get_double()) < 9e18 &&
             v->get_double() == std::trunc(v->get_double())) {
    // Checked before the conversion: one outside int64's range is undefined.
    n = static_cast<int64_t>(v->get_double());
  } else {
    return Invalid(where, "'" + std::string(key) + "' must be an integer");
  }
  if (n < 1) return Invalid(where, "'" + std::string(key) + "' must be at least 1");
  return n;
}

StatusOr<std::string> RequiredString(const json::object& o, std::string_view key,
                                     std::string_view where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return Invalid(where, "'" + std::string(key) + "' is required");
  if (!v->is_string()) return Invalid(where, "'" + std::string(key) + "' must be a string");
  return std::string(v->get_string());
}

// A list of non-empty strings; absent is empty.
StatusOr<std::vector<std::string>> StringList(const json::object& o, std::string_view key,
                                              std::string_view where) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return out;
  if (!v->is_array()) return Invalid(where, "'" + std::string(key) + "' must be a list");
  for (const auto& item : v->get_array()) {
    if (!item.is_string() || item.get_string().empty()) {
      return Invalid(where, "'" + std::string(key) + "' must hold non-empty strings");
    }
    out.emplace_back(item.get_string());
  }
  if (out.empty()) return Invalid(where, "'" + std::string(key) + "' must not be empty");
  return out;
}

Status ParseSelection(const json::object& s, const std::string& where, LifecycleRule& rule) {
  BERTH_RETURN_IF_ERROR(CheckMembers(
      s, where,
      {"tagStatus", "tagPrefixList", "tagPatternList", "countType", "countUnit", "countNumber"}));
  auto status = RequiredString(s, "tagStatus", where);
  if (!status.ok()) return status.status();
  if (*status == "tagged") {
    rule.tag_status = LifecycleTagStatus::kTagged;
  } else if (*status == "untagged") {
    rule.tag_status = LifecycleTagStatus::kUntagged;
  } else if (*status == "any") {
    rule.tag_status = LifecycleTagStatus::kAny;
  } else {
    return Invalid(where, "tagStatus must be 'tagged', 'untagged' or 'any', got '" + *status + "'");
  }

  auto prefixes = StringList(s, "tagPrefixList", where);
  if (!prefixes.ok()) return prefixes.status();
  auto patterns = StringList(s, "tagPatternList", where);
  if (!patterns.ok()) return patterns.status();
  rule.tag_prefixes = std::move(*prefixes);
  rule.tag_patterns = std::move(*patterns);
  bool has_tag_filter = !rule.tag_prefixes.empty() || !rule.tag_patterns.empty();
  if (rule.tag_status != LifecycleTagStatus::kTagged && has_tag_filter) {
    return Invalid(where,
                   "tagPrefixList and tagPatternList are only allowed with tagStatus "
                   "'tagged'");
  }
  if (rule.tag_status == LifecycleTagStatus::kTagged && !has_tag_filter) {
    return Invalid(where, "tagStatus 'tagged' needs a tagPrefixList or a tagPatternList");
  }
  if (!rule.tag_prefixes.empty() && !rule.tag_patterns.empty()) {
    return Invalid(where, "use either tagPrefixList or tagPatternList, not both");
  }
  for (const auto& pattern : rule.tag_patterns) {
    if (std::count(pattern.begin(), pattern.end(), '*') > kMaxWildcardsPerPattern) {
      return Invalid(where, "tag pattern '" + pattern + "' has more than 4 wildcards");
    }
  }

  auto count_type = RequiredString(s, "countType", where);
  if (!count_type.ok()) return count_type.status();
  if (*count_type == "imageCountMoreThan") {
    rule.count_type = LifecycleCountType::kImageCountMoreThan;
    if (s.contains("countUnit")) {
      return Invalid(where, "countUnit is only allowed with countType 'sinceImagePushed'");
    }
  } else if (*count_type == "sinceImagePushed") {
    rule.count_type = LifecycleCountType::kSinceImagePushed;
    auto unit = RequiredString(s, "countUnit", where);
    if (!unit.ok()) return unit.status();
    if (*unit != "days") return Invalid(where, "countUnit must be 'days', got '" + *unit + "'");
  } else {
    return Invalid(where, "countType must be 'imageCountMoreThan' or 'sinceImagePushed', got '" +
                              *count_type + "'");
  }
  auto number = PositiveInt(s, "countNumber", where);
  if (!number.ok()) return number.status();
  rule.count_number = *number;
  return Status::Ok();
}

StatusOr<LifecycleRule> ParseRule(const json::value& v, size_t index) {
  std::string where = "rules[" + std::to_string(index) + "]";
  if (!v.is_object()) return Invalid(where, "a rule must be an object");
  const json::object& o = v.get_object();
  BERTH_RETURN_IF_ERROR(
      CheckMembers(o, where, {"rulePriority", "description", "selection", "action"}));
  LifecycleRule rule;
  auto priority = PositiveInt(o, "rulePriority", where);
  if (!priority.ok()) return priority.status();
  rule.priority = *priority;
  where = "rule " + std::to_string(rule.priority);
  if (const json::value* d = o.if_contains("description")) {
    if (!d->is_string()) return Invalid(where, "'description' must be a string");
    rule.description = std::string(d->get_string());
  }

  const json::value* selection = o.if_contains("selection");
  if (selection == nullptr || !selection->is_object()) {
    return Invalid(where, "'selection' is required and must be an object");
  }
  BERTH_RETURN_IF_ERROR(ParseSelection(selection->get_object(), where, rule));

  const json::value* action = o.if_contains("action");
  if (action == nullptr || !action->is_object()) {
    return Invalid(where, "'action' is required and must be an object");
  }
  BERTH_RETURN_IF_ERROR(CheckMembers(action->get_object(), where, {"type"}));
  auto type = RequiredString(action->get_object(), "type", where);
  if (!type.ok()) return type.status();
  if (*type != "expire") return Invalid(where, "action type must be 'expire', got '" + *type + "'");
  return rule;
}

// The checks that relate rules to each other.
Status CheckRuleSet(const std::vector<LifecycleRule>& rules) {
  std::set<int64_t> priorities;
  for (const auto& rule : rules) {
    if (!priorities.insert(rule.priority).second) {
      return Invalid("rule " + std::to_string(rule.priority),
                     "rulePriority is used by more than one rule");
    }
  }
  int untagged = 0;
  // A tag filter names its set of prefixes (or patterns); two rules with the
  // same set would compete for exactly the same images.
  std::set<std::pair<bool, std::vector<std::string>>> filters;
  int64_t highest = rules.empty() ? 0 : rules.back().priority;
  for (const auto& rule : rules) {
    std::string where = "rule " + std::to_string(rule.priority);
    if (rule.tag_status == LifecycleTagStatus::kUntagged && ++untagged > 1) {
      return Invalid(where, "only one rule may select untagged images");
    }
    if (rule.tag_status == LifecycleTagStatus::kAny && rule.priority != highest) {
      return Invalid(where, "a rule with tagStatus 'any' must have the highest rulePriority");
    }
    if (rule.tag_status == LifecycleTagStatus::kTagged) {
      bool by_prefix = !rule.tag_prefixes.empty();
      std::vector<std::string> set = by_prefix ? rule.tag_prefixes : rule.tag_patterns;
      std::sort(set.begin(), set.end());
      set.erase(std::unique(set.begin(), set.end()), set.end());
      if (!filters.emplace(by_prefix, std::move(set)).second) {
        return Invalid(where, "another rule selects the same set of tag prefixes or patterns");
      }
    }
  }
  return Status::Ok();
}

// Newest first; the digest breaks ties so that the outcome is repeatable.
bool NewerFirst(const LifecycleImage* a, const LifecycleImage* b) {
  if (a->pushed_at_millis != b->pushed_at_millis) {
    return a->pushed_at_millis > b->pushed_at_millis;
  }
  return a->digest > b->digest;
}

}  // namespace

StatusOr<LifecyclePolicy> ParseLifecyclePolicy(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return Invalid("policy", "not valid JSON (" + ec.message() + ")");
  if (!root.is_object()) return Invalid("policy", "must be a JSON object");
  BERTH_RETURN_IF_ERROR(CheckMembers(root.get_object(), "policy", {"rules"}));
  const json::value* rules = root.get_object().if_contains("rules");
  if (rules == nullptr || !rules->is_array() || rules->get_array().empty()) {
    return Invalid("policy", "'rules' must be a non-empty list");
  }
  LifecyclePolicy policy;
  for (size_t i = 0; i < rules->get_array().size(); ++i) {
    auto rule = ParseRule(rules->get_array()[i], i);
    if (!rule.ok()) return rule.status();
    policy.rules.push_back(std::move(*rule));
  }
  std::stable_sort(policy.rules.begin(), policy.rules.end(),
                   [](const auto& a, const auto& b) { return a.priority < b.priority; });
  BERTH_RETURN_IF_ERROR(CheckRuleSet(policy.rules));
  return policy;
}

bool LifecycleRuleSelects(const LifecycleRule& rule, const LifecycleImage& image) {
  switch (rule.tag_status) {
    case LifecycleTagStatus::kAny:
      return true;
    case LifecycleTagStatus::kUntagged:
      return image.tags.empty();
    case LifecycleTagStatus::kTagged:
      break;
  }
  auto any_tag = [&](auto&& matches) {
    return std::any_of(image.tags.begin(), image.tags.end(), matches);
  };
  for (const auto& prefix : rule.tag_prefixes) {
    if (!any_tag([&](const std::string& tag) { return tag.starts_with(prefix); })) return false;
  }
  for (const auto& pattern : rule.tag_patterns) {
    if (!any_tag([&](const std::string& tag) { return WildcardMatches(pattern, tag); }))
      return false;
  }
  return !image.tags.empty();
}

std::vector<LifecycleExpiry> EvaluateLifecyclePolicy(const LifecyclePolicy& policy,
                                                     std::span<const LifecycleImage> images,
                                                     int64_t now_millis) {
  // Each image belongs to the first rule (in priority order) that selects it;
  // only that rule may expire it.
  std::vector<const LifecycleRule*> owner(images.size(), nullptr);
  for (size_t i = 0; i < images.size(); ++i) {
    for (const auto& rule : policy.rules) {
      if (LifecycleRuleSelects(rule, images[i])) {
        owner[i] = &rule;
        break;
      }
    }
  }

  std::vector<LifecycleExpiry> expired;
  for (const auto& rule : policy.rules) {
    // The rule sees every image it selects, owned by it or not: a rule
    // "identifies" images that higher rules claimed and counts them.
    std::vector<const LifecycleImage*> selected;
    for (const auto& image : images) {
      if (LifecycleRuleSelects(rule, image)) selected.push_back(&image);
    }
    std::sort(selected.begin(), selected.end(), NewerFirst);
    for (size_t rank = 0; rank < selected.size(); ++rank) {
      const LifecycleImage* image = selected[rank];
      // An age in days past int64 milliseconds is never reached (and its
      // product would overflow).
      bool expires =
          rule.count_type == LifecycleCountType::kImageCountMoreThan
              ? static_cast<int64_t>(rank) >= rule.count_number
              : rule.count_number <= INT64_MAX / kMillisPerDay &&
                    now_millis - image->pushed_at_millis > rule.count_number * kMillisPerDay;
      if (expires && owner[image - images.data()] == &rule) {
        expired.push_back({*image, rule.priority});
      }
    }
  }
  std::sort(expired.begin(), expired.end(),
            [](const auto& a, const auto& b) { return NewerFirst(&b.image, &a.image); });
  return expired;
}

}  // namespace berth::registry
