// Keeps the server's disks from filling up under it. While a folder berth
// writes to (the SQLite database's, the registry's blobs) has less than a
// reserve free, requests that would write there are refused with a clear
// error and reads go on; the reserve is left to the server's own small
// writes (agent reports, controllers, events), so that it never meets a
// full disk in the middle of a commit (which stops it). Writes resume by
// themselves once space is freed.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"

namespace berth::server {

class DiskGuard {
 public:
  // min_free_bytes 0: never refuses.
  DiskGuard(Env* env, std::vector<std::string> folders, uint64_t min_free_bytes)
      : env_(env), folders_(std::move(folders)), min_free_bytes_(min_free_bytes) {}

  // Why a write must be refused now ("the disk holding /var/lib/berth has
  // 12 MiB free, less than the 256 MiB berth keeps (--min-free-disk-mb)"),
  // or nullopt. Counts each refusal in berth_writes_refused_total.
  std::optional<std::string> WriteRefusal() const;

 private:
  Env* const env_;
  const std::vector<std::string> folders_;
  const uint64_t min_free_bytes_;
};

}  // namespace berth::server
