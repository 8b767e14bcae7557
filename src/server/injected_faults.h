// Fsyncs that fail on purpose, for crash testing only: with
// BERTH_CRASH_TEST_FSYNC_FAILURES=P in its environment, berth server fails
// each fsync of its SQLite store and of the registry's blobs with
// probability P (0 < P <= 1), as a failing disk would. bench/crash_test.py
// --fsync-failures sets it, to check that nothing is acknowledged before it
// is durable. Unset (always, in production), nothing is injected.
#pragma once

#include <memory>
#include <string>

#include "common/env.h"
#include "common/fault_injection_env.h"
#include "common/status.h"

namespace berth::server {

class InjectedFaults {
 public:
  // From the environment; an unset variable gives an InjectedFaults that
  // injects nothing. A value that is not a probability is an error.
  static StatusOr<std::unique_ptr<InjectedFaults>> FromEnvironment();

  // The Env the registry's blob store writes through.
  Env* env() { return faulty_env_ ? faulty_env_.get() : Env::Default(); }
  // The SQLite VFS the store opens with (empty: SQLite's default).
  const std::string& sqlite_vfs() const { return sqlite_vfs_; }

 private:
  std::unique_ptr<FaultInjectionEnv> faulty_env_;
  std::string sqlite_vfs_;
};

}  // namespace berth::server
