// Early writeback of a layer being unpacked: syncfs(2) on the layer's file
// system from a thread of its own whenever the unpacker has written another
// stretch of files, so that the disk writes them while the rest of the
// layer is still being inflated and unpacked. The syncfs that makes the
// whole layer durable before its rename then finds little left to write;
// before, it found the whole layer in the page cache (the kernel's own
// writeback starts only at 10% of memory dirty, or after 30 s) and the pull
// waited for all of it at the end.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "common/env.h"
#include "common/status.h"

namespace berth::agent {

// Thread-safe. At most one syncfs runs at a time; asks that come while one
// runs make one more after it.
class BackgroundSync {
 public:
  // path: a folder on the file system to sync. env is not owned.
  BackgroundSync(Env& env, std::string path);
  ~BackgroundSync();  // as Finish()
  BackgroundSync(const BackgroundSync&) = delete;
  BackgroundSync& operator=(const BackgroundSync&) = delete;

  // Starts a syncfs soon, without waiting for it.
  void Nudge();

  // Waits for the syncfs in progress and stops the thread. Returns the
  // first error any syncfs gave: the kernel reports a writeback error to
  // one syncfs only, so a later syncfs that succeeds does not make the
  // files written before it safe, and the caller must fail the layer.
  Status Finish();

 private:
  void Loop();

  Env& env_;
  const std::string path_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool stopping_ = false;
  Status first_error_;
  std::thread thread_;
};

}  // namespace berth::agent
