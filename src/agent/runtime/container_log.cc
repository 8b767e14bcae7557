// ReadContainerLog: conmon's k8s-file format, one record per line:
//   2026-11-28T10:00:00.000000000+00:00 stdout F hello
// F ends a line of output; P is part of a longer line, continued by the
// next record (conmon splits lines at its buffer size).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/runtime/container_runtime.h"

namespace berth::agent {
namespace {

// Appends the text of one record (without its '\n'); false if malformed.
bool DecodeRecord(std::string_view line, std::string& text) {
  size_t a = line.find(' ');
  if (a == std::string_view::npos) return false;
  size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos) return false;
  size_t c = line.find(' ', b + 1);
  std::string_view tag = line.substr(b + 1, c == std::string_view::npos ? c : c - b - 1);
  std::string_view body = c == std::string_view::npos ? std::string_view() : line.substr(c + 1);
  text.append(body);
  // Tags may carry more after ':' (CRI); the first letter says full or partial.
  if (tag.empty() || tag[0] != 'P') text.push_back('\n');
  return true;
}

}  // namespace

StatusOr<LogChunk> ReadContainerLog(const std::string& path, uint64_t offset, size_t max_bytes) {
  LogChunk chunk;
  chunk.next_offset = offset;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return chunk;  // nothing written yet
    return Internal("open " + path + ": " + std::strerror(errno));
  }
  // Shorter than the offset: conmon started the file over at its size cap
  // (--log-size-max). Read the new one from its start.
  struct stat st;
  if (fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) < offset) {
    offset = 0;
    chunk.next_offset = 0;
  }
  std::string pending;  // bytes of an incomplete line
  char buf[65536];
  uint64_t pos = offset;
  bool full = false;
  while (!full) {
    ssize_t n = pread(fd, buf, sizeof buf, static_cast<off_t>(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return Internal("read " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    pos += static_cast<uint64_t>(n);
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending.data() + start, nl - start);
      std::string text;
      DecodeRecord(line, text);  // a malformed line is skipped, not fatal
      // Always take one record, so a record longer than max_bytes cannot
      // stop a reader for ever.
      if (!chunk.text.empty() && chunk.text.size() + text.size() > max_bytes) {
        full = true;
        break;
      }
      chunk.text += text;
      chunk.next_offset += nl - start + 1;
    }
    if (!full) pending.erase(0, start);
  }
  close(fd);
  return chunk;
}

}  // namespace berth::agent
