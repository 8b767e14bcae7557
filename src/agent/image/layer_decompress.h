// The decompression stage of a layer's unpack: a thread of its own that
// inflates the layer's stream (gzip with ISA-L, gzip_inflate.h; zstd or
// whatever else libarchive's filters recognise by the bytes; plain tar
// passes through) while another thread reads the tar and writes the files. Inflating a gzip layer
// costs about as much CPU as writing its files, so doing the two one after the other on one thread
// left a second core idle during a one-layer pull.
#pragma once

#include <cstddef>
#include <string>
#include <thread>

#include "common/status.h"
#include "http/byte_queue.h"
#include "http/client.h"

namespace berth::agent {

// A BodySource of the inflated bytes of `compressed` (a gzip stream),
// produced on a thread that starts with the constructor. The stage reads
// `compressed` to its end, also past the end of the gzip data, so that a
// producer's verdict given at the end (a digest mismatch) reaches Next(); it
// ends with that verdict, or with the inflate error ("not a valid layer:
// gzip: ..."), after the bytes before it. One consumer thread; the destructor stops the
// stage (a consumer that gave up early) and waits for its thread.
class LayerDecompressor : public http::BodySource {
 public:
  // queue_bytes: how far the stage may run ahead of the consumer.
  explicit LayerDecompressor(http::BodySource& compressed, size_t queue_bytes = 8 << 20);
  ~LayerDecompressor() override;
  LayerDecompressor(const LayerDecompressor&) = delete;
  LayerDecompressor& operator=(const LayerDecompressor&) = delete;

  StatusOr<std::string_view> Next() override;

 private:
  http::BodySource& compressed_;
  http::ByteQueue queue_;
  http::ByteQueueSource output_;
  std::thread thread_;
};

}  // namespace berth::agent
