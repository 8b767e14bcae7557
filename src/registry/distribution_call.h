// One /v2/ request being served, and the replies it may get. Internal to
// the distribution_*.cc files.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "awsjson/commit_tracker.h"
#include "http/message.h"
#include "registry/distribution.h"
#include "registry/registry_error.h"

namespace berth::registry {

// The OCI error codes the spec defines, plus UNKNOWN for server faults.
namespace oci_error {
inline constexpr std::string_view kBlobUnknown = "BLOB_UNKNOWN";
inline constexpr std::string_view kBlobUploadInvalid = "BLOB_UPLOAD_INVALID";
inline constexpr std::string_view kBlobUploadUnknown = "BLOB_UPLOAD_UNKNOWN";
inline constexpr std::string_view kDigestInvalid = "DIGEST_INVALID";
inline constexpr std::string_view kManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN";
inline constexpr std::string_view kManifestInvalid = "MANIFEST_INVALID";
inline constexpr std::string_view kManifestUnknown = "MANIFEST_UNKNOWN";
inline constexpr std::string_view kNameInvalid = "NAME_INVALID";
inline constexpr std::string_view kNameUnknown = "NAME_UNKNOWN";
inline constexpr std::string_view kSizeInvalid = "SIZE_INVALID";
inline constexpr std::string_view kTagInvalid = "TAG_INVALID";
inline constexpr std::string_view kUnauthorized = "UNAUTHORIZED";
inline constexpr std::string_view kDenied = "DENIED";
inline constexpr std::string_view kTooManyRequests = "TOOMANYREQUESTS";
inline constexpr std::string_view kUnsupported = "UNSUPPORTED";
inline constexpr std::string_view kUnknown = "UNKNOWN";
}  // namespace oci_error

struct DistributionCall {
  http::Request request;
  http::Responder respond;
  awsjson::CommitTracker& tracker;
  DistributionRoute route;
  std::map<std::string, std::string, std::less<>> query;
  bool head = false;  // a HEAD request: the reply carries no body

  // Sends response once change seq (and all before it) is durable.
  void Reply(http::Response response, uint64_t seq);
  // Replies to a read: after every change it may have observed.
  void ReplyRead(http::Response response) { Reply(std::move(response), tracker.LastAssigned()); }
  // An OCI error body {"errors": [{code, message, detail}]}.
  void Fail(int status, std::string_view code, std::string_view message);
  // A RegistryState refusal, in OCI terms.
  void Fail(const RegistryError& error);

  const std::string* Query(std::string_view key) const {
    auto it = query.find(key);
    return it == query.end() ? nullptr : &it->second;
  }
};

// An empty reply with a status, e.g. 202 or 204.
http::Response EmptyResponse(int status);

}  // namespace berth::registry
