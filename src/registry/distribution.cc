// The distribution API's front: authentication, routing, error replies and
// the choice of body sinks.
#include "registry/distribution.h"

#include <boost/json/serialize.hpp>
#include <exception>

#include "common/log.h"
#include "registry/auth_token.h"
#include "registry/distribution_call.h"
#include "registry/distribution_sinks.h"
#include "registry/manifest.h"
#include "registry/names.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

constexpr std::string_view kChallenge = "Basic realm=\"berth\"";

std::optional<std::string> Authorize(const http::Request& request,
                                     const http::SecretLookup& secrets, const Clock& clock) {
  const std::string* header = request.Header("authorization");
  auto verdict = VerifyRegistryAuthorization(header ? *header : std::string_view(), secrets,
                                             clock.NowSeconds());
  if (auto* why = std::get_if<std::string>(&verdict)) return *why;
  return std::nullopt;
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
  tracker.WhenDurable(seq, [respond = respond, response = std::move(response)]() mutable {
    respond(std::move(response));
  });
}

void DistributionCall::Fail(int status, std::string_view code, std::string_view message) {
  http::Response response;
  response.status = status;
  response.headers.emplace_back("content-type", "application/json");
  json::object error{{"code", code}, {"message", message}};
  response.body = json::serialize(json::object{{"errors", json::array{std::move(error)}}});
  if (status == 401) response.headers.emplace_back("www-authenticate", std::string(kChallenge));
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
                           const Clock& clock, server::CommitTracker& tracker, Options options)
    : state_(state),
      blobs_(blobs),
      secrets_(std::move(secrets)),
      clock_(clock),
      tracker_(tracker),
      options_(options) {}

bool Distribution::Accepts(const http::Request& request) {
  std::string_view path = request.Path();
  return path == "/v2" || path.starts_with("/v2/");
}

std::shared_ptr<http::BodySink> Distribution::StreamBody(const http::Request& head) {
  using Kind = DistributionRoute::Kind;
  if (!Accepts(head)) return nullptr;
  auto path = PercentDecode(head.Path());
  if (!path) return nullptr;
  DistributionRoute route = ParseRoute(*path);
  bool manifest_put = route.kind == Kind::kManifest && head.method == "PUT";
  bool chunk = route.kind == Kind::kUpload && (head.method == "PATCH" || head.method == "PUT");
  auto query = ParseQuery(head.Query());
  bool monolithic =
      route.kind == Kind::kUploadStart && head.method == "POST" && query.contains("digest");
  if (!manifest_put && !chunk && !monolithic) return nullptr;

  // Refused requests get a sink that stops their body: Handle answers them.
  auto refuse = [](StatusCode code, std::string why) {
    return std::make_shared<RefusingSink>(Status(code, std::move(why)));
  };
  if (auto why = Authorize(head, secrets_, clock_))
    return refuse(StatusCode::kUnauthenticated, *why);
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

  if (auto why = Authorize(call.request, secrets_, clock_)) {
    return call.Fail(401, oci_error::kUnauthorized, *why);
  }
  // Routed on the decoded path, so that an escaped "../" is a name like any
  // other and fails the name grammar below.
  auto path = PercentDecode(call.request.Path());
  if (!path) return call.Fail(400, oci_error::kNameInvalid, "malformed percent-escape in path");
  call.route = ParseRoute(*path);
  call.query = ParseQuery(call.request.Query());

  auto unsupported = [&] {
    call.Fail(405, oci_error::kUnsupported,
              method + " is not supported on " + std::string(call.request.Path()));
  };
  bool read = method == "GET" || method == "HEAD";
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
