#include "registry/ecr_shapes.h"

#include <set>

#include "awsjson/endpoint.h"
#include "model/json_util.h"
#include "registry/digest.h"
#include "registry/names.h"

namespace berth::registry {

namespace json = boost::json;
using awsjson::Fail;
using model::OptString;
using model::StringOr;

namespace {

constexpr size_t kMaxTags = 50;
constexpr size_t kMaxTagKeyLength = 128;
constexpr size_t kMaxTagValueLength = 256;
constexpr size_t kUploadIdHexDigits = 32;

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

double EpochSeconds(int64_t millis) { return static_cast<double>(millis) / 1000.0; }

json::object ImageIdJson(std::string_view digest, std::string_view tag) {
  json::object id;
  if (!digest.empty()) id["imageDigest"] = digest;
  if (!tag.empty()) id["imageTag"] = tag;
  return id;
}

json::object ImageFailure(const json::object& image_id, std::string_view code,
                          std::string_view reason) {
  return json::object{{"imageId", image_id}, {"failureCode", code}, {"failureReason", reason}};
}

std::string ImageIdText(const json::object& image_id) {
  auto part = [&](std::string_view key) {
    auto value = OptString(image_id, key);
    return value ? "'" + std::string(*value) + "'" : std::string("'null'");
  };
  return "{imageDigest:" + part("imageDigest") + ", imageTag:" + part("imageTag") + "}";
}

std::optional<ImageIdProblem> CheckImageId(const json::object& image_id) {
  auto digest = OptString(image_id, "imageDigest");
  auto tag = OptString(image_id, "imageTag");
  if (!digest && !tag) {
    return ImageIdProblem{"MissingDigestAndTag",
                          "Invalid request parameters: both tag and digest cannot be null"};
  }
  if (digest && !Digest::Parse(*digest)) {
    return ImageIdProblem{"InvalidImageDigest", "Invalid image digest '" + std::string(*digest) +
                                                    "': expected sha256:<64 hex digits>"};
  }
  if (tag && !IsValidTag(*tag)) {
    return ImageIdProblem{"InvalidImageTag",
                          "Invalid image tag '" + std::string(*tag) +
                              "': tags are 1-128 of [A-Za-z0-9_.-], not starting with . or -"};
  }
  return std::nullopt;
}

bool TagStatusAdmits(const json::object& request, size_t tag_count) {
  std::string_view status = "ANY";
  if (auto* filter = request.if_contains("filter"); filter != nullptr && filter->is_object()) {
    status = StringOr(filter->get_object(), "tagStatus", "ANY");
  }
  if (status == "TAGGED") return tag_count > 0;
  if (status == "UNTAGGED") return tag_count == 0;
  return true;
}

std::vector<RepositoryTag> ParseEcrTags(const json::array& tags) {
  if (tags.size() > kMaxTags) {
    Fail("TooManyTagsException",
         "A resource can have at most 50 tags; " + std::to_string(tags.size()) + " were given");
  }
  std::vector<RepositoryTag> out;
  std::set<std::string, std::less<>> keys;
  for (const auto& t : tags) {
    const json::object& tag = t.as_object();
    std::string key(StringOr(tag, "Key", ""));
    std::string value(StringOr(tag, "Value", ""));
    if (key.empty() || key.size() > kMaxTagKeyLength) {
      Fail("InvalidTagParameterException", "Tag keys must be 1-128 characters");
    }
    if (value.size() > kMaxTagValueLength) {
      Fail("InvalidTagParameterException",
           "Tag value for key '" + key + "' is longer than 256 characters");
    }
    if (key.starts_with("aws:")) {
      Fail("InvalidTagParameterException", "Tag keys beginning with 'aws:' are reserved");
    }
    if (!keys.insert(key).second) {
      Fail("InvalidTagParameterException", "Duplicate tag key: " + key);
    }
    out.push_back({std::move(key), std::move(value)});
  }
  return out;
}

void MergeEcrTags(std::vector<RepositoryTag>& existing, const std::vector<RepositoryTag>& tags) {
  std::vector<RepositoryTag> merged = existing;
  for (const auto& tag : tags) {
    bool replaced = false;
    for (auto& e : merged) {
      if (e.key == tag.key) {
        e.value = tag.value;
        replaced = true;
      }
    }
    if (!replaced) merged.push_back(tag);
  }
  if (merged.size() > kMaxTags) {
    Fail("TooManyTagsException",
         "A resource can have at most 50 tags; it would have " + std::to_string(merged.size()));
  }
  existing = std::move(merged);
}

json::array EcrTagsJson(const std::vector<RepositoryTag>& tags) {
  json::array out;
  for (const auto& tag : tags) out.push_back(json::object{{"Key", tag.key}, {"Value", tag.value}});
  return out;
}

std::optional<std::string> EcrUploadId(std::string_view id) {
  if (id.size() != kUploadIdHexDigits) return std::nullopt;
  for (char c : id) {
    if (!IsHex(c)) return std::nullopt;
  }
  std::string out(id);
  for (size_t at : {20, 16, 12, 8}) out.insert(at, "-");
  return out;
}

std::optional<std::string> BlobStoreUploadId(std::string_view ecr_id) {
  std::string out;
  for (size_t i = 0; i < ecr_id.size(); ++i) {
    char c = ecr_id[i];
    bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_here != (c == '-')) return std::nullopt;
    if (dash_here) continue;
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!IsHex(c)) return std::nullopt;
    out += c;
  }
  if (out.size() != kUploadIdHexDigits) return std::nullopt;
  return out;
}

}  // namespace berth::registry
