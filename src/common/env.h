// Env: the one way berth reaches the operating system for what must survive a
// crash or changes the machine: durable file writes (fsync, atomic rename,
// directory sync), the few directory operations around them, mounts, and the
// clock. Modelled on leveldb's Env. Code that does such I/O takes an Env*
// (production callers pass Env::Default()), so that tests can swap in
// FaultInjectionEnv and see how a full disk, a failed fsync or a failed
// rename is handled.
//
// Reads are not routed here: they have no durability to get wrong, and a
// FaultInjectionEnv wraps the real file system, so what was written through
// it can be read back directly.
//
// Errors name the operation and the path and carry the system's message
// ("write /x/data: No space left on device"). A full disk (ENOSPC, EDQUOT)
// is ResourceExhausted, a missing file NotFound, an existing one (where the
// operation refuses to replace it) AlreadyExists, anything else Internal.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace berth {

// A file being written. Not thread-safe; owned by its writer. Append writes
// at the end of what this object has written (or found, for kAppend).
class WritableFile {
 public:
  // Closes if Close was not called; a failure then is lost, so writers that
  // care call Close.
  virtual ~WritableFile() = default;

  virtual Status Append(std::string_view data) = 0;
  // Cuts the file back to size bytes (after a failed Append, so that the
  // file holds only what was acknowledged).
  virtual Status Truncate(uint64_t size) = 0;
  // Starts writing back [offset, offset + length) without waiting, so that
  // a later Sync waits for less. A hint: failures are ignored.
  virtual void StartWriteback(uint64_t offset, uint64_t length) = 0;
  // fsync: the data (and the file's size and times) are on disk.
  virtual Status Sync() = 0;
  // Some file systems report a failed write-back only here.
  virtual Status Close() = 0;

  virtual uint64_t size() const = 0;  // bytes in the file
  virtual const std::string& path() const = 0;
};

struct AtomicWriteOptions {
  uint32_t mode = 0644;
  // When false, an existing file is left alone and AlreadyExists returned.
  bool replace = true;
  // When false, the file and its directory are not fsynced: the write is
  // atomic against a crash of the process (a reader finds the old content
  // or the new), not against one of the machine. For files whose meaning
  // dies with the machine anyway, written on a hot path: a task's state on
  // the node agent describes containers that do not survive a reboot.
  bool durable = true;
};

// Thread-safe: every method may be called from any thread.
class Env {
 public:
  // The real operating system and the wall clock. Never destroyed.
  static Env* Default();

  virtual ~Env() = default;

  enum class OpenMode {
    kCreateExclusive,  // a new file; AlreadyExists if path exists
    kTruncate,         // created or emptied
    kAppend,           // an existing file, written from its end; NotFound if absent
  };
  virtual StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                  OpenMode mode,
                                                                  uint32_t permissions) = 0;

  // Writes content to a new file beside path, fsyncs it, renames it over
  // path and fsyncs the directory: a reader, or the process after a crash,
  // finds the old content or the new, never a part. On failure path is
  // unchanged and the temporary file removed. The single implementation
  // lives here (not virtual): faults injected into the steps show through.
  Status WriteFileAtomically(const std::string& path, std::string_view content,
                             const AtomicWriteOptions& options = {});

  // fsync of a file that is already written (opened read-only).
  virtual Status SyncFile(const std::string& path) = 0;
  // fsync of a directory: makes the names created, renamed or removed in it
  // durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // syncfs(2): everything written to the file system holding path (a tree
  // of many files, such as an unpacked layer) is on disk.
  virtual Status SyncFileSystem(const std::string& path) = 0;
  // Sets the file's modification time to now. NotFound if it does not exist.
  virtual Status TouchFile(const std::string& path) = 0;
  // Bytes an unprivileged writer may still write on the file system holding
  // path (statvfs's f_bavail).
  virtual StatusOr<uint64_t> FreeBytes(const std::string& path) = 0;

  // rename(2): replaces to atomically.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // rename(2) that refuses to replace an existing to (AlreadyExists).
  virtual Status RenameNoReplace(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;  // NotFound if absent
  // The tree under path; Ok if it does not exist.
  virtual Status RemoveAll(const std::string& path) = 0;
  // One directory (mode 0755); AlreadyExists if path exists.
  virtual Status CreateDir(const std::string& path) = 0;
  // Every missing directory up to path; Ok if it exists.
  virtual Status CreateDirs(const std::string& path) = 0;

  struct MountRequest {
    std::string source;
    std::string target;
    std::string fstype;  // empty for a bind mount
    unsigned long flags = 0;
    std::string options;
    // When not empty, relative paths in options resolve against it (the
    // mount is made from a thread with this working directory): overlay's
    // options fit in one page only when its layers are named relatively.
    std::string working_dir;
  };
  virtual Status Mount(const MountRequest& request) = 0;
  // Unmounts target. Not mounted is Ok; FailedPrecondition while it is busy
  // unless detach (which unmounts lazily, once the last user is gone).
  virtual Status Unmount(const std::string& target, bool detach) = 0;

  // What time it is, and waiting for it. Outlives the Env.
  virtual Clock& clock() = 0;
};

// "<what> <path>: <system message>", with the code described above.
Status ErrnoStatus(std::string_view what, const std::string& path, int err);

}  // namespace berth
