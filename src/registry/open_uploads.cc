#include "registry/open_uploads.h"

namespace berth::registry {

bool OpenUploads::Add(std::string_view repository, const std::string& id,
                      const std::function<bool(const std::string& id)>& exists) {
  if (limit_ == 0) return true;
  std::lock_guard lock(mu_);
  auto& ids = open_[std::string(repository)];
  if (ids.size() >= limit_) {
    // Full: drop the ones that expired meanwhile, then look again.
    std::erase_if(ids, [&](const std::string& open) { return !exists(open); });
    if (ids.size() >= limit_) return false;
  }
  ids.insert(id);
  return true;
}

void OpenUploads::Remove(std::string_view repository, const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = open_.find(repository);
  if (it == open_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) open_.erase(it);
}

}  // namespace berth::registry
