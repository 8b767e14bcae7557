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

void BlobSyncQueue::CommitGroup(Env& env, std::vector<DurableChange>& group) {
  GroupSize().Observe(static_cast<double>(group.size()));
  std::vector<Status> outcome(group.size());
  for (size_t i = 0; i < group.size(); ++i) {
    if (group[i].apply) outcome[i] = group[i].apply();
  }
  // Each directory once, however many changes of the group touched it.
  std::map<std::string, Status> synced;
  for (size_t i = 0; i < group.size(); ++i) {
    if (!outcome[i].ok()) continue;
    for (const std::string& dir : group[i].dirs) synced.emplace(dir, Status::Ok());
  }
  for (auto& [dir, status] : synced) status = env.SyncDir(dir);
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
