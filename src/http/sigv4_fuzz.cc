// libFuzzer target: SigV4 verification of request heads (request_head.h):
// the Authorization header (algorithm, Credential scope, SignedHeaders,
// Signature), presigned query strings (X-Amz-*), X-Amz-Date and Date, and
// the canonical request built from the path, query and signed headers.
// Verification runs at a fixed time, 2015-08-30T12:36:00Z (the date of
// AWS's SigV4 test suite, which the seeds use), with one known key.
//
// Checked: a refusal names an AWS error type; and whatever head the server
// accepts verifies once signed by SignSigV4, and its path once presigned by
// PresignSigV4, with the known key: signing and verification agree on the
// canonical form of every request.
#include "common/fuzz_testing.h"
#include "http/request_head.h"
#include "http/sigv4.h"

namespace {

using namespace berth::http;

constexpr int64_t kNow = 1440938160;  // 20150830T123600Z
const SigV4Credentials kKey{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};

std::optional<std::string> Lookup(std::string_view access_key_id) {
  if (access_key_id == kKey.access_key_id) return kKey.secret_access_key;
  return std::nullopt;
}

bool Verifies(const Request& request) {
  auto result = VerifySigV4(request, Lookup, kNow);
  if (auto* error = std::get_if<SigV4Error>(&result)) {
    std::fprintf(stderr, "refused: %s: %s\n", error->type.c_str(), error->message.c_str());
    return false;
  }
  const auto& identity = std::get<SigV4Identity>(result);
  return identity.access_key_id == kKey.access_key_id && identity.region == "us-east-1" &&
         identity.service == "ecs";
}

// Requests that SignSigV4 cannot make verifiable by design: no Host to sign,
// a presigned query (verified instead of the header), or a declared payload
// hash that is not the (empty) body's.
bool SignableAsIs(const Request& request) {
  if (request.Header("host") == nullptr) return false;
  if (request.Query().find("X-Amz-Algorithm") != std::string_view::npos) return false;
  return request.Header("x-amz-content-sha256") == nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = internal::ParseRequestHead(berth::fuzz::AsText(data, size));
  if (!parsed.ok()) return 0;
  Request request = std::move(*parsed);

  auto result = VerifySigV4(request, Lookup, kNow);
  if (auto* error = std::get_if<SigV4Error>(&result)) {
    BERTH_FUZZ_CHECK(error->type.ends_with("Exception") && !error->message.empty());
  }

  if (SignableAsIs(request)) {
    Request signed_request = request;
    SignSigV4(signed_request, kKey, "us-east-1", "ecs", kNow);
    BERTH_FUZZ_CHECK(Verifies(signed_request));
  }
  if (const std::string* host = request.Header("host")) {
    Request presigned;
    presigned.method = request.method;
    presigned.target =
        PresignSigV4(request.method, *host, request.Path(), kKey, "us-east-1", "ecs", kNow, 300);
    presigned.headers.emplace_back("host", *host);
    BERTH_FUZZ_CHECK(Verifies(presigned));
  }
  return 0;
}
