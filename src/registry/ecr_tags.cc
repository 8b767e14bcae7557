// ECR resource tags: TagResource, UntagResource, ListTagsForResource. Only
// repositories are taggable in ECR.
#include <algorithm>

#include "model/json_util.h"
#include "registry/ecr_api.h"
#include "registry/ecr_shapes.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

// The repository name in "arn:aws:ecr:REGION:ACCOUNT:repository/NAME".
// Throws InvalidParameterException for anything else; a well-formed ARN of
// another region or account names no repository here.
std::string RepositoryFromArn(std::string_view arn, const ArnScope& scope) {
  auto invalid = [&] {
    Fail("InvalidParameterException",
         "Invalid parameter at 'resourceArn': '" + std::string(arn) +
             "' is not a repository ARN (arn:aws:ecr:REGION:ACCOUNT:repository/NAME)");
  };
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = arn.find(':', start);
    if (colon == std::string_view::npos) invalid();
    parts.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  std::string_view resource = arn.substr(start);
  constexpr std::string_view kPrefix = "repository/";
  if (parts[0] != "arn" || parts[1].empty() || parts[2] != "ecr" ||
      !resource.starts_with(kPrefix) || resource.size() == kPrefix.size()) {
    invalid();
  }
  std::string name(resource.substr(kPrefix.size()));
  if (parts[3] != scope.region || parts[4] != scope.account) {
    Fail("RepositoryNotFoundException",
         "The repository with name '" + name + "' does not exist in the registry with id '" +
             std::string(parts[4]) + "' in region '" + std::string(parts[3]) + "'");
  }
  return name;
}

}  // namespace

awsjson::Reply EcrApi::TagResource(json::object& in, const Context&) {
  std::string name = RepositoryFromArn(StringOr(in, "resourceArn", ""), scope_);
  std::vector<RepositoryTag> tags = ParseEcrTags(ArrayOr(in, "tags"));
  auto updated = state_.UpdateRepository(name, [&](Repository& r) { MergeEcrTags(r.tags, tags); });
  if (!updated.ok()) FailWith(updated.error(), name);
  return {json::object{}, updated->second};
}

awsjson::Reply EcrApi::UntagResource(json::object& in, const Context&) {
  std::string name = RepositoryFromArn(StringOr(in, "resourceArn", ""), scope_);
  std::vector<std::string_view> keys;
  for (const auto& key : ArrayOr(in, "tagKeys")) {
    if (AsString(key).starts_with("aws:")) {
      Fail("InvalidTagParameterException", "Tag keys beginning with 'aws:' are reserved");
    }
    keys.push_back(AsString(key));
  }
  auto updated = state_.UpdateRepository(name, [&](Repository& r) {
    std::erase_if(r.tags, [&](const RepositoryTag& tag) {
      return std::find(keys.begin(), keys.end(), tag.key) != keys.end();
    });
  });
  if (!updated.ok()) FailWith(updated.error(), name);
  return {json::object{}, updated->second};
}

awsjson::Reply EcrApi::ListTagsForResource(json::object& in, const Context&) {
  std::string name = RepositoryFromArn(StringOr(in, "resourceArn", ""), scope_);
  auto repository = state_.GetRepository(name);
  if (!repository.ok()) FailWith(repository.error(), name);
  return {json::object{{"tags", EcrTagsJson(repository->tags)}}};
}

}  // namespace berth::registry
