// Reading images through ECR: ListImages, DescribeImages, BatchGetImage.
#include <algorithm>
#include <set>

#include "model/json_util.h"
#include "registry/digest.h"
#include "registry/ecr_api.h"
#include "registry/ecr_shapes.h"
#include "registry/manifest.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

constexpr int64_t kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

json::object ImageDetail(const Image& image, std::string_view registry_id) {
  json::object detail{
      {"registryId", registry_id},
      {"repositoryName", image.repository},
      {"imageDigest", image.digest},
  };
  // ECR leaves imageTags out for an untagged image rather than sending [].
  if (!image.tags.empty()) {
    json::array tags;
    for (const auto& tag : image.tags) tags.push_back(json::string(tag));
    detail["imageTags"] = std::move(tags);
  }
  detail["imageSizeInBytes"] = image.image_size;
  detail["imagePushedAt"] = EpochSeconds(image.pushed_at_millis);
  detail["imageManifestMediaType"] = image.media_type;
  if (!image.config_media_type.empty()) detail["artifactMediaType"] = image.config_media_type;
  return detail;
}

}  // namespace

awsjson::Reply EcrApi::ListImages(json::object& in, const Context&) {
  CheckRegistryId(in);
  std::string_view name = StringOr(in, "repositoryName", "");
  auto images = state_.ListImages(name);
  if (!images.ok()) FailWith(images.error(), name);
  if (!in.contains("maxResults")) in["maxResults"] = kDefaultPageSize;
  awsjson::Pager pager(page_tokens_, in, kMaxPageSize);
  // One entry per tag, and one (digest only) per untagged image. Positions
  // sort as the entries are listed: digest, then "digest tag" ('' < ' ' <
  // any tag character).
  for (const Image& image : *images) {
    if (!TagStatusAdmits(in, image.tags.size())) continue;
    bool full = false;
    if (image.tags.empty()) {
      full = !pager.Add(image.digest, ImageIdJson(image.digest, ""));
    }
    for (const auto& tag : image.tags) {
      if (full) break;
      full = !pager.Add(image.digest + " " + tag, ImageIdJson(image.digest, tag));
    }
    if (full) break;
  }
  json::object reply;
  pager.Finish(reply, "imageIds");
  return {std::move(reply)};
}

awsjson::Reply EcrApi::DescribeImages(json::object& in, const Context&) {
  CheckRegistryId(in);
  std::string_view name = StringOr(in, "repositoryName", "");
  const json::array& ids = ArrayOr(in, "imageIds");
  if (!ids.empty()) {
    // Named images: all of them or an error, as ECR does (no failures[]).
    json::array details;
    std::set<std::string> seen;
    for (const auto& v : ids) {
      const json::object& id = v.as_object();
      if (auto problem = CheckImageId(id)) Fail("InvalidParameterException", problem->reason);
      auto digest = OptString(id, "imageDigest");
      auto tag = OptString(id, "imageTag");
      auto image = state_.FindImage(name, tag ? *tag : *digest);
      if (!image.ok() && image.error().kind != RegistryErrorKind::kManifestUnknown) {
        FailWith(image.error(), name);
      }
      if (!image.ok() || (digest && tag && image->digest != *digest)) {
        Fail("ImageNotFoundException", "The image with imageId " + ImageIdText(id) +
                                           " does not exist within the repository with name '" +
                                           std::string(name) + "' in the registry with id '" +
                                           scope_.account + "'");
      }
      if (seen.insert(image->digest).second) details.push_back(ImageDetail(*image, scope_.account));
    }
    return {json::object{{"imageDetails", std::move(details)}}};
  }

  auto images = state_.ListImages(name);
  if (!images.ok()) FailWith(images.error(), name);
  if (!in.contains("maxResults")) in["maxResults"] = kDefaultPageSize;
  awsjson::Pager pager(page_tokens_, in, kMaxPageSize);
  for (const Image& image : *images) {
    if (!TagStatusAdmits(in, image.tags.size())) continue;
    if (!pager.Add(image.digest, ImageDetail(image, scope_.account))) break;
  }
  json::object reply;
  pager.Finish(reply, "imageDetails");
  return {std::move(reply)};
}

awsjson::Reply EcrApi::BatchGetImage(json::object& in, const Context&) {
  Repository repository = RequireRepository(in);
  const std::string& name = repository.name;
  std::vector<std::string_view> accepted;
  for (const auto& type : ArrayOr(in, "acceptedMediaTypes")) {
    accepted.push_back(model::AsString(type));
  }

  json::array images, failures;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& v : ArrayOr(in, "imageIds")) {
    const json::object& id = v.as_object();
    if (auto problem = CheckImageId(id)) {
      failures.push_back(ImageFailure(id, problem->code, problem->reason));
      continue;
    }
    std::string digest(StringOr(id, "imageDigest", ""));
    std::string tag(StringOr(id, "imageTag", ""));
    if (!seen.emplace(digest, tag).second) continue;
    auto image = state_.FindImage(name, tag.empty() ? digest : tag);
    if (!image.ok()) {
      if (image.error().kind != RegistryErrorKind::kManifestUnknown) FailWith(image.error(), name);
      failures.push_back(ImageFailure(id, "ImageNotFound", "Requested image not found"));
      continue;
    }
    if (!digest.empty() && !tag.empty() && image->digest != digest) {
      failures.push_back(ImageFailure(id, "ImageTagDoesNotMatchDigest",
                                      "Invalid request parameters: given tag '" + tag +
                                          "' does not match the image with digest '" + digest +
                                          "'"));
      continue;
    }
    if (!accepted.empty() &&
        std::find(accepted.begin(), accepted.end(), image->media_type) == accepted.end()) {
      // berth serves manifests exactly as pushed and converts none.
      failures.push_back(ImageFailure(id, "UnsupportedImageType",
                                      "The image's manifest media type '" + image->media_type +
                                          "' is not among acceptedMediaTypes"));
      continue;
    }
    auto bytes = blobs_.Read(*Digest::Parse(image->digest), kMaxManifestBytes);
    if (!bytes.ok()) {
      Fail("ServerException", "read manifest " + image->digest + ": " + bytes.status().ToString());
    }
    images.push_back(json::object{
        {"registryId", scope_.account},
        {"repositoryName", name},
        {"imageId", ImageIdJson(image->digest, tag)},
        {"imageManifest", std::move(*bytes)},
        {"imageManifestMediaType", image->media_type},
    });
  }
  return {json::object{{"images", std::move(images)}, {"failures", std::move(failures)}}};
}

}  // namespace berth::registry
