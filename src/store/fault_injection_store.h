// FaultInjectionStore: a Store for tests that passes everything to another
// Store, except that, when told, commits report a failure: what SQLite
// reports when its fsync fails (the write may or may not have reached the
// disk; the caller cannot count on it). SQLite does its own I/O, below
// berth's Env, so its failures are injected here, at the Store boundary.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "store/store.h"

namespace berth::store {

// Thread-safe.
class FaultInjectionStore final : public Store {
 public:
  explicit FaultInjectionStore(std::unique_ptr<Store> base) : base_(std::move(base)) {}

  // Every later commit's done gets failure (after the base store ran it, on
  // the base's thread), until cleared with nullopt.
  void FailCommits(std::optional<Status> failure);

  Status Scan(std::string_view prefix,
              const std::function<void(std::string_view, std::string_view)>& fn) override {
    return base_->Scan(prefix, fn);
  }
  void Commit(Batch batch, std::function<void(Status)> done) override;
  void Close() override { base_->Close(); }

 private:
  std::unique_ptr<Store> base_;
  std::mutex mu_;
  std::optional<Status> failure_;  // guarded by mu_
};

}  // namespace berth::store
