// ECR repositories: CreateRepository, DescribeRepositories, DeleteRepository,
// PutImageTagMutability, PutImageScanningConfiguration.
#include <tuple>

#include "model/json_util.h"
#include "model/unknown_members.h"
#include "registry/ecr_api.h"
#include "registry/ecr_shapes.h"
#include "registry/tag_mutability.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

// ECR's default page for the Describe* and List* calls; its model allows up
// to 1000 when asked.
constexpr int64_t kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

// The request's imageTagMutability and its exclusion filters, checked
// together (the model has checked each filter's form).
std::pair<std::string, std::vector<std::string>> TagMutabilityFrom(const json::object& in) {
  std::string mutability(StringOr(in, "imageTagMutability", "MUTABLE"));
  std::vector<std::string> exclusions;
  for (const auto& f : ArrayOr(in, "imageTagMutabilityExclusionFilters")) {
    exclusions.emplace_back(StringOr(f.as_object(), "filter", ""));
  }
  if (auto problem = TagMutabilityProblem(mutability, exclusions)) {
    Fail("InvalidParameterException", *problem);
  }
  return {std::move(mutability), std::move(exclusions)};
}

RepositorySettings SettingsFrom(const json::object& in) {
  RepositorySettings settings;
  std::tie(settings.image_tag_mutability, settings.tag_mutability_exclusions) =
      TagMutabilityFrom(in);
  if (auto* scanning = in.if_contains("imageScanningConfiguration")) {
    settings.scan_on_push = BoolOr(scanning->as_object(), "scanOnPush", false);
  }
  if (auto* encryption = in.if_contains("encryptionConfiguration")) {
    const json::object& e = encryption->as_object();
    settings.encryption_type = StringOr(e, "encryptionType", "AES256");
    settings.kms_key = StringOr(e, "kmsKey", "");
    if (settings.encryption_type != "KMS" && !settings.kms_key.empty()) {
      Fail("InvalidParameterException",
           "Invalid parameter at 'encryptionConfiguration': kmsKey can only be given with "
           "encryptionType KMS");
    }
  }
  settings.tags = ParseEcrTags(ArrayOr(in, "tags"));
  model::CarryUnknownMembers(in, settings.unknown_members);
  return settings;
}

}  // namespace

awsjson::Reply EcrApi::CreateRepository(json::object& in, const Context& ctx) {
  CheckRegistryId(in);
  std::string name(StringOr(in, "repositoryName", ""));
  RepositorySettings settings = SettingsFrom(in);
  auto seq = state_.CreateRepository(name, settings, ctx.now_millis);
  if (!seq.ok()) FailWith(seq.error(), name);
  auto created = state_.GetRepository(name);
  if (!created.ok()) FailWith(created.error(), name);  // deleted again at once
  return {json::object{{"repository", created->ToEcrJson()}}, *seq};
}

awsjson::Reply EcrApi::DescribeRepositories(json::object& in, const Context&) {
  CheckRegistryId(in);
  const json::array& names = ArrayOr(in, "repositoryNames");
  if (!names.empty()) {
    if (in.contains("nextToken") || in.contains("maxResults")) {
      Fail("InvalidParameterException",
           "Invalid parameter: maxResults and nextToken cannot be used with repositoryNames");
    }
    json::array repositories;
    for (const auto& name : names) {
      auto repository = state_.GetRepository(AsString(name));
      if (!repository.ok()) FailWith(repository.error(), AsString(name));
      repositories.push_back(repository->ToEcrJson());
    }
    return {json::object{{"repositories", std::move(repositories)}}};
  }

  if (!in.contains("maxResults")) in["maxResults"] = kDefaultPageSize;
  awsjson::Pager pager(page_tokens_, in, kMaxPageSize);
  // One more than a page, so that the pager knows whether another follows.
  RepositoryPage page = state_.ListRepositories(
      pager.after(), static_cast<size_t>(awsjson::PageSize(in, kMaxPageSize)) + 1);
  for (const Repository& repository : page.repositories) {
    if (!pager.Add(repository.name, repository.ToEcrJson())) break;
  }
  json::object reply;
  pager.Finish(reply, "repositories");
  return {std::move(reply)};
}

awsjson::Reply EcrApi::DeleteRepository(json::object& in, const Context&) {
  CheckRegistryId(in);
  std::string_view name = StringOr(in, "repositoryName", "");
  auto deleted = state_.DeleteRepository(name, BoolOr(in, "force", false));
  if (!deleted.ok()) FailWith(deleted.error(), name);
  {
    std::lock_guard lock(mu_);
    if (auto it = previews_.find(name); it != previews_.end()) previews_.erase(it);
    if (auto it = last_evaluated_millis_.find(name); it != last_evaluated_millis_.end()) {
      last_evaluated_millis_.erase(it);
    }
  }
  return {json::object{{"repository", deleted->first.ToEcrJson()}}, deleted->second};
}

awsjson::Reply EcrApi::PutImageTagMutability(json::object& in, const Context&) {
  CheckRegistryId(in);
  std::string_view name = StringOr(in, "repositoryName", "");
  // Not structured bindings: clang before 16 does not let a lambda capture
  // them.
  const std::pair<std::string, std::vector<std::string>> mutability = TagMutabilityFrom(in);
  auto updated = state_.UpdateRepository(name, [&](Repository& r) {
    r.image_tag_mutability = mutability.first;
    r.tag_mutability_exclusions = mutability.second;
    model::CarryUnknownMembers(in, r.unknown_members);
  });
  if (!updated.ok()) FailWith(updated.error(), name);
  json::object reply = RepositoryHead(name);
  reply["imageTagMutability"] = updated->first.image_tag_mutability;
  if (!updated->first.tag_mutability_exclusions.empty()) {
    reply["imageTagMutabilityExclusionFilters"] = updated->first.ExclusionFiltersJson();
  }
  return {std::move(reply), updated->second};
}

awsjson::Reply EcrApi::PutImageScanningConfiguration(json::object& in, const Context&) {
  CheckRegistryId(in);
  std::string_view name = StringOr(in, "repositoryName", "");
  bool scan_on_push = BoolOr(in.at("imageScanningConfiguration").as_object(), "scanOnPush", false);
  // berth scans nothing; the setting is kept and reported so that tools that
  // manage it see what they set.
  auto updated = state_.UpdateRepository(name, [&](Repository& r) {
    r.scan_on_push = scan_on_push;
    model::CarryUnknownMembers(in, r.unknown_members);
  });
  if (!updated.ok()) FailWith(updated.error(), name);
  json::object reply = RepositoryHead(name);
  reply["imageScanningConfiguration"] = json::object{{"scanOnPush", updated->first.scan_on_push}};
  return {std::move(reply), updated->second};
}

}  // namespace berth::registry
