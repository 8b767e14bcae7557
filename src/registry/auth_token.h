// Registry credentials as ECR issues them.
//
// GetAuthorizationToken returns base64("AWS:" + token); docker, podman and
// skopeo then send it on /v2/ requests as Basic auth with user "AWS". A
// token names the access key that asked for it and its expiry, signed with
// an HMAC under that key's secret: it needs no storage, cannot be forged
// without the secret, and dies with the key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "http/sigv4.h"

namespace berth::registry {

constexpr int64_t kRegistryTokenLifetimeSeconds = 12 * 3600;

// The password half: "<access key id>.<expiry seconds>.<base64url hmac>".
std::string MintRegistryToken(std::string_view access_key_id, std::string_view secret,
                              int64_t expires_at_seconds);

// GetDownloadUrlForLayer's downloadUrl is, as ECR's, a presigned SigV4 URL
// (http::PresignSigV4) for GET /v2/<repository>/blobs/<digest>, signed with
// the caller's key: it downloads that blob with no other credentials until
// it expires, and grants nothing else. The registry checks the service of its
// credential scope (a key's presigned URL for another service is no download
// grant) and not the region, as the ECR endpoint does not.
constexpr int64_t kDownloadUrlLifetimeSeconds = 3600;  // ECR's: an hour
constexpr std::string_view kDownloadUrlRegion = "us-east-1";
constexpr std::string_view kDownloadUrlService = "ecr";

struct RegistryIdentity {
  std::string access_key_id;
  int64_t expires_at_seconds = 0;
};

// Checks an Authorization header value ("Basic base64(AWS:<token>)").
// Returns why it is refused otherwise, for the UNAUTHORIZED error detail.
std::variant<RegistryIdentity, std::string> VerifyRegistryAuthorization(
    std::string_view authorization, const http::SecretLookup& secrets, int64_t now_seconds);

}  // namespace berth::registry
