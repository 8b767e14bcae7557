// The distribution API's front: authentication, routing, error replies and
// the choice of body sinks.
#include "registry/distribution.h"

#include <boost/json/serialize.hpp>
#include <exception>
#include <optional>
#include <string>
#include <variant>

#include "awsjson/audit.h"
#include "common/log.h"
#include "common/utf8.h"
#include "http/query_string.h"
#include "http/sigv4.h"
#include "registry/auth_token.h"
#include "registry/distribution_call.h"
#include "registry/distribution_routes.h"
#include "registry/distribution_sinks.h"
#include "registry/manifest.h"
#include "registry/names.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

constexpr std::string_view kChallenge = "Basic realm=\"berth\"";

// Whether every segment of a path is kept by SigV4's normalisation (no
// empty, "." or ".." segments after the leading '/').
bool IsNormalPath(std::string_view path) {
  if (!path.starts_with('/')) return false;
  path.remove_prefix(1);
  while (true) {
    size_t end = path.find('/');
    std::string_view segment = path.substr(0, end);
    if (segment.empty() || segment == "." || segment == "..") return false;
    if (end == std::string_view::npos) return true;
    path.remove_prefix(end + 1);
  }
}

// A presigned URL (GetDownloadUrlForLayer's downloadUrl) grants the download
// of the one blob whose path it signs, and nothing else: no other method, no
// manifest, no upload, even though the signature would check out.
std::optional<std::string> AuthorizePresigned(const http::Request& request,
                                              const http::SecretLookup& secrets, const Clock& clock,
                                              std::string* caller) {
  constexpr std::string_view kOnlyBlobs = "a presigned URL can only download a blob";
  if (request.method != "GET" && request.method != "HEAD") return std::string(kOnlyBlobs);
  // The signature covers the path as SigV4 normalises it, but requests are
  // routed on the path as sent; one that normalisation would change is
  // refused, so that what is served is what was signed for.
  std::string_view raw_path = request.Path();
  auto path = http::PercentDecode(raw_path);
  if (!path || !IsNormalPath(raw_path) ||
      ParseRoute(*path).kind != DistributionRoute::Kind::kBlob) {
    return std::string(kOnlyBlobs);
  }
  auto verdict = http::VerifySigV4(request, secrets, clock.NowSeconds());
  if (auto* error = std::get_if<http::SigV4Error>(&verdict)) {
    return error->type + ": " + error->message;
  }
  const auto& identity = std::get<http::SigV4Identity>(verdict);
  if (identity.service != kDownloadUrlService) {
    return "a presigned URL for service '" + identity.service + "' grants no download; want '" +
           std::string(kDownloadUrlService) + "'";
  }
  *caller = identity.access_key_id;
  return std::nullopt;
}

// Basic auth with a registry token, or else a presigned download URL; the
// access key it speaks for goes to *caller.
std::optional<std::string> Authorize(const http::Request& request,
                                     const http::SecretLookup& secrets, const Clock& clock,
                                     std::string* caller) {
  const std::string* header = request.Header("authorization");
  if (header == nullptr && http::ParseQueryString(request.Query()).contains("X-Amz-Algorithm")) {
    return AuthorizePresigned(request, secrets, clock, caller);
  }
  auto verdict = VerifyRegistryAuthorization(header ? *header : std::string_view(), secrets,
                                             clock.NowSeconds());
  if (auto* why = std::get_if<std::string>(&verdict)) return *why;
  *caller = std::get<RegistryIdentity>(verdict).access_key_id;
  return std::nullopt;
}

// An OCI error reply: {"errors": [{"code", "message"}]}. The message may
// quote the request's path or headers: made valid UTF-8 for JSON.
http::Response ErrorReply(int status, std::string_view code, std::string_view message) {
  http::Response response;
  response.status = status;
  response.headers.emplace_back("content-type", "application/json");
  json::object error{{"code", code}, {"message", ValidUtf8(message)}};
  response.body = json::serialize(json::object{{"errors", json::array{std::move(error)}}});
  if (status == 401) response.headers.emplace_back("www-authenticate", std::string(kChallenge));
  return response;
}

}  // namespace

http::Response EmptyResponse(int status) {
  http::Response response;
  response.status = status;
  return response;
}

void DistributionCall::Reply(http::Response response, uint64_t seq) {
  response.SetHeader("docker-distribution-api-version", "registry/2.0");
  if (head) response.body.clear();
  tracker.WhenDurable(
      seq,
      [respond = respond, response = std::move(response)]() mutable {
        respond(std::move(response));
      },
      [respond = respond](const Status& why) {
        // Not acknowledged: the change (or one it observed) is not stored.
        http::Response error = ErrorReply(500, "UNKNOWN", "not stored: " + why.ToString());
        error.SetHeader("docker-distribution-api-version", "registry/2.0");
        respond(std::move(error));
      });
}

void DistributionCall::Fail(int status, std::string_view code, std::string_view message) {
  http::Response response = ErrorReply(status, code, message);
  // An error changes nothing, but it may report state (NAME_UNKNOWN after a
  // delete) that must not be taken back by a crash.
  ReplyRead(std::move(response));
}

void DistributionCall::Fail(const RegistryError& error) {
  using Kind = RegistryErrorKind;
  switch (error.kind) {
    case Kind::kNameInvalid:
      return Fail(400, oci_error::kNameInvalid, error.message);
    case Kind::kRepositoryNotFound:
      return Fail(404, oci_error::kNameUnknown, error.message);
    case Kind::kTagInvalid:
      return Fail(400, oci_error::kTagInvalid, error.message);
    case Kind::kDigestInvalid:
      return Fail(400, oci_error::kDigestInvalid, error.message);
    case Kind::kManifestInvalid:
      return Fail(400, oci_error::kManifestInvalid, error.message);
    case Kind::kManifestTooLarge:
      return Fail(413, oci_error::kSizeInvalid, error.message);
    case Kind::kManifestUnknown:
      return Fail(404, oci_error::kManifestUnknown, error.message);
    case Kind::kManifestBlobUnknown:
      return Fail(400, oci_error::kManifestBlobUnknown, error.message);
    case Kind::kBlobUnknown:
      return Fail(404, oci_error::kBlobUnknown, error.message);
    case Kind::kTagImmutable:
      // What ECR answers docker for an immutable tag.
      return Fail(400, oci_error::kTagInvalid, error.message);
    case Kind::kRepositoryAlreadyExists:
    case Kind::kRepositoryNotEmpty:
    case Kind::kImageReferencedByIndex:
      return Fail(409, oci_error::kDenied, error.message);
    case Kind::kInternal:
      break;
  }
  LogError("registry request failed", {{"error", error.message}});
  Fail(500, oci_error::kUnknown, error.message);
}

Distribution::Distribution(RegistryState& state, BlobStore& blobs, http::SecretLookup secrets,
                           const Clock& clock, awsjson::CommitTracker& tracker, Options options)
    : state_(state),
      blobs_(blobs),
      secrets_(std::move(secrets)),
      clock_(clock),
      tracker_(tracker),
      options_(options) {}

Distribution::~Distribution() { async_calls_.WaitForNone(); }

std::shared_ptr<void> Distribution::AsyncCalls::Hold() {
  {
    std::lock_guard lock(mu_);
    ++count_;
  }
  return std::shared_ptr<void>(nullptr, [this](void*) {
    std::lock_guard lock(mu_);
    if (--count_ == 0) none_.notify_all();
  });
}

void Distribution::AsyncCalls::WaitForNone() {
  std::unique_lock lock(mu_);
  none_.wait(lock, [this] { return count_ == 0; });
}

bool Distribution::Accepts(const http::Request& request) {
  std::string_view path = request.Path();
  return path == "/v2" || path.starts_with("/v2/");
}

std::shared_ptr<http::BodySink> Distribution::StreamBody(const http::Request& head) {
  using Kind = DistributionRoute::Kind;
  if (!Accepts(head)) return nullptr;
  auto path = http::PercentDecode(head.Path());
  if (!path) return nullptr;
  DistributionRoute route = ParseRoute(*path);
  bool manifest_put = route.kind == Kind::kManifest && head.method == "PUT";
  bool chunk = route.kind == Kind::kUpload && (head.method == "PATCH" || head.method == "PUT");
  auto query = http::ParseQueryString(head.Query());
  bool monolithic =
      route.kind == Kind::kUploadStart && head.method == "POST" && query.contains("digest");
  if (!manifest_put && !chunk && !monolithic) return nullptr;

  // Refused requests get a sink that stops their body: Handle answers them.
  auto refuse = [](StatusCode code, std::string why) {
    return std::make_shared<RefusingSink>(Status(code, std::move(why)));
  };
  std::string caller;
  if (auto why = Authorize(head, secrets_, clock_, &caller)) {
    return refuse(StatusCode::kUnauthenticated, *why);
  }
  if (options_.may_push && !options_.may_push(caller)) {
    return refuse(StatusCode::kPermissionDenied, "pull only");  // Handle says why
  }
  if (options_.write_gate && options_.write_gate()) {
    return refuse(StatusCode::kResourceExhausted, "disk full");  // Handle says why
  }
  if (!IsValidRepositoryName(route.name)) return refuse(StatusCode::kInvalidArgument, "bad name");
  if (manifest_put) return std::make_shared<ManifestSink>(kMaxManifestBytes);
  // A body that ends in a blob needs a valid digest; without one the
  // request fails and its bytes would only pile up in an upload.
  bool completes = monolithic || head.method == "PUT";
  if (completes && (!query.contains("digest") || !Digest::Parse(query.at("digest")))) {
    return refuse(StatusCode::kInvalidArgument, "missing or invalid digest");
  }
  if (monolithic) {
    if (!options_.create_on_push && !state_.GetRepository(route.name).ok()) {
      return refuse(StatusCode::kNotFound, "no such repository");
    }
    return std::make_shared<UploadSink>(blobs_, "", 0);
  }
  std::string id = UploadIdFor(route.name, route.reference);
  if (id.empty()) return refuse(StatusCode::kNotFound, "unknown upload");
  std::optional<uint64_t> offset;
  if (const std::string* range = head.Header("content-range")) {
    auto parsed = ParseContentRange(*range);
    if (!parsed) return refuse(StatusCode::kInvalidArgument, "bad Content-Range");
    offset = parsed->first;
  }
  return std::make_shared<UploadSink>(blobs_, std::move(id), offset);
}

void Distribution::Handle(http::Request&& request, http::Responder respond) {
  using Kind = DistributionRoute::Kind;
  DistributionCall call{std::move(request), std::move(respond), tracker_, {}, {}};
  call.head = call.request.method == "HEAD";
  const std::string& method = call.request.method;

  const bool read = method == "GET" || method == "HEAD";
  std::string caller;
  auto audit = std::make_shared<awsjson::AuditRecord>();
  if (!read) {
    // Every change to the registry is audited with its outcome.
    audit->operation = method + " " + std::string(call.request.Path());
    call.respond = awsjson::AuditedResponder(audit, std::move(call.respond));
  }
  if (auto why = Authorize(call.request, secrets_, clock_, &caller)) {
    return call.Fail(401, oci_error::kUnauthorized, *why);
  }
  audit->key = caller;
  if (!read) {
    if (options_.may_push && !options_.may_push(caller)) {
      return call.Fail(
          403, oci_error::kDenied,
          "requested access to the resource is denied: access key " + caller + " may only pull");
    }
    if (options_.write_gate) {
      if (auto refusal = options_.write_gate()) {
        return call.Fail(507, oci_error::kUnknown, *refusal);
      }
    }
  }
  // Routed on the decoded path, so that an escaped "../" is a name like any
  // other and fails the name grammar below.
  auto path = http::PercentDecode(call.request.Path());
  if (!path) return call.Fail(400, oci_error::kNameInvalid, "malformed percent-escape in path");
  call.route = ParseRoute(*path);
  call.query = http::ParseQueryString(call.request.Query());

  auto unsupported = [&] {
    call.Fail(405, oci_error::kUnsupported,
              method + " is not supported on " + std::string(call.request.Path()));
  };
  try {
    switch (call.route.kind) {
      case Kind::kBase: {
        if (!read) return unsupported();
        http::Response response;
        response.headers.emplace_back("content-type", "application/json");
        response.body = "{}";
        return call.ReplyRead(std::move(response));
      }
      case Kind::kCatalog:
        return read ? Catalog(call) : unsupported();
      case Kind::kUnknown:
        return call.Fail(404, oci_error::kUnsupported,
                         "no such endpoint: " + std::string(call.request.Path()));
      default:
        break;
    }
    if (!IsValidRepositoryName(call.route.name)) {
      return call.Fail(400, oci_error::kNameInvalid,
                       "invalid repository name \"" + call.route.name + "\"");
    }
    switch (call.route.kind) {
      case Kind::kTags:
        return read ? ListTags(call) : unsupported();
      case Kind::kManifest:
        if (read) return GetManifest(call);
        if (method == "PUT") return PutManifest(call);
        if (method == "DELETE") return DeleteManifest(call);
        return unsupported();
      case Kind::kBlob:
        if (read) return GetBlob(call);
        if (method == "DELETE") return DeleteBlob(call);
        return unsupported();
      case Kind::kUploadStart:
        return method == "POST" ? StartUpload(call) : unsupported();
      case Kind::kUpload:
        if (method == "GET") return UploadStatus(call);
        if (method == "PATCH") return PatchUpload(call);
        if (method == "PUT") return PutUpload(call);
        if (method == "DELETE") return CancelUpload(call);
        return unsupported();
      case Kind::kReferrers:
        return read ? Referrers(call) : unsupported();
      default:
        return unsupported();
    }
  } catch (const std::exception& e) {
    // Each handler replies exactly once and throws only before replying
    // (allocation failure, a JSON library error).
    LogError("registry request failed", {{"error", e.what()}});
    call.Fail(500, oci_error::kUnknown, e.what());
  }
}

}  // namespace berth::registry
