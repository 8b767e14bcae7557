#include "server/disk_guard.h"

#include "common/metrics.h"

namespace berth::server {

namespace {

metrics::Counter& DiskFullRefusals() {
  static metrics::Counter& refused =
      metrics::DefaultRegistry()
          .AddCounter("berth_writes_refused_total",
                      "Requests that would write refused to keep the server's disks from "
                      "filling up (--min-free-disk-mb).",
                      {"reason"})
          .With({"disk_full"});
  return refused;
}

std::string Mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

std::optional<std::string> DiskGuard::WriteRefusal() const {
  if (min_free_bytes_ == 0) return std::nullopt;
  for (const std::string& folder : folders_) {
    auto free = env_->FreeBytes(folder);
    // A folder that cannot be looked at is not a reason to refuse: the
    // write itself will say what is wrong with it.
    if (!free.ok() || *free >= min_free_bytes_) continue;
    DiskFullRefusals().Inc();
    return "the disk holding " + folder + " has " + Mib(*free) + " free, less than the " +
           Mib(min_free_bytes_) + " berth keeps (--min-free-disk-mb): writes are refused until " +
           "space is freed; reads go on";
  }
  return std::nullopt;
}

}  // namespace berth::server
