// Layers through ECR: BatchCheckLayerAvailability, InitiateLayerUpload,
// UploadLayerPart, CompleteLayerUpload, GetDownloadUrlForLayer. Uploads are
// BlobStore uploads, shared with the OCI face, and survive a restart.
#include <map>
#include <set>

#include "common/base64.h"
#include "model/json_util.h"
#include "registry/auth_token.h"
#include "registry/digest.h"
#include "registry/ecr_api.h"
#include "registry/ecr_shapes.h"
#include "registry/manifest.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

// What ECR suggests as the size of each UploadLayerPart; its model allows
// parts of up to 20 MiB.
constexpr int64_t kPartSize = 10 << 20;

// The Host header a client sends for base_url ("http://h:8080" -> "h:8080"),
// which the presigned signature covers: without the scheme's default port,
// as HTTP clients (and botocore) leave it out.
std::string ProxyHost(std::string_view base_url) {
  std::string_view scheme;
  if (size_t sep = base_url.find("://"); sep != std::string_view::npos) {
    scheme = base_url.substr(0, sep);
    base_url.remove_prefix(sep + 3);
  }
  base_url = base_url.substr(0, base_url.find('/'));
  if ((scheme == "http" && base_url.ends_with(":80")) ||
      (scheme == "https" && base_url.ends_with(":443"))) {
    base_url.remove_suffix(scheme == "http" ? 3 : 4);
  }
  return std::string(base_url);
}

// The media types that the repository's manifests give the wanted digests
// (layers and configs). A blob has no media type of its own: it has the one
// a manifest's descriptor names, and none before a manifest refers to it.
std::map<std::string, std::string, std::less<>> MediaTypesOf(const RegistryState& state,
                                                             const BlobStore& blobs,
                                                             std::string_view repository,
                                                             std::set<std::string> wanted) {
  std::map<std::string, std::string, std::less<>> found;
  auto images = state.ListImages(repository);
  if (!images.ok()) return found;
  for (const Image& image : *images) {
    if (wanted.empty()) break;
    bool refers = false;
    for (const auto& reference : image.references) refers = refers || wanted.contains(reference);
    if (!refers) continue;
    auto digest = Digest::Parse(image.digest);
    if (!digest) continue;
    auto bytes = blobs.Read(*digest, kMaxManifestBytes);
    if (!bytes.ok()) continue;
    auto manifest = ParseManifest(*bytes, image.media_type);
    if (!manifest.ok()) continue;
    std::vector<const ManifestDescriptor*> descriptors;
    if (manifest->config) descriptors.push_back(&*manifest->config);
    for (const auto& layer : manifest->layers) descriptors.push_back(&layer);
    for (const ManifestDescriptor* d : descriptors) {
      if (wanted.erase(d->digest) > 0) found[d->digest] = d->media_type;
    }
  }
  return found;
}

[[noreturn]] void FailUploadNotFound(std::string_view upload_id, std::string_view repository) {
  Fail("UploadNotFoundException", "The upload with id '" + std::string(upload_id) +
                                      "' does not exist in the repository with name '" +
                                      std::string(repository) + "'");
}

// ECR tells the client where to resume: the last byte it has.
[[noreturn]] void FailLayerPart(const std::string& why, uint64_t upload_size) {
  Fail("InvalidLayerPartException", why + "; the last valid byte received is " +
                                        std::to_string(static_cast<int64_t>(upload_size) - 1));
}

}  // namespace

awsjson::Reply EcrApi::BatchCheckLayerAvailability(json::object& in, const Context&) {
  Repository repository = RequireRepository(in);
  const std::string& name = repository.name;
  json::array layers, failures;
  std::set<std::string> available;
  for (const auto& v : ArrayOr(in, "layerDigests")) {
    std::string digest(AsString(v));
    if (digest.empty()) {
      failures.push_back(json::object{{"layerDigest", digest},
                                      {"failureCode", "MissingLayerDigest"},
                                      {"failureReason", "The layer digest is empty"}});
      continue;
    }
    if (!Digest::Parse(digest)) {
      failures.push_back(json::object{
          {"layerDigest", digest},
          {"failureCode", "InvalidLayerDigest"},
          {"failureReason", "Invalid layer digest '" + digest + "': expected sha256:<64 hex>"}});
      continue;
    }
    json::object layer{{"layerDigest", digest}};
    if (auto blob = state_.StatBlob(name, digest)) {
      layer["layerAvailability"] = "AVAILABLE";
      layer["layerSize"] = blob->size;
      available.insert(digest);
    } else {
      layer["layerAvailability"] = "UNAVAILABLE";
    }
    layers.push_back(std::move(layer));
  }
  // Media types come from the manifests, so they are looked up once for all
  // available layers, after the loop.
  auto media_types = MediaTypesOf(state_, blobs_, name, std::move(available));
  for (auto& v : layers) {
    json::object& layer = v.as_object();
    auto it = media_types.find(model::AsString(layer.at("layerDigest")));
    if (it != media_types.end()) layer["mediaType"] = it->second;
  }
  return {json::object{{"layers", std::move(layers)}, {"failures", std::move(failures)}}};
}

awsjson::Reply EcrApi::InitiateLayerUpload(json::object& in, const Context&) {
  // A push to a repository that does not exist is refused, as in ECR: berth
  // creates repositories only when asked to.
  Repository repository = RequireRepository(in);
  auto id = blobs_.StartUpload();
  if (!id.ok()) Fail("ServerException", "start upload: " + id.status().ToString());
  auto upload_id = EcrUploadId(*id);
  if (!upload_id) {
    (void)blobs_.CancelUpload(*id);
    Fail("ServerException", "the blob store's upload id '" + *id + "' is not 128 bits of hex");
  }
  return {json::object{{"uploadId", *upload_id}, {"partSize", kPartSize}}};
}

awsjson::Reply EcrApi::UploadLayerPart(json::object& in, const Context&) {
  Repository repository = RequireRepository(in);
  std::string_view upload_id = StringOr(in, "uploadId", "");
  auto id = BlobStoreUploadId(upload_id);
  if (!id) FailUploadNotFound(upload_id, repository.name);
  auto data = Base64Decode(StringOr(in, "layerPartBlob", ""));
  if (!data) Fail("InvalidParameterException", "layerPartBlob is not valid base64");
  int64_t first = OptInt(in, "partFirstByte").value_or(0);
  int64_t last = OptInt(in, "partLastByte").value_or(0);

  auto size = blobs_.UploadSize(*id);
  if (!size.ok()) {
    if (size.status().code() == StatusCode::kNotFound)
      FailUploadNotFound(upload_id, repository.name);
    Fail("ServerException", "upload " + std::string(upload_id) + ": " + size.status().ToString());
  }
  if (data->empty()) FailLayerPart("layerPartBlob is empty", *size);
  if (first != static_cast<int64_t>(*size)) {
    FailLayerPart("partFirstByte " + std::to_string(first) + " must equal the upload's size, " +
                      std::to_string(*size),
                  *size);
  }
  if (last != first + static_cast<int64_t>(data->size()) - 1) {
    FailLayerPart("partLastByte " + std::to_string(last) + " does not match the " +
                      std::to_string(data->size()) + " bytes of layerPartBlob starting at " +
                      std::to_string(first),
                  *size);
  }
  auto writer = blobs_.OpenUpload(*id, *size);
  if (!writer.ok()) {
    if (writer.status().code() == StatusCode::kNotFound)
      FailUploadNotFound(upload_id, repository.name);
    if (writer.status().code() == StatusCode::kFailedPrecondition) {
      FailLayerPart(writer.status().message(), *size);
    }
    Fail("ServerException", "upload " + std::string(upload_id) + ": " + writer.status().ToString());
  }
  // Close flushes what the writer buffered: the part is on disk before the reply.
  Status written = (*writer)->Write(*data);
  if (written.ok()) written = (*writer)->Close();
  if (!written.ok()) {
    Fail("ServerException", "upload " + std::string(upload_id) + ": " + written.ToString());
  }
  int64_t last_received = static_cast<int64_t>((*writer)->size()) - 1;
  json::object reply = RepositoryHead(repository.name);
  reply["uploadId"] = upload_id;
  reply["lastByteReceived"] = last_received;
  return {std::move(reply)};
}

awsjson::Reply EcrApi::CompleteLayerUpload(json::object& in, const Context&) {
  Repository repository = RequireRepository(in);
  const std::string& name = repository.name;
  std::string_view upload_id = StringOr(in, "uploadId", "");
  const json::array& digests = ArrayOr(in, "layerDigests");
  if (digests.size() != 1) {
    Fail("InvalidParameterException",
         "Invalid parameter at 'layerDigests': one upload makes one layer; give exactly one "
         "digest, not " +
             std::to_string(digests.size()));
  }
  std::string digest_text(AsString(digests[0]));
  auto digest = Digest::Parse(digest_text);
  if (!digest) {
    Fail("InvalidLayerException", "Invalid layer digest '" + digest_text +
                                      "': expected sha256:<64 hex digits> or sha512:<128>");
  }
  auto id = BlobStoreUploadId(upload_id);
  if (!id) FailUploadNotFound(upload_id, name);
  auto size = blobs_.UploadSize(*id);
  if (!size.ok()) {
    if (size.status().code() == StatusCode::kNotFound)
      FailUploadNotFound(upload_id, repository.name);
    Fail("ServerException", "upload " + std::string(upload_id) + ": " + size.status().ToString());
  }
  if (*size == 0) {
    (void)blobs_.CancelUpload(*id);
    Fail("EmptyUploadException",
         "The upload with id '" + std::string(upload_id) + "' contains no data");
  }
  if (state_.HasBlob(name, digest_text)) {
    // ECR refuses a second upload of a layer the repository has; the client
    // carries on with the one there, and the duplicate bytes are dropped.
    (void)blobs_.CancelUpload(*id);
    Fail("LayerAlreadyExistsException", "The layer with digest '" + digest_text +
                                            "' already exists in the repository with name '" +
                                            name + "' in registry with id '" + scope_.account +
                                            "'");
  }
  auto blob = blobs_.CompleteUpload(*id, *digest);
  if (!blob.ok()) {
    switch (blob.status().code()) {
      case StatusCode::kInvalidArgument:
        Fail("InvalidLayerException", "The layer uploaded with id '" + std::string(upload_id) +
                                          "' does not match digest '" + digest_text +
                                          "': " + blob.status().message());
      case StatusCode::kNotFound:
        FailUploadNotFound(upload_id, repository.name);
      default:
        Fail("ServerException",
             "complete upload " + std::string(upload_id) + ": " + blob.status().ToString());
    }
  }
  auto seq = state_.LinkBlob(name, digest_text);
  if (!seq.ok()) FailWith(seq.error(), name);
  json::object reply = RepositoryHead(name);
  reply["uploadId"] = upload_id;
  reply["layerDigest"] = digest_text;
  return {std::move(reply), *seq};
}

awsjson::Reply EcrApi::GetDownloadUrlForLayer(json::object& in, const Context& ctx) {
  Repository repository = RequireRepository(in);
  const std::string& name = repository.name;
  std::string digest(StringOr(in, "layerDigest", ""));
  if (!Digest::Parse(digest)) {
    Fail("InvalidParameterException",
         "Invalid parameter at 'layerDigest': '" + digest + "' is not a digest");
  }
  if (!state_.HasBlob(name, digest)) {
    Fail("LayersNotFoundException", "The image layer '" + digest +
                                        "' does not exist in the repository with name '" + name +
                                        "' in the registry with id '" + scope_.account + "'");
  }
  // As in ECR, only layers that an image uses can be downloaded: an
  // unreferenced upload may be garbage collected at any moment.
  auto images = state_.ListImages(name);
  if (!images.ok()) FailWith(images.error(), name);
  bool referenced = false;
  for (const Image& image : *images) {
    for (const auto& reference : image.references) referenced = referenced || reference == digest;
    if (referenced) break;
  }
  if (!referenced) {
    Fail("LayerInaccessibleException", "The image layer '" + digest +
                                           "' is not associated with an image in the repository "
                                           "with name '" +
                                           name + "'");
  }
  // As ECR's, the URL is presigned (with the caller's key) so that it downloads the layer with
  // no other credentials, for an hour; the registry accepts such a signature for this one blob.
  // The caller was verified with this key moments ago; it can only have been deleted since.
  std::optional<std::string> secret = secrets_(ctx.access_key_id);
  if (!secret) {
    Fail("UnrecognizedClientException",
         "The access key '" + ctx.access_key_id + "' is not known to this server");
  }
  std::string path = "/v2/" + name + "/blobs/" + digest;
  std::string signed_path = http::PresignSigV4(
      "GET", ProxyHost(proxy_endpoint_), path, {ctx.access_key_id, *secret}, kDownloadUrlRegion,
      kDownloadUrlService, ctx.now_millis / 1000, kDownloadUrlLifetimeSeconds);
  return {json::object{{"downloadUrl", proxy_endpoint_ + signed_path}, {"layerDigest", digest}}};
}

}  // namespace berth::registry
