// AWS Signature Version 4 (AWS4-HMAC-SHA256): signing (clients, tests, load
// tools) and verification (the server), canonicalising requests exactly as
// botocore does for every service but S3 (the path is normalised and encoded
// once more; the query is sorted and RFC 3986 encoded).
//
// Both functions are pure: they keep no state and are safe to call from any
// thread, as long as the SecretLookup is.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http/message.h"

namespace berth::http {

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
};

// Adds x-amz-date and an Authorization header signing host, content-type and
// every x-amz-* header present, replacing any earlier x-amz-date and
// Authorization (so a retry can be signed again). x-amz-content-sha256 is not
// added (JSON services do not need it); if the caller set it, its value is
// signed as the payload hash, as botocore does. request.Header("host") must be
// set, with the value the server will see.
void SignSigV4(Request& request, const SigV4Credentials& creds, std::string_view region,
               std::string_view service, int64_t now_epoch_seconds);

// Presigns a request without a body, as botocore's SigV4QueryAuth (generate_presigned_url) does
// for every service but S3: returns path followed by "?X-Amz-Algorithm=...&X-Amz-Credential=...
// &X-Amz-Date=...&X-Amz-Expires=...&X-Amz-SignedHeaders=host&X-Amz-Signature=...". Only host is
// signed, and the payload hash is that of the empty body (not UNSIGNED-PAYLOAD, which botocore
// uses only for S3), so whoever holds the URL can send it with no other credentials until it
// expires, and VerifySigV4 accepts it. path is sent as given: escape it first if it needs that
// (it must not carry a query). host is the Host header the client will send: with the port
// unless it is the scheme's default, as botocore and HTTP clients write it.
std::string PresignSigV4(std::string_view method, std::string_view host, std::string_view path,
                         const SigV4Credentials& creds, std::string_view region,
                         std::string_view service, int64_t now_epoch_seconds,
                         int64_t expires_seconds);

// Why a request was refused; the names are the AWS error types a client sees.
struct SigV4Error {
  std::string type;     // MissingAuthenticationTokenException, UnrecognizedClientException,
                        // InvalidSignatureException, IncompleteSignatureException
  std::string message;  // what was wrong, in AWS's words where it has some
};

// Returns the secret for an access key id, or nullopt if the key is unknown.
using SecretLookup = std::function<std::optional<std::string>(std::string_view access_key_id)>;

struct SigV4Identity {
  std::string access_key_id;
  std::string region;
  std::string service;
};

// Verifies request's signature: canonical request over method, path, sorted
// query, the signed headers and the payload hash; the credential scope's date
// must match x-amz-date (or the Date header, for clients that sign that), and
// the request must be dated within five minutes of now. Presigned URLs
// (X-Amz-Algorithm, X-Amz-Signature, ... in the query, no Authorization
// header) are accepted until X-Amz-Expires runs out. Compares signatures in
// constant time.
//
// The region and service come from the client's credential scope and are
// returned, not checked: the caller decides which it serves.
std::variant<SigV4Identity, SigV4Error> VerifySigV4(const Request& request,
                                                    const SecretLookup& lookup,
                                                    int64_t now_epoch_seconds);

// Who sent request: its authenticated_access_key_id when server code set
// it (a dashboard session), else what VerifySigV4 finds. The one place that
// trusts that field; every endpoint a dashboard session may reach
// authenticates through it.
std::variant<SigV4Identity, SigV4Error> AuthenticateRequest(const Request& request,
                                                            const SecretLookup& lookup,
                                                            int64_t now_epoch_seconds);

}  // namespace berth::http
