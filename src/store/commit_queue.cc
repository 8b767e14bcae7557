#include "store/commit_queue.h"

#include <string>
#include <utility>

#include "common/metrics.h"

namespace berth::store {
namespace {

metrics::Histogram& CommitLatency() {
  static metrics::Histogram& latency =
      metrics::DefaultRegistry()
          .AddHistogram("berth_store_commit_seconds",
                        "Time from a change being queued to the store to it being durable.", {})
          .With({});
  return latency;
}

}  // namespace

void CommitQueue::Start(CommitGroup commit_group) {
  writer_ =
      std::thread([this, commit_group = std::move(commit_group)] { WriterLoop(commit_group); });
}

bool CommitQueue::Push(Batch& batch, std::function<void(Status)>& done) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  queue_.push_back({std::move(batch), std::move(done), std::chrono::steady_clock::now()});
  // Waking the writer only when the queue was empty is enough: it takes the
  // whole queue when it wakes.
  if (queue_.size() == 1) wake_.notify_one();
  return true;
}

void CommitQueue::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) writer_.join();
}

void CommitQueue::WriterLoop(const CommitGroup& commit_group) {
  // Reused between rounds so that the queue keeps its capacity.
  std::vector<PendingCommit> group;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything queued is committed
      group.swap(queue_);
    }
    commit_group(group);
    group.clear();
  }
}

void CommitQueue::Finish(std::vector<PendingCommit>& group, const std::vector<Status>& results,
                         std::string_view context) {
  const auto now = std::chrono::steady_clock::now();
  for (size_t i = 0; i < group.size(); ++i) {
    CommitLatency().Observe(std::chrono::duration<double>(now - group[i].queued).count());
    if (group[i].done) group[i].done(results[i].WithContext(context));
  }
}

}  // namespace berth::store
