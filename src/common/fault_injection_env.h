// FaultInjectionEnv: an Env for tests that passes everything to another Env
// (usually Env::Default() on a temporary folder) except the failures it is
// told to inject: a disk that fills up after so many bytes, an fsync or a
// rename that fails, a mount refused. It can also keep mounts in a table
// instead of making them, and hand out a FakeClock, so that code which
// mounts and waits is tested without root and without sleeping.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/env.h"

namespace berth {

// Thread-safe. Must outlive the files it opened.
class FaultInjectionEnv final : public Env {
 public:
  enum class Op {
    kOpen,     // NewWritableFile
    kAppend,   // WritableFile::Append
    kSync,     // WritableFile::Sync, SyncFile and SyncFileSystem
    kClose,    // WritableFile::Close
    kSyncDir,  // SyncDir
    kRename,   // RenameFile and RenameNoReplace
    kRemove,   // RemoveFile and RemoveAll
    kCreateDir,
    kMount,
    kUnmount,
  };

  // base is not owned; clock, when given, replaces base's (not owned).
  explicit FaultInjectionEnv(Env* base, Clock* clock = nullptr);

  // Operations op on paths containing path_part fail with err (an errno
  // value), times times (-1: until cleared). For kRename the destination is
  // matched; for kMount and kUnmount the target.
  void Fail(Op op, std::string path_part, int err, int times = -1);
  // Operations op on any path fail with err, each with the given
  // probability, drawn from a generator seeded with seed (a disk that fails
  // now and then: the crash test's random fsync failures).
  void FailAtRandom(Op op, double probability, int err, uint64_t seed);
  // The disk has bytes left: an Append beyond them writes what fits, then
  // fails with ENOSPC, as a full disk does. nullopt: no limit.
  void SetFreeSpace(std::optional<uint64_t> bytes);
  void ClearFaults();  // rules and the space limit
  // How often op was called (failed or not), on any path.
  int calls(Op op) const;

  // Mounts are recorded here instead of being made; IsMounted and Mounts
  // read the record.
  void UseFakeMounts();
  bool IsMounted(const std::string& target) const;
  std::vector<MountRequest> Mounts() const;

  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, OpenMode mode,
                                                          uint32_t permissions) override;
  Status SyncFile(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Status SyncFileSystem(const std::string& path) override;
  Status TouchFile(const std::string& path) override;
  // The space SetFreeSpace left, else base's answer.
  StatusOr<uint64_t> FreeBytes(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RenameNoReplace(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status RemoveAll(const std::string& path) override;
  Status CreateDir(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Status Mount(const MountRequest& request) override;
  Status Unmount(const std::string& target, bool detach) override;
  Clock& clock() override;

  // For FaultInjectionEnv's files: the error to inject for op on path, or
  // Ok (counts the call).
  Status Check(Op op, const std::string& path, std::string_view what);
  // Takes up to wanted bytes of the free space; returns how many may be
  // written.
  uint64_t ReserveSpace(uint64_t wanted);
  void ReleaseSpace(uint64_t bytes);  // a file was cut back

 private:
  struct Rule {
    Op op;
    std::string path_part;
    int err;
    int times;
    double probability = 1;
  };

  Env* const base_;
  Clock* const clock_;
  mutable std::mutex mu_;
  std::vector<Rule> rules_;                     // guarded by mu_
  std::mt19937_64 random_;                      // guarded by mu_
  std::optional<uint64_t> free_space_;          // guarded by mu_
  std::map<Op, int> calls_;                     // guarded by mu_
  bool fake_mounts_ = false;                    // guarded by mu_
  std::map<std::string, MountRequest> mounts_;  // by target; guarded by mu_
};

}  // namespace berth
