// Changing images through ECR: PutImage, BatchDeleteImage.
#include <algorithm>

#include "model/json_util.h"
#include "registry/digest.h"
#include "registry/ecr_api.h"
#include "registry/ecr_shapes.h"
#include "registry/manifest.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

Digest DigestOf(std::string_view algorithm, std::string_view bytes) {
  DigestHasher hasher(algorithm);
  hasher.Update(bytes);
  return hasher.Finish();
}

}  // namespace

awsjson::Reply EcrApi::PutImage(json::object& in, const Context& ctx) {
  Repository repository = RequireRepository(in);
  const std::string& name = repository.name;
  std::string_view manifest = StringOr(in, "imageManifest", "");
  std::string_view media_type = StringOr(in, "imageManifestMediaType", "");
  auto tag = OptString(in, "imageTag");

  // The digest the client expects must be the digest of the bytes, in its
  // own algorithm; checked here so that ECR's own exception is raised.
  Digest digest = Digest::Sha256Of(manifest);
  if (auto given = OptString(in, "imageDigest")) {
    auto parsed = Digest::Parse(*given);
    if (!parsed) {
      Fail("InvalidParameterException",
           "Invalid parameter at 'imageDigest': '" + std::string(*given) + "' is not a digest");
    }
    digest = DigestOf(parsed->algorithm, manifest);
    if (digest != *parsed) {
      Fail("ImageDigestDoesNotMatchException",
           "The image digest '" + std::string(*given) +
               "' does not match the digest of the manifest, '" + digest.ToString() + "'");
    }
  }

  std::string reference = tag ? std::string(*tag) : digest.ToString();
  auto put = state_.PutManifest(name, reference, media_type, manifest,
                                /*create_repository_if_missing=*/false, ctx.now_millis);
  if (!put.ok()) {
    if (put.error().kind == RegistryErrorKind::kManifestBlobUnknown) {
      auto parsed = ParseManifest(manifest, media_type);
      if (parsed.ok() && parsed->is_index) {
        Fail("ReferencedImagesNotFoundException", put.error().message);
      }
    }
    FailWith(put.error(), name);
  }
  if (put->unchanged) {
    Fail("ImageAlreadyExistsException",
         "Image with digest '" + put->digest + "'" +
             (tag ? " and tag '" + std::string(*tag) + "'" : std::string()) +
             " already exists in the repository with name '" + name + "' in registry with id '" +
             scope_.account + "'");
  }
  json::object image{
      {"registryId", scope_.account},
      {"repositoryName", name},
      {"imageId", ImageIdJson(put->digest, tag.value_or(""))},
      {"imageManifest", manifest},
      {"imageManifestMediaType", put->media_type},
  };
  return {json::object{{"image", std::move(image)}}, put->commit_seq};
}

awsjson::Reply EcrApi::BatchDeleteImage(json::object& in, const Context&) {
  Repository repository = RequireRepository(in);
  const std::string& name = repository.name;
  json::array deleted, failures;
  uint64_t seq = 0;

  // Deletes the image by digest; false (with a failure recorded) if it is
  // not there or an index still lists it.
  auto delete_image = [&](const json::object& id, const std::string& digest) {
    auto result = state_.DeleteManifest(name, digest, /*refuse_if_in_index=*/true);
    if (!result.ok()) {
      switch (result.error().kind) {
        case RegistryErrorKind::kManifestUnknown:
          failures.push_back(ImageFailure(id, "ImageNotFound", "Requested image not found"));
          return;
        case RegistryErrorKind::kImageReferencedByIndex:
          failures.push_back(
              ImageFailure(id, "ImageReferencedByManifestList",
                           "Requested image is referenced by an image index (manifest list): " +
                               result.error().message));
          return;
        default:
          FailWith(result.error(), name);
      }
    }
    const Image& image = result->first;
    seq = std::max(seq, result->second);
    if (image.tags.empty()) deleted.push_back(ImageIdJson(image.digest, ""));
    for (const auto& tag : image.tags) deleted.push_back(ImageIdJson(image.digest, tag));
  };

  for (const auto& v : ArrayOr(in, "imageIds")) {
    const json::object& id = v.as_object();
    if (auto problem = CheckImageId(id)) {
      failures.push_back(ImageFailure(id, problem->code, problem->reason));
      continue;
    }
    std::string digest(StringOr(id, "imageDigest", ""));
    std::string tag(StringOr(id, "imageTag", ""));
    if (!digest.empty()) {
      // By digest: the image goes with all its tags. A tag given as well must
      // point at it.
      if (!tag.empty()) {
        auto tagged = state_.FindImage(name, tag);
        if (!tagged.ok()) {
          failures.push_back(ImageFailure(id, "ImageNotFound", "Requested image not found"));
          continue;
        }
        if (tagged->digest != digest) {
          failures.push_back(ImageFailure(id, "ImageTagDoesNotMatchDigest",
                                          "Invalid request parameters: given tag '" + tag +
                                              "' does not match the image with digest '" + digest +
                                              "'"));
          continue;
        }
      }
      delete_image(id, digest);
      continue;
    }

    // By tag: the tag goes; as in ECR, an image left without tags goes too.
    auto untagged = state_.DeleteTag(name, tag);
    if (!untagged.ok()) {
      if (untagged.error().kind != RegistryErrorKind::kManifestUnknown) {
        FailWith(untagged.error(), name);
      }
      failures.push_back(ImageFailure(id, "ImageNotFound", "Requested image not found"));
      continue;
    }
    const std::string& image_digest = untagged->first;
    seq = std::max(seq, untagged->second);
    deleted.push_back(ImageIdJson(image_digest, tag));
    auto image = state_.FindImage(name, image_digest);
    if (image.ok() && image->tags.empty()) {
      auto result = state_.DeleteManifest(name, image_digest, /*refuse_if_in_index=*/true);
      // An image an index still lists stays, untagged, until the index goes.
      if (result.ok()) seq = std::max(seq, result->second);
    }
  }
  return {json::object{{"imageIds", std::move(deleted)}, {"failures", std::move(failures)}}, seq};
}

}  // namespace berth::registry
