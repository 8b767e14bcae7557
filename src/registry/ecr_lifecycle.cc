// Lifecycle policies through ECR: Put/Get/DeleteLifecyclePolicy, the
// preview, and applying policies (the server's timer calls
// ApplyLifecyclePolicies). Parsing and evaluation are lifecycle.h's.
#include <algorithm>
#include <cstdio>

#include "common/log.h"
#include "model/json_util.h"
#include "registry/ecr_api.h"
#include "registry/ecr_shapes.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

constexpr int kMaxPreviewPage = 100;

LifecyclePolicy ParsePolicyOrFail(std::string_view text) {
  auto policy = ParseLifecyclePolicy(text);
  if (!policy.ok()) {
    Fail("InvalidParameterException",
         "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: '" +
             policy.status().message() + "'");
  }
  return std::move(policy).value();
}

// A preview result's position: its index, zero-padded so that positions sort
// as the results are listed.
std::string PreviewPosition(size_t index) {
  char text[24];
  std::snprintf(text, sizeof text, "%012zu", index);
  return text;
}

// True when the preview result is one of the images the request names (all
// are when it names none).
bool NamedIn(const json::array& ids, const LifecycleImage& image) {
  if (ids.empty()) return true;
  for (const auto& v : ids) {
    const json::object& id = v.as_object();
    auto digest = OptString(id, "imageDigest");
    auto tag = OptString(id, "imageTag");
    bool digest_ok = !digest || *digest == image.digest;
    bool tag_ok = !tag || std::find(image.tags.begin(), image.tags.end(), *tag) != image.tags.end();
    if ((digest || tag) && digest_ok && tag_ok) return true;
  }
  return false;
}

}  // namespace

awsjson::Reply EcrApi::PutLifecyclePolicy(json::object& in, const Context& ctx) {
  CheckRegistryId(in);
  std::string_view name = StringOr(in, "repositoryName", "");
  std::string text(StringOr(in, "lifecyclePolicyText", ""));
  ParsePolicyOrFail(text);
  // Stored as given; applied by the next ApplyLifecyclePolicies round.
  auto updated = state_.UpdateRepository(name, [&](Repository& r) {
    r.lifecycle_policy = text;
    r.lifecycle_policy_updated_millis = ctx.now_millis;
  });
  if (!updated.ok()) FailWith(updated.error(), name);
  json::object reply = RepositoryHead(name);
  reply["lifecyclePolicyText"] = text;
  return {std::move(reply), updated->second};
}

awsjson::Reply EcrApi::GetLifecyclePolicy(json::object& in, const Context&) {
  Repository repository = RequireRepository(in);
  if (repository.lifecycle_policy.empty()) {
    Fail("LifecyclePolicyNotFoundException",
         "Lifecycle policy does not exist for the repository with name '" + repository.name +
             "' in the registry with id '" + scope_.account + "'");
  }
  json::object reply = RepositoryHead(repository.name);
  reply["lifecyclePolicyText"] = repository.lifecycle_policy;
  std::lock_guard lock(mu_);
  if (auto it = last_evaluated_millis_.find(repository.name); it != last_evaluated_millis_.end()) {
    reply["lastEvaluatedAt"] = EpochSeconds(it->second);
  }
  return {std::move(reply)};
}

awsjson::Reply EcrApi::DeleteLifecyclePolicy(json::object& in, const Context&) {
  CheckRegistryId(in);
  std::string_view name = StringOr(in, "repositoryName", "");
  std::string removed;
  auto updated = state_.UpdateRepository(name, [&](Repository& r) {
    if (r.lifecycle_policy.empty()) {
      Fail("LifecyclePolicyNotFoundException",
           "Lifecycle policy does not exist for the repository with name '" + r.name +
               "' in the registry with id '" + scope_.account + "'");
    }
    removed = std::move(r.lifecycle_policy);
    r.lifecycle_policy.clear();
    r.lifecycle_policy_updated_millis = 0;
  });
  if (!updated.ok()) FailWith(updated.error(), name);
  json::object reply = RepositoryHead(name);
  reply["lifecyclePolicyText"] = removed;
  std::lock_guard lock(mu_);
  if (auto it = last_evaluated_millis_.find(name); it != last_evaluated_millis_.end()) {
    reply["lastEvaluatedAt"] = EpochSeconds(it->second);
    last_evaluated_millis_.erase(it);
  }
  return {std::move(reply), updated->second};
}

awsjson::Reply EcrApi::StartLifecyclePolicyPreview(json::object& in, const Context& ctx) {
  Repository repository = RequireRepository(in);
  std::string text(StringOr(in, "lifecyclePolicyText", repository.lifecycle_policy));
  if (text.empty()) {
    Fail("LifecyclePolicyNotFoundException",
         "Lifecycle policy does not exist for the repository with name '" + repository.name +
             "' in the registry with id '" + scope_.account + "'");
  }
  LifecyclePolicy policy = ParsePolicyOrFail(text);
  // Evaluated at once: the preview is COMPLETE when this returns, so no
  // caller ever sees IN_PROGRESS.
  std::vector<LifecycleImage> images = LifecycleImages(repository.name);
  Preview preview{text, EvaluateLifecyclePolicy(policy, images, ctx.now_millis)};
  {
    std::lock_guard lock(mu_);
    previews_[repository.name] = std::move(preview);
  }
  json::object reply = RepositoryHead(repository.name);
  reply["lifecyclePolicyText"] = text;
  reply["status"] = "COMPLETE";
  return {std::move(reply)};
}

awsjson::Reply EcrApi::GetLifecyclePolicyPreview(json::object& in, const Context&) {
  Repository repository = RequireRepository(in);
  Preview preview;
  {
    std::lock_guard lock(mu_);
    auto it = previews_.find(repository.name);
    if (it == previews_.end()) {
      Fail("LifecyclePolicyPreviewNotFoundException",
           "There is no lifecycle policy preview for the repository with name '" + repository.name +
               "' in the registry with id '" + scope_.account + "'");
    }
    preview = it->second;
  }
  const json::array& ids = ArrayOr(in, "imageIds");
  awsjson::Pager pager(page_tokens_, in, kMaxPreviewPage);
  for (size_t i = 0; i < preview.results.size(); ++i) {
    const LifecycleExpiry& expiry = preview.results[i];
    if (!NamedIn(ids, expiry.image) || !TagStatusAdmits(in, expiry.image.tags.size())) continue;
    json::object result{
        {"imageDigest", expiry.image.digest},
        {"imagePushedAt", EpochSeconds(expiry.image.pushed_at_millis)},
        {"action", json::object{{"type", "EXPIRE"}}},
        {"appliedRulePriority", expiry.rule_priority},
    };
    if (!expiry.image.tags.empty()) {
      json::array tags;
      for (const auto& tag : expiry.image.tags) tags.push_back(json::string(tag));
      result["imageTags"] = std::move(tags);
    }
    if (!pager.Add(PreviewPosition(i), std::move(result))) break;
  }
  json::object reply = RepositoryHead(repository.name);
  reply["lifecyclePolicyText"] = preview.policy_text;
  reply["status"] = "COMPLETE";
  pager.Finish(reply, "previewResults");
  reply["summary"] =
      json::object{{"expiringImageTotalCount", static_cast<int64_t>(preview.results.size())}};
  return {std::move(reply)};
}

StatusOr<std::vector<ExpiredImage>> EcrApi::ApplyLifecyclePolicy(std::string_view repository,
                                                                 int64_t now_millis) {
  auto record = state_.GetRepository(repository);
  if (!record.ok()) return record.error().ToStatus();
  std::vector<ExpiredImage> expired;
  if (record->lifecycle_policy.empty()) return expired;
  std::string context = "apply lifecycle policy of " + std::string(repository);
  auto policy = ParseLifecyclePolicy(record->lifecycle_policy);
  if (!policy.ok()) return policy.status().WithContext(context);
  auto images = state_.ListImages(repository);
  if (!images.ok()) return images.error().ToStatus().WithContext(context);
  std::vector<LifecycleImage> candidates;
  for (const Image& image : *images) {
    candidates.push_back({image.digest, image.tags, image.pushed_at_millis});
  }

  Status failed = Status::Ok();
  for (const LifecycleExpiry& expiry : EvaluateLifecyclePolicy(*policy, candidates, now_millis)) {
    // A push may have moved a tag onto this image since the evaluation; then
    // it is judged again next round rather than deleted on stale facts.
    auto now = state_.FindImage(repository, expiry.image.digest);
    if (!now.ok() || now->tags != expiry.image.tags) continue;
    auto deleted = state_.DeleteManifest(repository, expiry.image.digest,
                                         /*refuse_if_in_index=*/true);
    if (!deleted.ok()) {
      // Gone already, or an index still lists it (ECR expires neither).
      if (deleted.error().kind == RegistryErrorKind::kManifestUnknown ||
          deleted.error().kind == RegistryErrorKind::kImageReferencedByIndex) {
        continue;
      }
      if (failed.ok()) failed = deleted.error().ToStatus().WithContext(context);
      continue;
    }
    LogInfo("lifecycle policy expired image", {{"repository", std::string(repository)},
                                               {"digest", expiry.image.digest},
                                               {"rule", std::to_string(expiry.rule_priority)}});
    expired.push_back(
        {std::string(repository), expiry.image.digest, deleted->first.tags, expiry.rule_priority});
  }
  {
    std::lock_guard lock(mu_);
    last_evaluated_millis_[std::string(repository)] = now_millis;
  }
  if (!failed.ok()) return failed;
  return expired;
}

StatusOr<std::vector<ExpiredImage>> EcrApi::ApplyLifecyclePolicies(int64_t now_millis) {
  std::vector<ExpiredImage> expired;
  Status failed = Status::Ok();
  for (const Repository& repository : state_.ListRepositories("", 0).repositories) {
    if (repository.lifecycle_policy.empty()) continue;
    auto applied = ApplyLifecyclePolicy(repository.name, now_millis);
    if (!applied.ok()) {
      // Deleted meanwhile: nothing to apply. Otherwise carry on with the
      // other repositories and report the first failure.
      if (applied.status().code() != StatusCode::kNotFound && failed.ok()) {
        failed = applied.status();
      }
      continue;
    }
    expired.insert(expired.end(), applied->begin(), applied->end());
  }
  if (!failed.ok()) return failed;
  return expired;
}

}  // namespace berth::registry
