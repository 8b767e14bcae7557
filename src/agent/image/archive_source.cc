#include "agent/image/archive_source.h"

#include <errno.h>

namespace berth::agent {
namespace {

la_ssize_t ReadCallback(archive* a, void* client, const void** buffer) {
  auto* state = static_cast<ArchiveSource*>(client);
  if (state->eof) return 0;
  auto piece = state->source->Next();
  if (!piece.ok()) {
    state->status = piece.status();
    archive_set_error(a, EIO, "%s", state->status.message().c_str());
    return ARCHIVE_FATAL;
  }
  if (piece->empty()) {
    state->eof = true;
    return 0;
  }
  *buffer = piece->data();
  return static_cast<la_ssize_t>(piece->size());
}

}  // namespace

Status OpenArchive(archive* a, ArchiveSource& source, std::string_view what) {
  if (archive_read_open(a, &source, nullptr, ReadCallback, nullptr) == ARCHIVE_OK) {
    return Status::Ok();
  }
  if (!source.status.ok()) return source.status;
  return InvalidArgument("not a valid " + std::string(what) + ": " + ArchiveError(a));
}

std::string ArchiveError(archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

Status DrainSource(ArchiveSource& source) {
  if (!source.status.ok()) return source.status;
  while (!source.eof) {
    auto piece = source.source->Next();
    if (!piece.ok()) return piece.status();
    if (piece->empty()) source.eof = true;
  }
  return Status::Ok();
}

}  // namespace berth::agent
