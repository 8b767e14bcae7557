#include "common/env.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>

#include "common/crypto.h"

namespace berth {

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string message = std::string(what) + " " + path + ": " +
                        std::error_code(err, std::generic_category()).message();
  switch (err) {
    case ENOENT:
      return NotFound(std::move(message));
    case EEXIST:
      return AlreadyExists(std::move(message));
    case ENOSPC:
    case EDQUOT:
      return Status(StatusCode::kResourceExhausted, std::move(message));
    default:
      return Internal(std::move(message));
  }
}

Status Env::WriteFileAtomically(const std::string& path, std::string_view content,
                                const AtomicWriteOptions& options) {
  // Beside path, on the same file system, so that the rename is atomic; a
  // random name, so that concurrent writers of one path do not collide.
  std::string temp = path + ".tmp-" + HexEncode(RandomBytes(8));
  StatusOr<std::unique_ptr<WritableFile>> file =
      NewWritableFile(temp, OpenMode::kCreateExclusive, options.mode);
  if (!file.ok()) return file.status();
  Status status = (*file)->Append(content);
  if (status.ok() && options.durable) status = (*file)->Sync();
  if (Status closed = (*file)->Close(); status.ok()) status = closed;
  if (status.ok()) status = options.replace ? RenameFile(temp, path) : RenameNoReplace(temp, path);
  if (!status.ok()) {
    (void)RemoveFile(temp);
    return status;
  }
  if (!options.durable) return Status::Ok();
  std::string dir = std::filesystem::path(path).parent_path().string();
  return SyncDir(dir.empty() ? "." : dir);
}

namespace {

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(size_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
      size_ += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return ErrnoStatus("truncate", path_, errno);
    }
    size_ = size;
    return Status::Ok();
  }

  void StartWriteback(uint64_t offset, uint64_t length) override {
    ::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(length),
                      SYNC_FILE_RANGE_WRITE);
  }

  Status Sync() override {
    if (::fsync(fd_) != 0) return ErrnoStatus("fsync", path_, errno);
    return Status::Ok();
  }

  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    int result = ::close(std::exchange(fd_, -1));
    if (result != 0) return ErrnoStatus("close", path_, errno);
    return Status::Ok();
  }

  uint64_t size() const override { return size_; }
  const std::string& path() const override { return path_; }

 private:
  const std::string path_;
  int fd_;
  uint64_t size_;
};

Status SyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err == 0 ? Status::Ok() : ErrnoStatus("fsync", path, err);
}

Status MountNow(const Env::MountRequest& r) {
  const char* fstype = r.fstype.empty() ? nullptr : r.fstype.c_str();
  const char* data = r.options.empty() ? nullptr : r.options.c_str();
  if (::mount(r.source.c_str(), r.target.c_str(), fstype, r.flags, data) != 0) {
    return ErrnoStatus("mount " + (r.fstype.empty() ? std::string("bind") : r.fstype) + " on",
                       r.target, errno);
  }
  return Status::Ok();
}

class PosixEnv final : public Env {
 public:
  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, OpenMode mode,
                                                          uint32_t permissions) override {
    int flags = O_WRONLY | O_CLOEXEC;
    if (mode == OpenMode::kCreateExclusive) flags |= O_CREAT | O_EXCL;
    if (mode == OpenMode::kTruncate) flags |= O_CREAT | O_TRUNC;
    int fd = ::open(path.c_str(), flags, static_cast<mode_t>(permissions));
    if (fd < 0) return ErrnoStatus("open", path, errno);
    uint64_t size = 0;
    if (mode == OpenMode::kAppend) {
      struct stat st;
      if (::fstat(fd, &st) != 0) {
        Status status = ErrnoStatus("stat", path, errno);
        ::close(fd);
        return status;
      }
      size = static_cast<uint64_t>(st.st_size);
    }
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, fd, size));
  }

  Status SyncFile(const std::string& path) override { return SyncPath(path, O_RDONLY); }
  Status SyncDir(const std::string& path) override {
    return SyncPath(path, O_RDONLY | O_DIRECTORY);
  }

  Status SyncFileSystem(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    int err = ::syncfs(fd) == 0 ? 0 : errno;
    ::close(fd);
    return err == 0 ? Status::Ok() : ErrnoStatus("syncfs", path, err);
  }

  Status TouchFile(const std::string& path) override {
    if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) != 0) {
      return ErrnoStatus("touch", path, errno);
    }
    return Status::Ok();
  }

  StatusOr<uint64_t> FreeBytes(const std::string& path) override {
    struct statvfs fs;
    if (::statvfs(path.c_str(), &fs) != 0) return ErrnoStatus("statvfs", path, errno);
    return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus("rename " + from + " to", to, errno);
    }
    return Status::Ok();
  }

  Status RenameNoReplace(const std::string& from, const std::string& to) override {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
      return ErrnoStatus("rename " + from + " to", to, errno);
    }
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("remove", path, errno);
    return Status::Ok();
  }

  Status RemoveAll(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return ErrnoStatus("remove", path, ec.value());
    return Status::Ok();
  }

  Status CreateDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) != 0) return ErrnoStatus("create", path, errno);
    return Status::Ok();
  }

  Status CreateDirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return ErrnoStatus("create", path, ec.value());
    return Status::Ok();
  }

  Status Mount(const MountRequest& request) override {
    if (request.working_dir.empty()) return MountNow(request);
    // A thread of its own, unshared from the process's working directory,
    // so that changing it does not move anyone else's.
    Status status;
    std::thread mounter([&] {
      if (::unshare(CLONE_FS) != 0) {
        status = ErrnoStatus("unshare working directory for", request.target, errno);
      } else if (::chdir(request.working_dir.c_str()) != 0) {
        status = ErrnoStatus("chdir", request.working_dir, errno);
      } else {
        status = MountNow(request);
      }
    });
    mounter.join();
    return status;
  }

  Status Unmount(const std::string& target, bool detach) override {
    int flags = UMOUNT_NOFOLLOW | (detach ? MNT_DETACH : 0);
    if (::umount2(target.c_str(), flags) == 0) return Status::Ok();
    if (errno == EINVAL || errno == ENOENT) return Status::Ok();  // not mounted
    if (errno == EBUSY) return FailedPrecondition("unmount " + target + ": busy");
    return ErrnoStatus("unmount", target, errno);
  }

  Clock& clock() override { return SystemClock(); }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv env;  // no state: safe to use until the process ends
  return &env;
}

}  // namespace berth
