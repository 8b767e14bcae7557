// libarchive reading from an http::BodySource, shared by the two stages of
// a layer's unpack (layer_decompress.cc inflates, layer_unpack.cc reads the
// tar): the read callback, which keeps the source's own error so that it
// is reported as it was and not as libarchive's "read error".
#pragma once

#include <archive.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/client.h"

namespace berth::agent {

struct ArchiveDeleter {
  void operator()(archive* a) const {
    if (a) archive_free(a);
  }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

// What the read callback reads from.
struct ArchiveSource {
  http::BodySource* source;
  Status status;  // the source's error, once it gave one
  bool eof = false;
};

// Opens a (its formats and filters chosen) on source. A failure is the
// source's error, or "not a valid <what>: <libarchive's message>".
Status OpenArchive(archive* a, ArchiveSource& source, std::string_view what);

// libarchive's message for the last error of a. It sets none for some
// failures (a GNU long-name header cut short), and a null char* must not
// reach a std::string.
std::string ArchiveError(archive* a);

// Reads what is left of the source, to its end: bytes after the end of the
// archive are still part of the blob, and the producer's verdict on the
// whole blob comes last.
Status DrainSource(ArchiveSource& source);

}  // namespace berth::agent
