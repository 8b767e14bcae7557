#include "agent/image/layer_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "agent/image/archive_source.h"
#include "agent/image/gzip_inflate.h"
#include "agent/image/layer_decompress.h"
#include "common/log.h"

namespace berth::agent {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";

std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// The entry's path relative to the layer root, without "." or empty
// components; "" for the root itself. Absolute paths and ".." are refused
// rather than cleaned: a layer that has them was not made by a build tool.
StatusOr<std::string> CleanPath(std::string_view raw) {
  if (!raw.empty() && raw.front() == '/') return InvalidArgument("absolute path");
  std::string out;
  for (std::string_view c : Components(raw)) {
    if (c == ".") continue;
    if (c == "..") return InvalidArgument("path has a \"..\" component");
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// Refuses a path whose existing parent folders include a symlink: writing
// through it could land anywhere. Missing parents are created plainly later.
Status CheckNoSymlinkParents(const std::string& path) {
  std::string prefix;
  std::vector<std::string_view> parts = Components(path);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!prefix.empty()) prefix += '/';
    prefix += parts[i];
    struct stat st;
    if (lstat(prefix.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return Internal("lstat " + prefix + ": " + std::strerror(errno));
    }
    if (S_ISLNK(st.st_mode))
      return InvalidArgument("writes through the symlink \"" + prefix + "\"");
  }
  return Status::Ok();
}

// A relative symlink target may not climb above the layer root; resolving
// it lexically from the link's folder is enough because no entry can be
// written through a symlink.
Status CheckSymlinkTarget(const std::string& path, std::string_view target) {
  if (!target.empty() && target.front() == '/') return Status::Ok();
  int depth = static_cast<int>(Components(Parent(path)).size());
  for (std::string_view c : Components(target)) {
    if (c == ".") continue;
    if (c == "..") {
      if (--depth < 0) {
        return InvalidArgument("symlink target \"" + std::string(target) +
                               "\" climbs above the layer root");
      }
    } else {
      ++depth;
    }
  }
  return Status::Ok();
}

Status MakeParents(const std::string& path) {
  std::error_code ec;
  std::string parent = Parent(path);
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Internal("create " + parent + ": " + ec.message());
  return Status::Ok();
}

// `.wh.NAME` -> a 0/0 character device NAME; `.wh..wh..opq` -> opaque folder.
Status ApplyWhiteout(const std::string& path, std::string_view base) {
  std::string parent = Parent(path);
  BERTH_RETURN_IF_ERROR(MakeParents(path));
  if (base == kOpaqueWhiteout) {
    const char* dir = parent.empty() ? "." : parent.c_str();
    if (lsetxattr(dir, "trusted.overlay.opaque", "y", 1, 0) != 0) {
      return Internal(std::string("set trusted.overlay.opaque on ") + dir + ": " +
                      std::strerror(errno));
    }
    return Status::Ok();
  }
  std::string_view name = base.substr(kWhiteoutPrefix.size());
  if (name.empty() || name == "." || name == "..") return InvalidArgument("bad whiteout name");
  std::string hidden = parent.empty() ? std::string(name) : parent + "/" + std::string(name);
  std::error_code ec;
  std::filesystem::remove_all(hidden, ec);  // the same layer made it first: unusual but legal
  if (mknod(hidden.c_str(), S_IFCHR, makedev(0, 0)) != 0) {
    return Internal("make whiteout " + hidden + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

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

Status CopyData(archive* in, archive* out) {
  for (;;) {
    const void* buffer;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(in, &buffer, &size, &offset);
    if (r == ARCHIVE_EOF) return Status::Ok();
    if (r < ARCHIVE_WARN) return InvalidArgument("read: " + ArchiveError(in));
    if (archive_write_data_block(out, buffer, size, offset) < ARCHIVE_WARN) {
      return Internal("write: " + ArchiveError(out));
    }
  }
}

Status UnpackEntries(archive* in, archive* out, ArchiveSource& state,
                     const WrittenCallback& written) {
  archive_entry* entry;
  uint64_t bytes_written = 0;
  for (;;) {
    int r = archive_read_next_header(in, &entry);
    if (r == ARCHIVE_EOF) return Status::Ok();
    if (r < ARCHIVE_WARN) {
      if (!state.status.ok()) return state.status;
      return InvalidArgument("not a valid tar layer: " + ArchiveError(in));
    }
    const char* raw = archive_entry_pathname(entry);
    std::string name = raw ? raw : "";
    auto refuse = [&](const Status& why) { return why.WithContext("entry \"" + name + "\""); };

    auto path = CleanPath(name);
    if (!path.ok()) return refuse(path.status());
    if (path->empty()) continue;  // the root: overlay takes its attributes from the upper folder
    BERTH_RETURN_IF_ERROR(refuse(CheckNoSymlinkParents(*path)));

    std::string base =
        path->substr(path->rfind('/') == std::string::npos ? 0 : path->rfind('/') + 1);
    if (base.rfind(kWhiteoutPrefix, 0) == 0) {
      BERTH_RETURN_IF_ERROR(refuse(ApplyWhiteout(*path, base)));
      continue;
    }
    if (const char* link = archive_entry_hardlink(entry)) {
      auto target = CleanPath(link);
      if (!target.ok()) return refuse(target.status().WithContext("hard link target"));
      if (target->empty()) return refuse(InvalidArgument("hard link to the layer root"));
      BERTH_RETURN_IF_ERROR(refuse(CheckNoSymlinkParents(*target).WithContext("hard link target")));
      archive_entry_set_hardlink(entry, target->c_str());
    } else if (archive_entry_filetype(entry) == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      BERTH_RETURN_IF_ERROR(refuse(CheckSymlinkTarget(*path, target ? target : "")));
    } else if (archive_entry_filetype(entry) == AE_IFSOCK) {
      continue;  // a socket in a tar is a leftover of the build; it cannot be restored
    }
    archive_entry_set_pathname(entry, path->c_str());

    r = archive_write_header(out, entry);
    if (r < ARCHIVE_WARN) return refuse(Internal(ArchiveError(out)));
    if (r == ARCHIVE_WARN) {
      LogWarn("layer entry restored partly", {{"entry", name}, {"why", ArchiveError(out)}});
    }
    if (archive_entry_size(entry) > 0) {
      BERTH_RETURN_IF_ERROR(refuse(CopyData(in, out)));
      bytes_written += archive_entry_size(entry);
      if (written) written(bytes_written);
    }
    if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
      return refuse(Internal(ArchiveError(out)));
    }
  }
}

// Reads the tar (zstd or plain, or gzip already inflated by the stage
// before) and writes the entries into dir.
Status UnpackOnThisThread(http::BodySource& tar, const std::string& dir,
                          const WrittenCallback& written) {
  // A private working directory for this thread only, so that libarchive's
  // relative paths (and its symlink checks) are resolved inside dir.
  if (unshare(CLONE_FS) != 0) return Internal(std::string("unshare: ") + std::strerror(errno));
  if (chdir(dir.c_str()) != 0) return Internal("chdir " + dir + ": " + std::strerror(errno));

  ArchiveSource state{&tar, Status::Ok()};
  ArchivePtr in(archive_read_new());
  archive_read_support_filter_all(in.get());  // zstd or none, told by the bytes
  archive_read_support_format_tar(in.get());
  archive_read_support_format_empty(in.get());  // a zero-byte layer
  BERTH_RETURN_IF_ERROR(OpenArchive(in.get(), state, "layer"));
  ArchivePtr out(archive_write_disk_new());
  archive_write_disk_set_options(
      out.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                     ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                     ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);

  Status status = UnpackEntries(in.get(), out.get(), state, written);
  // Folder modes and times are set at close, after their contents.
  if (archive_write_close(out.get()) < ARCHIVE_WARN && status.ok()) {
    status = Internal("finish: " + ArchiveError(out.get()));
  }
  if (!status.ok()) return status;
  return DrainSource(state);
}

}  // namespace

Status UnpackLayer(http::BodySource& source, const std::string& dir,
                   const WrittenCallback& written) {
  PeekingSource input(source);
  auto head = input.Peek(3);
  if (!head.ok()) return head.status();
  // gzip: two stages on two threads, the decompressor inflating while the
  // worker reads the tar and writes the files.
  std::optional<LayerDecompressor> inflated;
  if (IsGzip(*head)) inflated.emplace(input);
  http::BodySource& tar = inflated ? static_cast<http::BodySource&>(*inflated) : input;
  Status status;
  std::thread worker([&] { status = UnpackOnThisThread(tar, dir, written); });
  worker.join();
  return status;
}

}  // namespace berth::agent
