#include "agent/image/layer_decompress.h"

#include <archive.h>
#include <archive_entry.h>

#include "agent/image/archive_source.h"
#include "agent/image/gzip_inflate.h"

namespace berth::agent {
namespace {

// Decompressed bytes are handed over in pieces of about this size: fewer
// hand-overs between the two threads than libarchive's 64 KiB blocks.
constexpr size_t kPieceBytes = 1 << 20;

// A source whose first bytes can be looked at before they are read.
class PeekingSource : public http::BodySource {
 public:
  explicit PeekingSource(http::BodySource& in) : in_(in) {}

  // At least n bytes of the start, fewer when the source ends sooner.
  StatusOr<std::string_view> Peek(size_t n) {
    while (head_.size() < n && !ended_) {
      auto piece = in_.Next();
      if (!piece.ok()) return piece.status();
      if (piece->empty()) ended_ = true;
      head_.append(*piece);
    }
    return std::string_view(head_);
  }

  StatusOr<std::string_view> Next() override {
    if (!head_given_) {
      head_given_ = true;
      if (!head_.empty()) return std::string_view(head_);
    }
    if (ended_) return std::string_view();
    return in_.Next();
  }

 private:
  http::BodySource& in_;
  std::string head_;
  bool head_given_ = false;
  bool ended_ = false;
};

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
  PeekingSource input(compressed_);
  auto head = input.Peek(3);
  if (!head.ok()) return head.status();
  if (IsGzip(*head)) {
    return InflateGzip(input,
                       [this](std::string&& piece) { return queue_.Push(std::move(piece)); });
  }
  return RunLibarchive(input);
}

// zstd, plain tar and whatever else libarchive's filters know.
Status LayerDecompressor::RunLibarchive(http::BodySource& input) {
  ArchiveSource source{&input, Status::Ok()};
  ArchivePtr in(archive_read_new());
  archive_read_support_filter_all(in.get());  // zstd or none, told by the bytes
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
