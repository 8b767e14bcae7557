// The in-memory backend for unit tests: same ordering and atomicity as the
// durable ones, no durability.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/key_range.h"
#include "store/store.h"

namespace berth::store {
namespace {

class MemoryStore final : public Store {
 public:
  Status Scan(std::string_view prefix,
              const std::function<void(std::string_view, std::string_view)>& fn) override {
    // Copy the range first so fn runs without the lock (it may Commit) and
    // still sees one consistent view.
    std::vector<std::pair<std::string, std::string>> rows;
    {
      std::lock_guard lock(mu_);
      if (closed_) return Unavailable("memory store: closed");
      auto first = data_.lower_bound(prefix);
      std::optional<std::string> end = PrefixEnd(prefix);
      auto last = end ? data_.lower_bound(*end) : data_.end();
      rows.assign(first, last);
    }
    for (const auto& [key, value] : rows) fn(key, value);
    return Status::Ok();
  }

  void Commit(Batch batch, std::function<void(Status)> done) override {
    Status status = Apply(std::move(batch));
    done(std::move(status));
  }

  void Close() override {
    std::lock_guard lock(mu_);
    closed_ = true;
  }

 private:
  Status Apply(Batch batch) {
    // Checked before anything changes, so a bad batch is never half applied.
    if (Status s = CheckBatch(batch); !s.ok()) return s.WithContext("memory store: commit");
    std::lock_guard lock(mu_);
    if (closed_) return Unavailable("memory store: closed");
    for (Mutation& m : batch) {
      if (m.kind == Mutation::Kind::kPut) {
        data_.insert_or_assign(std::move(m.key), std::move(m.value));
      } else {
        data_.erase(m.key);
      }
    }
    return Status::Ok();
  }

  std::mutex mu_;
  bool closed_ = false;  // guarded by mu_
  // std::less<> so that lower_bound takes a string_view without a copy.
  std::map<std::string, std::string, std::less<>> data_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace berth::store
