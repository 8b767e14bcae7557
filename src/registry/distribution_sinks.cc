#include "registry/distribution_sinks.h"

#include "common/metrics.h"

namespace berth::registry {

void CountRegistryBytesIn(size_t bytes) {
  static metrics::Counter& in =
      metrics::DefaultRegistry()
          .AddCounter("berth_registry_received_bytes_total",
                      "Bytes of blobs and manifests pushed to the registry.")
          .With({});
  in.Inc(static_cast<double>(bytes));
}

void CountRegistryBytesOut(size_t bytes) {
  static metrics::Counter& out =
      metrics::DefaultRegistry()
          .AddCounter("berth_registry_sent_bytes_total",
                      "Bytes of blobs and manifests served by the registry (GET bodies).")
          .With({});
  out.Inc(static_cast<double>(bytes));
}

UploadSink::UploadSink(BlobStore& blobs, std::string upload_id, std::optional<uint64_t> offset)
    : blobs_(blobs), upload_id_(std::move(upload_id)), offset_(offset) {}

Status UploadSink::Write(std::string_view piece) {
  if (!open_status_.ok()) return open_status_;
  if (!write_status_.ok()) return write_status_;
  if (!opened_) {
    opened_ = true;
    if (upload_id_.empty()) {
      // Monolithic: no client is told this upload's id.
      auto id = blobs_.StartInternalUpload();
      if (!id.ok()) return open_status_ = id.status();
      upload_id_ = std::move(*id);
    }
    uint64_t offset = 0;
    if (offset_) {
      offset = *offset_;
    } else {
      auto size = blobs_.UploadSize(upload_id_);
      if (!size.ok()) return open_status_ = size.status();
      offset = *size;
    }
    auto writer = blobs_.OpenUpload(upload_id_, offset);
    if (!writer.ok()) return open_status_ = writer.status();
    writer_ = std::move(*writer);
    upload_size_ = writer_->size();
  }
  if (writer_ == nullptr) return open_status_;
  if (Status st = writer_->Write(piece); !st.ok()) return write_status_ = st;
  bytes_written_ += piece.size();
  CountRegistryBytesIn(piece.size());
  upload_size_ = writer_->size();
  return Status::Ok();
}

Status UploadSink::Close() {
  if (writer_ != nullptr) {
    // The writer buffers: a write error may surface only now, and the chunk
    // must not be acknowledged before it is out.
    Status closed = writer_->Close();
    upload_size_ = writer_->size();
    writer_.reset();
    if (!closed.ok() && write_status_.ok()) write_status_ = closed;
  }
  if (!open_status_.ok()) return open_status_;
  return write_status_;
}

Status ManifestSink::Write(std::string_view piece) {
  if (bytes_.size() + piece.size() > max_bytes_) {
    return Status(StatusCode::kResourceExhausted,
                  "manifest larger than " + std::to_string(max_bytes_) + " bytes");
  }
  bytes_.append(piece);
  return Status::Ok();
}

}  // namespace berth::registry
