#include "server/api/ecs_names.h"

#include <charconv>
#include <set>

#include "awsjson/endpoint.h"
#include "model/json_util.h"
#include "planner/planner.h"

namespace berth::server::api {

using awsjson::Fail;
using model::StringOr;

namespace json = boost::json;

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string ClusterName(std::string_view ref) {
  if (ref.starts_with("arn:")) {
    size_t pos = ref.find(":cluster/");
    if (pos != std::string_view::npos) return std::string(ref.substr(pos + 9));
  }
  return std::string(ref);
}

TaskDefinitionRef ParseTaskDefinitionRef(std::string_view ref) {
  std::string_view text = ref;
  if (text.starts_with("arn:")) {
    size_t pos = text.find(":task-definition/");
    if (pos == std::string_view::npos) {
      Fail("ClientException", "Invalid task definition ARN: " + std::string(ref));
    }
    text = text.substr(pos + 17);
  }
  TaskDefinitionRef out;
  size_t colon = text.find(':');
  out.family = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) {
    std::string_view rev = text.substr(colon + 1);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(rev.data(), rev.data() + rev.size(), n);
    if (ec != std::errc() || end != rev.data() + rev.size() || n < 1) {
      Fail("ClientException", "Invalid revision number. Number: " + std::string(rev));
    }
    out.revision = n;
  }
  if (!IsValidName(out.family)) {
    Fail("ClientException", "Invalid task definition family: " + std::string(ref));
  }
  return out;
}

std::string ContainerInstanceId(std::string_view ref) {
  if (ref.starts_with("arn:")) {
    size_t slash = ref.rfind('/');
    if (slash != std::string_view::npos) return std::string(ref.substr(slash + 1));
  }
  return std::string(ref);
}

void ValidateTags(const json::array& tags) {
  if (tags.size() > 50) Fail("InvalidParameterException", "A resource can have at most 50 tags");
  std::set<std::string_view> keys;
  for (const auto& t : tags) {
    const auto& tag = t.as_object();
    std::string_view key = StringOr(tag, "key", "");
    std::string_view value = StringOr(tag, "value", "");
    if (key.empty() || key.size() > 128) {
      Fail("InvalidParameterException", "Tag keys must be 1-128 characters");
    }
    if (value.size() > 256) {
      Fail("InvalidParameterException",
           "Tag value for key '" + std::string(key) + "' is longer than 256 characters");
    }
    if (key.starts_with("aws:")) {
      Fail("InvalidParameterException", "Tag keys beginning with 'aws:' are reserved");
    }
    if (!keys.insert(key).second) {
      Fail("InvalidParameterException", "Duplicate tag key: " + std::string(key));
    }
  }
}

void MergeTags(json::array& existing, const json::array& tags) {
  for (const auto& t : tags) {
    std::string_view key = StringOr(t.as_object(), "key", "");
    bool replaced = false;
    for (auto& e : existing) {
      if (StringOr(e.as_object(), "key", "") == key) {
        e = t;
        replaced = true;
      }
    }
    if (!replaced) existing.push_back(t);
  }
}

std::optional<int64_t> WholeNumberTag(const json::array& tags, std::string_view key, int64_t min,
                                      int64_t max) {
  std::optional<std::string> text = planner::TagValue(tags, key);
  if (!text) return std::nullopt;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || end != text->data() + text->size() || n < min || n > max) {
    Fail("InvalidParameterException", std::string(key) + ": want a whole number from " +
                                          std::to_string(min) + " to " + std::to_string(max) +
                                          ", got '" + *text + "'");
  }
  return n;
}

}  // namespace berth::server::api
