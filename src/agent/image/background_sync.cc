#include "agent/image/background_sync.h"

#include <utility>

namespace berth::agent {

BackgroundSync::BackgroundSync(Env& env, std::string path)
    : env_(env), path_(std::move(path)), thread_([this] { Loop(); }) {}

BackgroundSync::~BackgroundSync() { (void)Finish(); }

void BackgroundSync::Nudge() {
  std::lock_guard lock(mu_);
  pending_ = true;
  wake_.notify_one();
}

Status BackgroundSync::Finish() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return first_error_;
}

void BackgroundSync::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return pending_ || stopping_; });
    // A layer that is done is synced by its owner: no point in one more here.
    if (stopping_) return;
    pending_ = false;
    lock.unlock();
    Status status = env_.SyncFileSystem(path_);
    lock.lock();
    if (!status.ok() && first_error_.ok()) first_error_ = std::move(status);
  }
}

}  // namespace berth::agent
