#include "store/fault_injection_store.h"

#include <utility>

namespace berth::store {

void FaultInjectionStore::FailCommits(std::optional<Status> failure) {
  std::lock_guard lock(mu_);
  failure_ = std::move(failure);
}

void FaultInjectionStore::Commit(Batch batch, std::function<void(Status)> done) {
  std::optional<Status> failure;
  {
    std::lock_guard lock(mu_);
    failure = failure_;
  }
  if (!failure) return base_->Commit(std::move(batch), std::move(done));
  base_->Commit(std::move(batch), [failure = *std::move(failure), done = std::move(done)](Status) {
    if (done) done(failure);
  });
}

}  // namespace berth::store
