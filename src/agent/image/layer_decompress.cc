#include "agent/image/layer_decompress.h"

#include "agent/image/gzip_inflate.h"

namespace berth::agent {
LayerDecompressor::LayerDecompressor(http::BodySource& compressed, size_t queue_bytes)
    : compressed_(compressed), queue_(queue_bytes), output_(queue_), thread_([this] {
        queue_.CloseWrite(InflateGzip(
            compressed_, [this](std::string&& piece) { return queue_.Push(std::move(piece)); }));
      }) {}

LayerDecompressor::~LayerDecompressor() {
  queue_.CloseRead(Status::Ok());  // a stage still running stops at its next piece
  thread_.join();
}

StatusOr<std::string_view> LayerDecompressor::Next() { return output_.Next(); }

}  // namespace berth::agent
