// Where the distribution API sends request bodies as they arrive: blob
// chunks straight into an upload on disk, manifests into memory with a cap.
// Each sink runs on the connection's I/O thread while the body is read, then
// the handler inspects it; the two never overlap.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/message.h"
#include "registry/blob_store.h"

namespace berth::registry {

// The registry's byte counters (/metrics): bodies pushed, bodies served.
void CountRegistryBytesIn(size_t bytes);
void CountRegistryBytesOut(size_t bytes);

// Appends a body to an upload. The writer is opened at the first byte, so a
// request without a body holds no writer, and released by Close() or when
// the sink is destroyed (a client that disconnects mid-chunk): the bytes
// written so far stay in the upload, which remains resumable from its new
// size and never becomes a blob by itself.
class UploadSink : public http::BodySink {
 public:
  // Appends to upload_id from offset (nullopt: from its current size); with
  // an empty upload_id, to a new upload started at the first byte (a
  // monolithic POST).
  UploadSink(BlobStore& blobs, std::string upload_id, std::optional<uint64_t> offset);

  Status Write(std::string_view piece) override;

  // Flushes and releases the writer, so that the upload can be appended to
  // again or completed. Returns the first error the sink met.
  Status Close();

  const std::string& upload_id() const { return upload_id_; }
  bool opened() const { return opened_; }
  // The error from starting or opening the upload (NotFound: unknown id,
  // FailedPrecondition: wrong offset or another writer), kept apart from
  // write errors so the handler can answer 404 / 416 rather than 500.
  const Status& open_status() const { return open_status_; }
  const Status& write_status() const { return write_status_; }
  uint64_t bytes_written() const { return bytes_written_; }
  // The upload's size once the last byte was written (valid when opened).
  uint64_t upload_size() const { return upload_size_; }

 private:
  BlobStore& blobs_;
  std::string upload_id_;
  std::optional<uint64_t> offset_;
  std::unique_ptr<UploadWriter> writer_;
  bool opened_ = false;
  Status open_status_;
  Status write_status_;
  uint64_t bytes_written_ = 0;
  uint64_t upload_size_ = 0;
};

// Collects a manifest body in memory, refusing (ResourceExhausted) more than
// max_bytes, so that the server's general body limit need not be raised for
// manifests and an oversized one is answered 413 without reading it all.
class ManifestSink : public http::BodySink {
 public:
  explicit ManifestSink(size_t max_bytes) : max_bytes_(max_bytes) {}
  Status Write(std::string_view piece) override;
  const std::string& bytes() const { return bytes_; }

 private:
  size_t max_bytes_;
  std::string bytes_;
};

// Refuses the body at its first byte: for requests the handler will refuse
// anyway (not authorized, unknown upload), so that their body is not read.
class RefusingSink : public http::BodySink {
 public:
  explicit RefusingSink(Status why) : why_(std::move(why)) {}
  Status Write(std::string_view) override { return why_; }

 private:
  Status why_;
};

}  // namespace berth::registry
