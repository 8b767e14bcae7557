// Content-addressed blob storage on disk, with resumable uploads.
//
// Layout under root:
//   blobs/<algorithm>/<first two hex>/<hex>   complete, verified blobs
//   uploads/<id>/data                          bytes received so far
//   uploads/<id>/started                       creation time, for operators
//   tmp/                                       swept; older versions' Put wrote here
//
// A blob appears under blobs/ only once its bytes are written, fsynced and
// verified against its digest; it is renamed into place (Put's temporary
// file sits beside it, named "<hex>.tmp-<random>"), so a reader never sees
// a partial blob. One copy per digest, whichever repositories use it.
// Uploads live on disk, so an upload in progress survives a restart and can
// be resumed from its current size. An upload's sha256 is computed while it
// is written and kept in memory, so completing it normally reads nothing
// back; after a restart (or for sha512) completion hashes the file once.
//
// Errors from the file system name the store, the operation and the file
// ("blob store /x: write upload abc: write /x/uploads/abc/data: No space
// left on device"; a full disk is
// ResourceExhausted). Every write goes through an Env, so that tests can
// fail it. Errors about the request (unknown upload, digest
// mismatch, out-of-order chunk) carry no paths, so they can go to clients.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/env.h"
#include "common/status.h"
#include "registry/digest.h"

namespace berth::registry {

struct BlobInfo {
  std::string path;  // the file holding the blob's bytes
  uint64_t size = 0;
};

// Appends to one upload. Hashes as it writes, so that completing an upload
// that was written in one go needs no second read. Writes are gathered into
// large pieces (any piece size is fine) and not synced: CompleteUpload
// syncs once. Not thread-safe; may outlive its BlobStore.
class UploadWriter {
 public:
  // Closes if Close was not called, but can then only log a failure.
  virtual ~UploadWriter() = default;
  // After a failed Write or Close the upload holds size() bytes, which may
  // leave out pieces of earlier Writes that were still buffered, and every
  // later call fails: the chunk failed, and the client resumes from
  // UploadSize.
  virtual Status Write(std::string_view data) = 0;
  virtual uint64_t size() const = 0;  // the upload's size so far, buffered bytes included
  // Writes out what is buffered and lets the next writer of this upload in.
  // Call it before acknowledging the chunk: a write error may appear only
  // here.
  virtual Status Close() = 0;
};

struct GcStats {
  uint64_t blobs_removed = 0;
  uint64_t bytes_removed = 0;
  uint64_t blobs_kept = 0;
  uint64_t uploads_removed = 0;
};

// Thread-safe. Several uploads of the same digest may complete at once; the
// first wins and the others find the blob already there. The store owns a
// thread that makes uploads durable in groups (the *Async calls); it ends
// with the store, after finishing what was queued.
class BlobStore {
 public:
  // env (not owned) must outlive the store and its writers.
  static StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& root,
                                                   Env* env = Env::Default());
  virtual ~BlobStore() = default;

  // Also sets the blob's mtime to now: a client told that a blob exists
  // (HEAD, so it skips the upload) references it in a manifest soon, and
  // CollectGarbage's min_age_seconds grace then keeps it until that arrives.
  // Put and CompleteUpload touch an existing blob for the same reason.
  virtual std::optional<BlobInfo> Stat(const Digest& digest) const = 0;
  // The whole blob, refused (ResourceExhausted) if larger than max_bytes.
  virtual StatusOr<std::string> Read(const Digest& digest, uint64_t max_bytes) const = 0;
  // Stores bytes that are already in memory (manifests), verified against
  // expected. InvalidArgument on a digest mismatch.
  virtual Status Put(const Digest& expected, std::string_view bytes) = 0;

  // Uploads. Ids are random and unguessable. NotFound for unknown ids.
  // The upload is durable when this returns: its id may be given to a
  // client, who may resume it after a crash.
  virtual StatusOr<std::string> StartUpload() = 0;
  // The same, with the wait for the disk in the store's group commit
  // (blob_sync_queue.h): returns at once, and done gets the id (or the
  // error) on the store's sync thread once the upload is durable.
  using StartDone = std::function<void(StatusOr<std::string>)>;
  virtual void StartUploadAsync(StartDone done) = 0;
  // An upload whose id no client is told (a monolithic push: the body
  // comes with the request that starts it): nothing is synced, since a
  // crash loses only a request that was not answered.
  virtual StatusOr<std::string> StartInternalUpload() = 0;
  // Bytes on disk; while a writer is open, without what it still buffers.
  virtual StatusOr<uint64_t> UploadSize(std::string_view id) const = 0;
  // Appends from offset, which must equal the upload's current size
  // (FailedPrecondition otherwise: an out-of-order chunk). One writer per
  // upload at a time (FailedPrecondition while another is open, or while
  // the upload is being completed or cancelled).
  virtual StatusOr<std::unique_ptr<UploadWriter>> OpenUpload(std::string_view id,
                                                             uint64_t offset) = 0;
  // Verifies the upload against expected and moves it into place; the
  // upload is gone afterwards either way. InvalidArgument (digest mismatch)
  // leaves no blob behind. If the blob exists already (another upload of
  // the same content), the upload is dropped and the existing blob returned.
  virtual StatusOr<BlobInfo> CompleteUpload(std::string_view id, const Digest& expected) = 0;
  // The same, with the fsyncs and the rename in the store's group commit:
  // the digest is checked on the calling thread; done gets the outcome on
  // the store's sync thread once the blob is durable in place (at once, on
  // the calling thread, when the check fails or the upload is busy).
  using CompleteDone = std::function<void(StatusOr<BlobInfo>)>;
  virtual void CompleteUploadAsync(std::string_view id, const Digest& expected,
                                   CompleteDone done) = 0;
  virtual Status CancelUpload(std::string_view id) = 0;

  virtual Status Delete(const Digest& digest) = 0;  // NotFound if absent

  // Removes every blob for which referenced() is false and whose file is
  // older than min_age_seconds (so that a blob uploaded for a push whose
  // manifest has not arrived yet survives), and uploads untouched for
  // longer than upload_max_age_seconds (with leftovers in tmp/). A blob that
  // cannot be removed is logged and counted as kept.
  virtual StatusOr<GcStats> CollectGarbage(const std::function<bool(const Digest&)>& referenced,
                                           int64_t min_age_seconds,
                                           int64_t upload_max_age_seconds) = 0;
};

}  // namespace berth::registry
