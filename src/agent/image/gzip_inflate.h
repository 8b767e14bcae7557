// gzip layers inflated with Intel's ISA-L (igzip): about twice as fast as
// zlib's inflate, which libarchive uses and which was the largest single
// cost of pulling a one-layer gzip image (4.1 s of CPU for the example's
// 1.25 GB training image, against 1.8 s). ISA-L also checks each member's
// CRC-32 and length, which libarchive's gzip reader does not.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/client.h"

namespace berth::agent {

// Whether data (at least its first 3 bytes) starts a gzip member with
// deflate, the only method gzip has.
bool IsGzip(std::string_view data);

// Inflates the gzip stream read from `in` (one member or several, one after
// the other, as gzip and pigz may write them) and hands the output to
// `emit` in pieces of about 1 MiB; stops at the first error emit returns.
// Bytes after the last member that do not start another are ignored, as
// gzip(1) and libarchive ignore them, but read to the end of `in` (the
// producer's verdict comes there). Errors: the source's own, emit's, or
// "not a valid layer: gzip: <what>" (a broken stream, a wrong CRC or
// length, a stream that ends inside a member).
Status InflateGzip(http::BodySource& in, const std::function<Status(std::string&&)>& emit);

}  // namespace berth::agent
