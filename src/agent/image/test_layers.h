// Test helpers: builds tar layers in memory with libarchive's writer, and
// hands bytes out in pieces as a network would.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <atomic>
#include <string>
#include <vector>

#include "http/client.h"

namespace berth::agent::testing {

struct TarEntry {
  enum Type { kFile, kDir, kSymlink, kHardlink, kCharDevice } type = kFile;
  std::string path;
  std::string content;  // kFile
  std::string link;     // kSymlink / kHardlink target
  int mode = 0644;
  int uid = 0;
  int gid = 0;
  time_t mtime = 1700000000;
  int major = 0, minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

inline TarEntry File(std::string path, std::string content, int mode = 0644) {
  TarEntry e;
  e.path = std::move(path);
  e.content = std::move(content);
  e.mode = mode;
  return e;
}
inline TarEntry Dir(std::string path, int mode = 0755) {
  TarEntry e;
  e.type = TarEntry::kDir;
  e.path = std::move(path);
  e.mode = mode;
  return e;
}
inline TarEntry Symlink(std::string path, std::string target) {
  TarEntry e;
  e.type = TarEntry::kSymlink;
  e.path = std::move(path);
  e.link = std::move(target);
  e.mode = 0777;
  return e;
}
inline TarEntry Hardlink(std::string path, std::string target) {
  TarEntry e;
  e.type = TarEntry::kHardlink;
  e.path = std::move(path);
  e.link = std::move(target);
  return e;
}

enum class Compression { kNone, kGzip, kZstd };

// A libarchive writer into out, of the given format (pax or raw) and compression.
inline archive* OpenWriter(std::string* out, bool raw, Compression compression) {
  archive* a = archive_write_new();
  if (raw) {
    archive_write_set_format_raw(a);
  } else {
    archive_write_set_format_pax_restricted(a);
  }
  if (compression == Compression::kGzip) archive_write_add_filter_gzip(a);
  if (compression == Compression::kZstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(
      a, out, nullptr,
      [](archive*, void* client, const void* buffer, size_t length) -> la_ssize_t {
        static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
        return static_cast<la_ssize_t>(length);
      },
      nullptr);
  return a;
}

// data compressed as one gzip member or zstd frame.
inline std::string Compress(const std::string& data, Compression compression) {
  std::string out;
  archive* a = OpenWriter(&out, /*raw=*/true, compression);
  archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, "data");
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_write_header(a, entry);
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(entry);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

inline std::string MakeTar(const std::vector<TarEntry>& entries,
                           Compression compression = Compression::kGzip) {
  std::string out;
  archive* a = OpenWriter(&out, /*raw=*/false, compression);
  for (const TarEntry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_uid(entry, e.uid);
    archive_entry_set_gid(entry, e.gid);
    archive_entry_set_mtime(entry, e.mtime, 0);
    for (const auto& [name, value] : e.xattrs) {
      archive_entry_xattr_add_entry(entry, name.c_str(), value.data(), value.size());
    }
    switch (e.type) {
      case TarEntry::kFile:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
        break;
      case TarEntry::kDir:
        archive_entry_set_filetype(entry, AE_IFDIR);
        break;
      case TarEntry::kSymlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, e.link.c_str());
        break;
      case TarEntry::kHardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, e.link.c_str());
        break;
      case TarEntry::kCharDevice:
        archive_entry_set_filetype(entry, AE_IFCHR);
        archive_entry_set_rdevmajor(entry, e.major);
        archive_entry_set_rdevminor(entry, e.minor);
        break;
    }
    archive_entry_set_perm(entry, e.mode);
    archive_write_header(a, entry);
    if (e.type == TarEntry::kFile && !e.content.empty()) {
      archive_write_data(a, e.content.data(), e.content.size());
    }
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// Hands out a string in small pieces, as a network would; then ends, or
// fails with end_status (a producer's verdict given at the end).
class StringSource : public http::BodySource {
 public:
  explicit StringSource(std::string data, size_t piece = 997, Status end_status = Status::Ok())
      : data_(std::move(data)), piece_(piece), end_status_(std::move(end_status)) {}
  StatusOr<std::string_view> Next() override {
    std::string_view rest = std::string_view(data_).substr(offset_);
    rest = rest.substr(0, piece_);
    if (rest.empty() && !end_status_.ok()) return end_status_;
    offset_ += rest.size();
    return rest;
  }
  // Safe to read from another thread than the one calling Next.
  size_t consumed() const { return offset_; }

 private:
  std::string data_;
  size_t piece_;
  Status end_status_;
  std::atomic<size_t> offset_ = 0;
};

}  // namespace berth::agent::testing
