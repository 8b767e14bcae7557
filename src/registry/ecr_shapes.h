// Small pieces of the ECR JSON shapes that several operations share: image
// identifiers and failures, resource tags, timestamps, upload ids. Pure.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/registry_state.h"

namespace berth::registry {

// AWS JSON 1.1 sends timestamps as epoch seconds, fractional where needed.
double EpochSeconds(int64_t millis);

// ImageIdentifier {imageDigest, imageTag}; an empty part is left out.
boost::json::object ImageIdJson(std::string_view digest, std::string_view tag);

// ImageFailure {imageId, failureCode, failureReason}.
boost::json::object ImageFailure(const boost::json::object& image_id, std::string_view code,
                                 std::string_view reason);

// "{imageDigest:'sha256:...', imageTag:'latest'}", as ECR's messages show an
// ImageIdentifier (absent parts as 'null').
std::string ImageIdText(const boost::json::object& image_id);

// What ECR checks of an ImageIdentifier before looking it up: a failure code
// (MissingDigestAndTag, InvalidImageDigest, InvalidImageTag) with its
// reason, or nullopt when it is well-formed.
struct ImageIdProblem {
  std::string code;
  std::string reason;
};
std::optional<ImageIdProblem> CheckImageId(const boost::json::object& image_id);

// A ListImages / DescribeImages tagStatus filter ("TAGGED", "UNTAGGED",
// "ANY"; absent is ANY) applied to an image with tag_count tags.
bool TagStatusAdmits(const boost::json::object& request, size_t tag_count);

// ECR resource tags ({"Key", "Value"}). Throws TooManyTagsException beyond
// 50, InvalidTagParameterException for an empty, overlong, reserved ("aws:")
// or repeated key, or an overlong value.
std::vector<RepositoryTag> ParseEcrTags(const boost::json::array& tags);
// Adds tags, replacing the values of keys already present; throws
// TooManyTagsException when the result would exceed 50.
void MergeEcrTags(std::vector<RepositoryTag>& existing, const std::vector<RepositoryTag>& tags);
boost::json::array EcrTagsJson(const std::vector<RepositoryTag>& tags);

// ECR upload ids are UUIDs (its model checks the pattern), while BlobStore
// names uploads with 32 hex digits: the same 128 bits, so the ECR id is the
// blob store's with dashes, and no table is needed to survive restarts.
// nullopt when an id does not have that form.
std::optional<std::string> EcrUploadId(std::string_view blob_store_id);
std::optional<std::string> BlobStoreUploadId(std::string_view ecr_upload_id);

}  // namespace berth::registry
