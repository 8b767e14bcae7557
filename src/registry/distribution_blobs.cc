// The distribution API's blobs: pull (GET/HEAD with ranges), delete, and
// the upload protocol (POST start, monolithic or mount; PATCH chunks; GET
// status; PUT complete; DELETE cancel).
#include <algorithm>
#include <memory>
#include <optional>

#include "common/log.h"
#include "common/metrics.h"
#include "registry/distribution.h"
#include "registry/distribution_call.h"
#include "registry/distribution_sinks.h"
#include "registry/names.h"

namespace berth::registry {

namespace {

bool IsUploadIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::string UploadLocation(std::string_view repository, std::string_view token) {
  return "/v2/" + std::string(repository) + "/blobs/uploads/" + std::string(token);
}

// The Range header of upload replies, in the reference registry's form:
// the last byte received ("0-0" also when nothing was).
std::string UploadRange(uint64_t size) { return "0-" + std::to_string(size == 0 ? 0 : size - 1); }

http::Response UploadProgress(int status, std::string_view repository, std::string_view token,
                              uint64_t size) {
  http::Response response = EmptyResponse(status);
  response.headers.emplace_back("location", UploadLocation(repository, token));
  response.headers.emplace_back("range", UploadRange(size));
  response.headers.emplace_back("docker-upload-uuid", std::string(token));
  return response;
}

http::Response BlobCreated(std::string_view repository, const std::string& digest) {
  http::Response response = EmptyResponse(201);
  response.headers.emplace_back("location", "/v2/" + std::string(repository) + "/blobs/" + digest);
  response.headers.emplace_back("docker-content-digest", digest);
  return response;
}

// Replies to an upload step the blob store refused.
void FailUpload(DistributionCall& call, const Status& status, std::string_view what) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return call.Fail(404, oci_error::kBlobUploadUnknown, status.message());
    case StatusCode::kFailedPrecondition:
      // An out-of-order chunk, or one racing another writer.
      return call.Fail(416, oci_error::kBlobUploadInvalid, status.message());
    case StatusCode::kInvalidArgument:
      return call.Fail(400, oci_error::kBlobUploadInvalid, status.message());
    default:
      return call.Fail(500, oci_error::kUnknown, std::string(what) + ": " + status.message());
  }
}

// The reply to a completed blob upload, once the blob store has made it
// durable (or failed to): the blob is linked in the call's repository and
// the 201 goes out when that link is durable too, and not before seq.
// Runs on the blob store's sync thread; a throw there would end the
// process, so it is answered here.
void ReplyBlobCreated(DistributionCall& call, RegistryState& state,
                      const StatusOr<BlobInfo>& completed, const Digest& digest,
                      std::string_view what, uint64_t seq) {
  try {
    if (!completed.ok()) {
      if (completed.status().code() == StatusCode::kInvalidArgument) {
        return call.Fail(400, oci_error::kDigestInvalid, completed.status().message());
      }
      return FailUpload(call, completed.status(), what);
    }
    auto linked = state.LinkBlob(call.route.name, digest.ToString());
    if (!linked.ok()) return call.Fail(linked.error());
    call.Reply(BlobCreated(call.route.name, digest.ToString()), std::max(seq, *linked));
  } catch (const std::exception& e) {
    LogError("registry request failed", {{"error", e.what()}});
    call.Fail(500, oci_error::kUnknown, e.what());
  }
}

// Appends the request's body to upload id: from the UploadSink it was
// streamed to, or from Request::body when it was buffered. Checks the
// Content-Range, if any, against the upload's size. Replies with the error
// and returns nullopt on failure; else returns the upload's new size.
std::optional<uint64_t> AppendBody(DistributionCall& call, BlobStore& blobs,
                                   const std::string& id) {
  const http::Request& request = call.request;
  std::optional<ChunkRange> range;
  if (const std::string* header = request.Header("content-range")) {
    range = ParseContentRange(*header);
    if (!range) {
      call.Fail(416, oci_error::kBlobUploadInvalid, "malformed Content-Range " + *header);
      return std::nullopt;
    }
  }
  auto* sink = dynamic_cast<UploadSink*>(request.body_sink.get());
  if (request.body_sink != nullptr && sink == nullptr) {
    // StreamBody refused the body (the request changed state in between,
    // for example): it was not read.
    FailUpload(call, request.body_status.ok() ? Internal("body not received") : request.body_status,
               "receive chunk");
    return std::nullopt;
  }
  uint64_t received = sink != nullptr ? sink->bytes_written() : request.body.size();
  if (range && range->last - range->first + 1 != received && received > 0) {
    if (sink != nullptr) (void)sink->Close();
    call.Fail(400, oci_error::kBlobUploadInvalid,
              "Content-Range covers " + std::to_string(range->last - range->first + 1) +
                  " bytes but the body has " + std::to_string(received));
    return std::nullopt;
  }
  if (sink != nullptr && sink->opened()) {
    Status closed = sink->Close();
    if (!sink->open_status().ok()) {
      FailUpload(call, sink->open_status(), "open upload");
      return std::nullopt;
    }
    if (!closed.ok()) {
      FailUpload(call, closed, "write upload");
      return std::nullopt;
    }
    if (!request.body_status.ok()) {
      FailUpload(call, request.body_status, "receive chunk");
      return std::nullopt;
    }
    return sink->upload_size();
  }
  // Nothing streamed: the body is buffered, or empty.
  auto size = blobs.UploadSize(id);
  if (!size.ok()) {
    FailUpload(call, size.status(), "upload size");
    return std::nullopt;
  }
  if (range && range->first != *size) {
    call.Fail(416, oci_error::kBlobUploadInvalid,
              "chunk starts at " + std::to_string(range->first) + " but the upload has " +
                  std::to_string(*size) + " bytes");
    return std::nullopt;
  }
  if (request.body.empty()) return *size;
  auto writer = blobs.OpenUpload(id, *size);
  if (!writer.ok()) {
    FailUpload(call, writer.status(), "open upload");
    return std::nullopt;
  }
  Status written = (*writer)->Write(request.body);
  Status closed = (*writer)->Close();
  if (!written.ok() || !closed.ok()) {
    FailUpload(call, written.ok() ? closed : written, "write upload");
    return std::nullopt;
  }
  return (*writer)->size();
}

metrics::Counter& RefusedUploads() {
  static metrics::Counter& refused =
      metrics::DefaultRegistry()
          .AddCounter("berth_registry_uploads_refused_total",
                      "Blob uploads refused because their repository had the most uploads open "
                      "that it may (--max-uploads-per-repository).",
                      {"reason"})
          .With({"open_uploads_per_repository"});
  return refused;
}

}  // namespace

std::string Distribution::UploadToken(std::string_view repository, std::string_view upload_id) {
  // Not a secret: upload ids are already unguessable. It only binds the id
  // to its repository, without keeping (and persisting) a table of them.
  std::string binding = "berth-upload\n" + std::string(repository) + "\n" + std::string(upload_id);
  return std::string(upload_id) + "." + Digest::Sha256Of(binding).hex.substr(0, 16);
}

std::string Distribution::UploadIdFor(std::string_view repository, std::string_view token) {
  size_t dot = token.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  std::string_view id = token.substr(0, dot);
  for (char c : id) {
    if (!IsUploadIdChar(c)) return "";
  }
  if (UploadToken(repository, id) != token) return "";
  return std::string(id);
}

void Distribution::GetBlob(DistributionCall& call) {
  const std::string& name = call.route.name;
  auto digest = Digest::Parse(call.route.reference);
  if (!digest) {
    return call.Fail(400, oci_error::kDigestInvalid, "invalid digest " + call.route.reference);
  }
  if (auto repo = state_.GetRepository(name); !repo.ok()) return call.Fail(repo.error());
  auto blob = state_.StatBlob(name, call.route.reference);
  if (!blob) {
    return call.Fail(404, oci_error::kBlobUnknown,
                     "blob " + call.route.reference + " is not in repository " + name);
  }
  http::Response response;
  response.headers.emplace_back("content-type", "application/octet-stream");
  response.headers.emplace_back("docker-content-digest", digest->ToString());
  response.headers.emplace_back("etag", "\"" + digest->ToString() + "\"");
  response.headers.emplace_back("accept-ranges", "bytes");
  RangeRequest range;
  if (const std::string* header = call.request.Header("range")) {
    range = ParseRange(*header, blob->size);
  }
  switch (range.kind) {
    case RangeRequest::Kind::kUnsatisfiable: {
      http::Response refused = EmptyResponse(416);
      refused.headers.emplace_back("content-range", "bytes */" + std::to_string(blob->size));
      return call.ReplyRead(std::move(refused));
    }
    case RangeRequest::Kind::kPartial:
      response.status = 206;
      response.headers.emplace_back("content-range", "bytes " + std::to_string(range.first) + "-" +
                                                         std::to_string(range.last) + "/" +
                                                         std::to_string(blob->size));
      response.file_offset = range.first;
      response.file_length = range.last - range.first + 1;
      break;
    case RangeRequest::Kind::kWhole:
      response.file_offset = 0;
      response.file_length = blob->size;
      break;
  }
  if (response.file_length > 0) response.body_file = blob->path;
  if (call.request.method == "GET") CountRegistryBytesOut(response.file_length);
  call.ReplyRead(std::move(response));
}

void Distribution::DeleteBlob(DistributionCall& call) {
  auto digest = Digest::Parse(call.route.reference);
  if (!digest) {
    return call.Fail(400, oci_error::kDigestInvalid, "invalid digest " + call.route.reference);
  }
  auto seq = state_.UnlinkBlob(call.route.name, call.route.reference);
  if (!seq.ok()) return call.Fail(seq.error());
  http::Response response = EmptyResponse(202);
  response.headers.emplace_back("docker-content-digest", digest->ToString());
  call.Reply(std::move(response), *seq);
}

void Distribution::StartUpload(DistributionCall& call) {
  const std::string& name = call.route.name;
  uint64_t seq = state_.LastAssigned();
  if (auto repo = state_.GetRepository(name); !repo.ok()) {
    if (!options_.create_on_push) return call.Fail(repo.error());
    auto created = state_.CreateRepository(name, RepositorySettings{}, clock_.NowMillis());
    if (created.ok()) {
      seq = *created;
    } else if (created.error().kind != RegistryErrorKind::kRepositoryAlreadyExists) {
      return call.Fail(created.error());
    }
  }

  if (const std::string* mount = call.Query("mount")) {
    auto digest = Digest::Parse(*mount);
    if (!digest) return call.Fail(400, oci_error::kDigestInvalid, "invalid digest " + *mount);
    const std::string* from = call.Query("from");
    // Only from a repository the blob is linked in: a digest alone does not
    // grant access to another repository's content. Otherwise the client
    // uploads, as the spec prescribes.
    if (from != nullptr && IsValidRepositoryName(*from) && state_.HasBlob(*from, *mount)) {
      auto linked = state_.LinkBlob(name, digest->ToString());
      if (!linked.ok()) return call.Fail(linked.error());
      return call.Reply(BlobCreated(name, digest->ToString()), std::max(seq, *linked));
    }
  }

  if (const std::string* digest_text = call.Query("digest")) {
    // Monolithic: the whole blob in this request's body.
    auto digest = Digest::Parse(*digest_text);
    if (!digest) {
      return call.Fail(400, oci_error::kDigestInvalid, "invalid digest " + *digest_text);
    }
    const http::Request& request = call.request;
    auto* sink = dynamic_cast<UploadSink*>(request.body_sink.get());
    if (request.body_sink != nullptr && sink == nullptr) {
      return FailUpload(
          call, request.body_status.ok() ? Internal("body not received") : request.body_status,
          "receive blob");
    }
    if (sink != nullptr && sink->opened()) {
      Status closed = sink->Close();
      if (!closed.ok()) return FailUpload(call, closed, "write blob");
      if (!request.body_status.ok()) return FailUpload(call, request.body_status, "receive blob");
      // The I/O thread goes on while the blob store's group commit syncs.
      auto owned = std::make_shared<DistributionCall>(std::move(call));
      return blobs_.CompleteUploadAsync(sink->upload_id(), *digest,
                                        [this, owned, digest = *digest, seq,
                                         held = async_calls_.Hold()](StatusOr<BlobInfo> completed) {
                                          ReplyBlobCreated(*owned, state_, completed, digest,
                                                           "complete blob", seq);
                                        });
    } else if (Status put = blobs_.Put(*digest, request.body); !put.ok()) {
      if (put.code() == StatusCode::kInvalidArgument) {
        return call.Fail(400, oci_error::kDigestInvalid, put.message());
      }
      return call.Fail(500, oci_error::kUnknown, "store blob: " + put.message());
    }
    auto linked = state_.LinkBlob(name, digest->ToString());
    if (!linked.ok()) return call.Fail(linked.error());
    return call.Reply(BlobCreated(name, digest->ToString()), std::max(seq, *linked));
  }

  // The I/O thread goes on while the blob store's group commit syncs.
  auto owned = std::make_shared<DistributionCall>(std::move(call));
  blobs_.StartUploadAsync([this, owned, seq, held = async_calls_.Hold()](StatusOr<std::string> id) {
    DistributionCall& started = *owned;
    const std::string& repository = started.route.name;
    if (!id.ok()) {
      return started.Fail(500, oci_error::kUnknown, "start upload: " + id.status().message());
    }
    if (!open_uploads_.Add(repository, *id, [this](const std::string& open) {
          return blobs_.UploadSize(open).ok();
        })) {
      (void)blobs_.CancelUpload(*id);
      RefusedUploads().Inc();
      return started.Fail(429, oci_error::kTooManyRequests,
                          "repository " + repository + " has " +
                              std::to_string(open_uploads_.limit()) +
                              " uploads open, the most it may have: complete or cancel some (or "
                              "let them expire) before starting more");
    }
    started.Reply(UploadProgress(202, repository, UploadToken(repository, *id), 0), seq);
  });
}

void Distribution::UploadStatus(DistributionCall& call) {
  std::string id = UploadIdFor(call.route.name, call.route.reference);
  if (id.empty()) return call.Fail(404, oci_error::kBlobUploadUnknown, "unknown upload");
  auto size = blobs_.UploadSize(id);
  if (!size.ok()) return FailUpload(call, size.status(), "upload size");
  call.ReplyRead(UploadProgress(204, call.route.name, call.route.reference, *size));
}

void Distribution::PatchUpload(DistributionCall& call) {
  std::string id = UploadIdFor(call.route.name, call.route.reference);
  if (id.empty()) return call.Fail(404, oci_error::kBlobUploadUnknown, "unknown upload");
  auto size = AppendBody(call, blobs_, id);
  if (!size) return;
  call.ReplyRead(UploadProgress(202, call.route.name, call.route.reference, *size));
}

void Distribution::PutUpload(DistributionCall& call) {
  const std::string& name = call.route.name;
  std::string id = UploadIdFor(name, call.route.reference);
  if (id.empty()) return call.Fail(404, oci_error::kBlobUploadUnknown, "unknown upload");
  const std::string* digest_text = call.Query("digest");
  auto digest = digest_text ? Digest::Parse(*digest_text) : std::nullopt;
  if (!digest) {
    return call.Fail(400, oci_error::kDigestInvalid,
                     digest_text ? "invalid digest " + *digest_text : "digest is required");
  }
  if (!AppendBody(call, blobs_, id)) return;
  // The I/O thread goes on while the blob store's group commit syncs.
  auto owned = std::make_shared<DistributionCall>(std::move(call));
  blobs_.CompleteUploadAsync(id, *digest,
                             [this, owned, id, digest = *digest,
                              held = async_calls_.Hold()](StatusOr<BlobInfo> completed) {
                               open_uploads_.Remove(owned->route.name, id);  // gone either way
                               ReplyBlobCreated(*owned, state_, completed, digest,
                                                "complete upload", 0);
                             });
}

void Distribution::CancelUpload(DistributionCall& call) {
  std::string id = UploadIdFor(call.route.name, call.route.reference);
  if (id.empty()) return call.Fail(404, oci_error::kBlobUploadUnknown, "unknown upload");
  if (Status st = blobs_.CancelUpload(id); !st.ok()) return FailUpload(call, st, "cancel upload");
  open_uploads_.Remove(call.route.name, id);
  call.ReplyRead(EmptyResponse(204));
}

}  // namespace berth::registry
