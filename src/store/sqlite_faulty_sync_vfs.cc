// A shim VFS: every file it opens is the default VFS's file with our method
// table in front, which forwards each call and fails xSync on demand.
#include "store/sqlite_faulty_sync_vfs.h"

#include <sqlite3.h>

#include <memory>
#include <mutex>

namespace berth::store {
namespace {

struct Shim {
  sqlite3_vfs vfs;    // ours, registered under kFaultySyncVfs
  sqlite3_vfs* real;  // the default VFS
  std::mutex mu;
  std::shared_ptr<std::function<bool()>> should_fail;  // guarded by mu
};
Shim shim;

// Our file: the method table SQLite calls, then the real VFS's file.
struct File {
  sqlite3_file base;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Of(f)->real(); }

bool ShouldFail() {
  std::shared_ptr<std::function<bool()>> should_fail;
  {
    std::lock_guard lock(shim.mu);
    should_fail = shim.should_fail;
  }
  return should_fail && *should_fail && (*should_fail)();
}

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 offset) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, offset);
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 offset) {
  return Real(f)->pMethods->xWrite(Real(f), buf, n, offset);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (ShouldFail()) return SQLITE_IOERR_FSYNC;
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int remove) { return Real(f)->pMethods->xShmUnmap(Real(f), remove); }
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), offset, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), offset, p);
}

// Version 3 methods: WAL mode needs the shared-memory ones. The default
// (unix) VFS's files have all of them.
const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  File* file = Of(f);
  file->base.pMethods = nullptr;  // what SQLite checks when an open fails
  int rc = shim.real->xOpen(shim.real, name, file->real(), flags, out_flags);
  if (file->real()->pMethods != nullptr) file->base.pMethods = &kMethods;
  return rc;
}
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return shim.real->xDelete(shim.real, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return shim.real->xAccess(shim.real, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return shim.real->xFullPathname(shim.real, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return shim.real->xDlOpen(shim.real, name); }
void DlError(sqlite3_vfs*, int n, char* out) { shim.real->xDlError(shim.real, n, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return shim.real->xDlSym(shim.real, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { shim.real->xDlClose(shim.real, handle); }
int Randomness(sqlite3_vfs*, int n, char* out) { return shim.real->xRandomness(shim.real, n, out); }
int Sleep(sqlite3_vfs*, int micros) { return shim.real->xSleep(shim.real, micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return shim.real->xCurrentTime(shim.real, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) {
  return shim.real->xGetLastError(shim.real, n, out);
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return shim.real->xCurrentTimeInt64(shim.real, out);
}

}  // namespace

Status RegisterFaultySyncVfs(std::function<bool()> should_fail) {
  auto shared = std::make_shared<std::function<bool()>>(std::move(should_fail));
  static const Status registered = [] {
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    if (real == nullptr || real->iVersion < 2) {
      return Internal("SQLite has no default VFS of version 2 or later to wrap");
    }
    shim.real = real;
    shim.vfs = sqlite3_vfs{};  // zero: no system-call overrides (version 2)
    shim.vfs.iVersion = 2;
    shim.vfs.szOsFile = static_cast<int>(sizeof(File)) + real->szOsFile;
    shim.vfs.mxPathname = real->mxPathname;
    shim.vfs.zName = kFaultySyncVfs;
    shim.vfs.xOpen = Open;
    shim.vfs.xDelete = Delete;
    shim.vfs.xAccess = Access;
    shim.vfs.xFullPathname = FullPathname;
    shim.vfs.xDlOpen = DlOpen;
    shim.vfs.xDlError = DlError;
    shim.vfs.xDlSym = DlSym;
    shim.vfs.xDlClose = DlClose;
    shim.vfs.xRandomness = Randomness;
    shim.vfs.xSleep = Sleep;
    shim.vfs.xCurrentTime = CurrentTime;
    shim.vfs.xGetLastError = GetLastError;
    shim.vfs.xCurrentTimeInt64 = CurrentTimeInt64;
    int rc = sqlite3_vfs_register(&shim.vfs, /*makeDflt=*/0);
    if (rc != SQLITE_OK) return Internal(std::string("register SQLite VFS: ") + sqlite3_errstr(rc));
    return Status::Ok();
  }();
  if (!registered.ok()) return registered;
  std::lock_guard lock(shim.mu);
  shim.should_fail = std::move(shared);
  return Status::Ok();
}

}  // namespace berth::store
