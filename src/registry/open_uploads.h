// A cap on the uploads open in one repository, so that a client (a broken
// pusher, or an attacker with a push key) cannot make the registry hold an
// unbounded number of half-finished blobs. An upload counts from its POST
// until it is completed, cancelled or removed by the registry's GC
// (BlobStore::GarbageCollect);
// expired ones are noticed when the cap is reached. Monolithic pushes (one
// request) do not count.
//
// In memory, per server: after a restart or a change of leader, uploads
// begun before count again only once continued. Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace berth::registry {

class OpenUploads {
 public:
  // limit 0: no cap.
  explicit OpenUploads(size_t limit) : limit_(limit) {}

  // Counts upload id in repository unless the repository is at the limit
  // with uploads that still exist (exists(id)); false then.
  bool Add(std::string_view repository, const std::string& id,
           const std::function<bool(const std::string& id)>& exists);
  // The upload ended (completed, cancelled, failed for good).
  void Remove(std::string_view repository, const std::string& id);
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  std::mutex mu_;
  std::map<std::string, std::set<std::string>, std::less<>> open_;  // guarded by mu_
};

}  // namespace berth::registry
