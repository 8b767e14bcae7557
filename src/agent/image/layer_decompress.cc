#include "agent/image/layer_decompress.h"

#include <archive.h>
#include <archive_entry.h>

#include "agent/image/archive_source.h"

namespace berth::agent {
namespace {

// Decompressed bytes are handed over in pieces of about this size: fewer
// hand-overs between the two threads than libarchive's 64 KiB blocks.
constexpr size_t kPieceBytes = 1 << 20;

}  // namespace

LayerDecompressor::LayerDecompressor(http::BodySource& compressed, size_t queue_bytes)
    : compressed_(compressed),
      queue_(queue_bytes),
      output_(queue_),
      thread_([this] { queue_.CloseWrite(Run()); }) {}

LayerDecompressor::~LayerDecompressor() {
  queue_.CloseRead(Status::Ok());  // a stage still running stops at its next piece
  thread_.join();
}

StatusOr<std::string_view> LayerDecompressor::Next() { return output_.Next(); }

Status LayerDecompressor::Run() {
  ArchiveSource source{&compressed_, Status::Ok()};
  ArchivePtr in(archive_read_new());
  archive_read_support_filter_all(in.get());  // gzip, zstd or none, told by the bytes
  // The decompressed stream as one entry; the tar is the next stage's job.
  archive_read_support_format_raw(in.get());
  archive_read_support_format_empty(in.get());  // a zero-byte layer
  BERTH_RETURN_IF_ERROR(OpenArchive(in.get(), source, "layer"));
  auto failed = [&] {
    if (!source.status.ok()) return source.status;
    return InvalidArgument("not a valid layer: " + ArchiveError(in.get()));
  };
  archive_entry* entry;
  int r = archive_read_next_header(in.get(), &entry);
  if (r < ARCHIVE_WARN) return failed();
  if (r == ARCHIVE_EOF) return DrainSource(source);
  std::string piece;
  for (;;) {
    const void* block;
    size_t size;
    la_int64_t offset;  // always where the previous block ended: raw has no holes
    r = archive_read_data_block(in.get(), &block, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return failed();
    if (piece.empty()) piece.reserve(kPieceBytes + size);
    piece.append(static_cast<const char*>(block), size);
    if (piece.size() >= kPieceBytes) {
      BERTH_RETURN_IF_ERROR(queue_.Push(std::move(piece)));
      piece = std::string();
    }
  }
  if (!piece.empty()) BERTH_RETURN_IF_ERROR(queue_.Push(std::move(piece)));
  return DrainSource(source);
}

}  // namespace berth::agent
