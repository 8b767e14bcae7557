#include "registry/blob_sync_queue.h"

#include <map>

#include "common/metrics.h"

namespace berth::registry {
namespace {

metrics::Histogram& GroupSize() {
  static metrics::Histogram& size =
      metrics::DefaultRegistry()
          .AddHistogram("berth_registry_sync_group_changes",
                        "Blob store changes (upload starts and completions) made durable by one "
                        "group of fsyncs.",
                        {}, {1, 2, 4, 8, 16, 32, 64})
          .With({});
  return size;
}

}  // namespace

BlobSyncQueue::BlobSyncQueue(Env* env) : env_(env), thread_([this] { Run(); }) {}

BlobSyncQueue::~BlobSyncQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void BlobSyncQueue::Push(DurableChange change) {
  std::lock_guard lock(mu_);
  queue_.push_back(std::move(change));
  // The thread takes the whole queue when it wakes.
  if (queue_.size() == 1) wake_.notify_one();
}

void BlobSyncQueue::Run() {
  std::vector<DurableChange> group;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      group.swap(queue_);
    }
    CommitGroup(*env_, group);
    group.clear();
  }
}

namespace {

// Runs step(0) .. step(n - 1) at once, each on a thread of its own but the
// first: each waits for the disk, and the disk takes concurrent fsyncs
// faster than the same one after another.
void OnThreadsAtOnce(size_t n, const std::function<void(size_t)>& step) {
  std::vector<std::thread> threads;
  threads.reserve(n > 0 ? n - 1 : 0);
  for (size_t i = 1; i < n; ++i) threads.emplace_back(step, i);
  if (n > 0) step(0);
  for (std::thread& thread : threads) thread.join();
}

}  // namespace

void BlobSyncQueue::CommitGroup(Env& env, std::vector<DurableChange>& group) {
  GroupSize().Observe(static_cast<double>(group.size()));
  std::vector<Status> outcome(group.size());
  OnThreadsAtOnce(group.size(), [&](size_t i) {
    if (group[i].apply) outcome[i] = group[i].apply();
  });
  // Each directory once, however many changes of the group touched it.
  std::map<std::string, Status> synced;
  for (size_t i = 0; i < group.size(); ++i) {
    if (!outcome[i].ok()) continue;
    for (const std::string& dir : group[i].dirs) synced.emplace(dir, Status::Ok());
  }
  std::vector<std::pair<const std::string, Status>*> dirs;
  for (auto& entry : synced) dirs.push_back(&entry);
  OnThreadsAtOnce(dirs.size(), [&](size_t i) { dirs[i]->second = env.SyncDir(dirs[i]->first); });
  for (size_t i = 0; i < group.size(); ++i) {
    if (outcome[i].ok()) {
      for (const std::string& dir : group[i].dirs) {
        if (const Status& status = synced.at(dir); !status.ok()) {
          outcome[i] = status;
          break;
        }
      }
    }
    if (group[i].done) group[i].done(std::move(outcome[i]));
  }
}

}  // namespace berth::registry
