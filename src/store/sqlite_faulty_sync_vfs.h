// An SQLite VFS whose fsyncs fail on demand: the fault-injecting twin of
// SQLite's own file I/O, which does not go through Env. Everything passes
// to the default VFS except xSync, which fails with SQLITE_IOERR_FSYNC when
// should_fail says so, as a disk that loses a write does. The crash test
// (bench/crash_test.py) runs the server on it; unit tests use it to fail a
// commit at a chosen moment.
#pragma once

#include <functional>

#include "common/status.h"

namespace berth::store {

inline constexpr char kFaultySyncVfs[] = "berth-faulty-sync";

// Registers the VFS (not as the default) under kFaultySyncVfs, or replaces
// should_fail when it is already registered. should_fail is called on the
// thread that syncs, for every sync of a database or WAL file; it must be
// thread-safe.
Status RegisterFaultySyncVfs(std::function<bool()> should_fail);

}  // namespace berth::store
