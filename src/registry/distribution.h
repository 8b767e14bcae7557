// The OCI distribution API (spec 1.1) under /v2/: what docker, podman,
// skopeo, containerd and oras push to and pull from.
//
// Every request needs registry credentials (Basic "AWS:<token>" from
// ecr get-login-password). Blob bodies stream straight to disk through
// StreamBody's sinks; manifests are stored and served byte for byte. Replies
// to changes wait until the change is durable; replies to reads wait for the
// changes they observed (CommitTracker).
//
// Split over files: distribution.cc (routing, auth, errors),
// distribution_blobs.cc (blobs and uploads), distribution_manifests.cc
// (manifests, tags, catalog, referrers).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "awsjson/commit_tracker.h"
#include "common/clock.h"
#include "http/message.h"
#include "http/sigv4.h"
#include "registry/blob_store.h"
#include "registry/distribution_routes.h"
#include "registry/manifest.h"
#include "registry/open_uploads.h"
#include "registry/registry_state.h"

namespace berth::registry {

struct DistributionCall;  // one request being served (distribution_call.h)

struct DistributionOptions {
  // Pushing to a repository that does not exist creates it (as the
  // reference registry does). ECR refuses such pushes, and so does berth by
  // default: create repositories with `aws ecr create-repository`.
  bool create_on_push = false;
  // Whether an access key may change the registry (push, delete); unset:
  // every key may. Others may pull, and get DENIED on a change.
  std::function<bool(std::string_view access_key_id)> may_push;
  // Uploads open at once in one repository (POST to PUT); more are refused
  // with 429 TOOMANYREQUESTS. 0: no cap.
  size_t max_uploads_per_repository = 256;
  // Asked before every change: a message refuses it with 507 (a full
  // disk), nullopt lets it through. Unset: never refuses.
  std::function<std::optional<std::string>()> write_gate;
};

// Thread-safe.
class Distribution {
 public:
  using Options = DistributionOptions;

  // The largest request body this API needs buffered in Request::body: a
  // manifest at the size limit, when StreamBody is not consulted. With
  // StreamBody wired into ServerOptions::stream_body nothing here is
  // buffered beyond a few bytes (blobs stream to disk, manifests to a
  // capped ManifestSink), so the server's limit only matters for requests
  // that bypass it.
  static constexpr size_t kMaxBufferedBody = kMaxManifestBytes;

  Distribution(RegistryState& state, BlobStore& blobs, http::SecretLookup secrets,
               const Clock& clock, awsjson::CommitTracker& tracker, Options options = {});
  // Waits for the replies still to come from the blob store's sync thread
  // (uploads being made durable): they use this object, its state and its
  // tracker, which must outlive it.
  ~Distribution();
  Distribution(const Distribution&) = delete;
  Distribution& operator=(const Distribution&) = delete;

  // True for the requests this API serves: path "/v2" or under "/v2/".
  static bool Accepts(const http::Request& request);

  // For ServerOptions::stream_body: the sink for a request's body, chosen
  // from its head. Blob upload bodies (PATCH, PUT and monolithic POST) go
  // to an UploadSink on disk, without a size limit; manifest PUT bodies to a
  // ManifestSink capped at kMaxManifestBytes (413 beyond); requests that
  // will be refused (no credentials, bad name, unknown upload) to a sink
  // that stops the body at once. nullptr (buffer as usual) for the rest,
  // which carry no meaningful body.
  std::shared_ptr<http::BodySink> StreamBody(const http::Request& head);

  // Serves a request Accepts() took. Works with the body streamed through
  // StreamBody's sink or buffered in Request::body.
  void Handle(http::Request&& request, http::Responder respond);

 private:
  // distribution_blobs.cc
  void GetBlob(DistributionCall& call);
  void DeleteBlob(DistributionCall& call);
  void StartUpload(DistributionCall& call);
  void UploadStatus(DistributionCall& call);
  void PatchUpload(DistributionCall& call);
  void PutUpload(DistributionCall& call);
  void CancelUpload(DistributionCall& call);
  // The store's upload id behind the id a client was given for repository,
  // or empty when it is not one of that repository's (see UploadToken).
  static std::string UploadIdFor(std::string_view repository, std::string_view token);
  // The id clients see: the store's id bound to the repository, so that an
  // upload started in one repository cannot be continued in another.
  static std::string UploadToken(std::string_view repository, std::string_view upload_id);

  // distribution_manifests.cc
  void GetManifest(DistributionCall& call);
  void PutManifest(DistributionCall& call);
  void DeleteManifest(DistributionCall& call);
  void ListTags(DistributionCall& call);
  void Catalog(DistributionCall& call);
  void Referrers(DistributionCall& call);

  // A count of the calls handed to the blob store's sync thread
  // (BlobStore::*Async) and not yet answered; the destructor waits for 0.
  class AsyncCalls {
   public:
    // Held by the callback; dropping it ends the call.
    std::shared_ptr<void> Hold();
    void WaitForNone();

   private:
    std::mutex mu_;
    std::condition_variable none_;
    int64_t count_ = 0;  // guarded by mu_
  };

  RegistryState& state_;
  BlobStore& blobs_;
  http::SecretLookup secrets_;
  const Clock& clock_;
  awsjson::CommitTracker& tracker_;
  Options options_;
  OpenUploads open_uploads_{options_.max_uploads_per_repository};
  AsyncCalls async_calls_;
};

}  // namespace berth::registry
