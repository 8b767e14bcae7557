// The etcd backend: a writer thread commits whatever is queued as few etcd
// transactions as etcd's limits allow (group commit, each batch whole in one
// transaction), and scans read page by page at one revision.
#include "store/etcd/etcd_store.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "common/crypto.h"
#include "common/log.h"
#include "store/commit_queue.h"
#include "store/etcd/etcd_client.h"
#include "store/etcd/etcd_schema.h"
#include "store/key_range.h"

namespace berth::store {
namespace {

using etcd::Compare;
using etcd::TxnOp;

// One transaction being put together: its batches and their changes, the
// last one per key (etcd refuses a transaction that names a key twice, and
// only the last change to a key is visible after the batch anyway).
struct TxnPlan {
  std::vector<size_t> batches;       // indices into the group, in order
  std::map<std::string, TxnOp> ops;  // by etcd key
  int64_t op_bytes = 0;              // their encoded size

  void Add(std::string_view data_prefix, const Batch& batch) {
    for (const Mutation& m : batch) {
      std::string key = std::string(data_prefix) + m.key;
      Set(m.kind == Mutation::Kind::kPut ? TxnOp::Put(key, m.value) : TxnOp::Delete(key));
    }
  }

  // Adds a later batch's plan: its changes win over earlier ones.
  void Merge(TxnPlan&& later) {
    for (auto& [key, op] : later.ops) Set(std::move(op));
  }

 private:
  void Set(TxnOp op) {
    auto [it, inserted] = ops.try_emplace(op.key);
    if (!inserted) op_bytes -= etcd::TxnOpBytes(it->second);
    op_bytes += etcd::TxnOpBytes(op);
    it->second = std::move(op);
  }
};

class EtcdStoreImpl final : public EtcdStore {
 public:
  static StatusOr<std::unique_ptr<EtcdStore>> Open(const EtcdStoreOptions& options) {
    std::unique_ptr<EtcdStoreImpl> store(new EtcdStoreImpl(options));
    Status s = store->Init();
    if (!s.ok()) return s.WithContext("store " + store->name_);
    store->queue_.Start(
        [raw = store.get()](std::vector<PendingCommit>& group) { raw->CommitGroup(group); });
    return std::unique_ptr<EtcdStore>(std::move(store));
  }

  ~EtcdStoreImpl() override { Close(); }

  Status Scan(std::string_view prefix,
              const std::function<void(std::string_view, std::string_view)>& fn) override {
    std::lock_guard lock(read_mu_);
    if (!read_client_) return Unavailable("store " + name_ + ": closed");
    const std::string data_prefix = layout_.data_prefix();
    etcd::RangeRequest request;
    request.key = data_prefix + std::string(prefix);
    // data_prefix ends with '/', so the range always has an end.
    request.range_end = *PrefixEnd(request.key);
    request.limit = options_.scan_page_keys;
    for (;;) {
      StatusOr<etcd::RangeResponse> page = read_client_->Range(request);
      if (!page.ok()) {
        return page.status().WithContext("store " + name_ + ": scan " + std::string(prefix));
      }
      // Later pages read at the first one's revision: one consistent view.
      if (request.revision == 0) request.revision = page->revision;
      for (const etcd::KeyValue& kv : page->kvs) {
        fn(std::string_view(kv.key).substr(data_prefix.size()), kv.value);
      }
      if (!page->more || page->kvs.empty()) return Status::Ok();
      request.key = page->kvs.back().key + '\0';
    }
  }

  void Commit(Batch batch, std::function<void(Status)> done) override {
    if (queue_.Push(batch, done)) return;
    if (done) done(Unavailable("store " + name_ + ": closed"));
  }

  void Close() override {
    std::lock_guard close_lock(close_mu_);
    queue_.Stop();
    write_client_.reset();
    std::lock_guard read_lock(read_mu_);
    read_client_.reset();
  }

  void SetFence(std::string fence_key, int64_t create_revision) override {
    std::lock_guard lock(fence_mu_);
    fence_ = Compare::CreateRevision(std::move(fence_key), create_revision);
    sealed_by_ = Status::Ok();
    ++fence_generation_;
  }

  void ClearFence() override {
    std::lock_guard lock(fence_mu_);
    fence_.reset();
    sealed_by_ = Status::Ok();
    ++fence_generation_;
  }

 private:
  explicit EtcdStoreImpl(const EtcdStoreOptions& options)
      : options_(options),
        layout_{options.root},
        // Recognises this store's own transactions in the commit key.
        writer_id_(HexEncode(RandomBytes(8)) + "-" + std::to_string(::getpid())) {
    name_ = "etcd://";
    for (size_t i = 0; i < options.endpoints.size(); ++i) {
      name_ += (i ? "," : "") + options.endpoints[i];
    }
    name_ += options.root;
  }

  Status Init() {
    if (layout_.root.empty() || layout_.root.back() != '/') {
      return InvalidArgument("root \"" + layout_.root + "\" must end with '/'");
    }
    if (options_.max_txn_ops < 2) return InvalidArgument("max_txn_ops must be at least 2");
    if (options_.scan_page_keys < 1) return InvalidArgument("scan_page_keys must be positive");
    const etcd::ClientOptions client_options = EtcdClientOptions(options_);
    auto write = etcd::Client::Create(client_options);
    if (!write.ok()) return write.status();
    write_client_ = std::move(*write);
    auto read = etcd::Client::Create(client_options);
    if (!read.ok()) return read.status();
    read_client_ = std::move(*read);

    StatusOr<int64_t> schema = etcd::Migrate(*write_client_, layout_);
    if (!schema.ok()) return schema.status();
    schema_revision_ = *schema;
    StatusOr<etcd::RangeResponse> commit =
        write_client_->Range(etcd::RangeRequest::OneKey(layout_.commit_key()));
    if (!commit.ok()) return commit.status().WithContext("read commit key");
    commit_revision_ = commit->kvs.empty() ? 0 : commit->kvs[0].mod_revision;
    return Status::Ok();
  }

  // What every transaction of a group carries besides its changes: the
  // compares, the reads that explain a failed compare, and the commit id.
  // The fence is read once per group, so that the sizes planned hold.
  struct Envelope {
    std::vector<Compare> compares;
    std::vector<TxnOp> failure;
    std::optional<Compare> fence;
    Status sealed_by;  // while fenced: the failure after which nothing is written
    uint64_t fence_generation = 0;
    int64_t bytes = 0;  // with the commit key's put at its longest, without the changes
  };

  Envelope MakeEnvelope() {
    Envelope e;
    {
      std::lock_guard lock(fence_mu_);
      e.fence = fence_;
      e.sealed_by = sealed_by_;
      e.fence_generation = fence_generation_;
    }
    e.compares = {Compare::ModRevision(layout_.commit_key(), commit_revision_),
                  Compare::ModRevision(layout_.schema_key(), schema_revision_)};
    e.failure = {TxnOp::Get(layout_.commit_key()), TxnOp::Get(layout_.schema_key())};
    if (e.fence) {
      e.compares.push_back(*e.fence);
      e.failure.push_back(TxnOp::Get(e.fence->key));
    }
    const std::string longest_id = writer_id_ + "/" + std::to_string(UINT64_MAX);
    e.bytes = etcd::TxnRequestBytes(e.compares, {TxnOp::Put(layout_.commit_key(), longest_id)},
                                    e.failure);
    return e;
  }

  std::string NextTxnId() { return writer_id_ + "/" + std::to_string(++txn_sequence_); }

  // Whether plan and another batch's changes fit one transaction.
  bool Fits(const TxnPlan& plan, const TxnPlan& batch, int64_t envelope_bytes) const {
    // The commit key's put is one of the success ops.
    return plan.ops.size() + batch.ops.size() + 1 <= static_cast<size_t>(options_.max_txn_ops) &&
           envelope_bytes + plan.op_bytes + batch.op_bytes <= options_.max_request_bytes;
  }

  void CommitGroup(std::vector<PendingCommit>& group) {
    std::vector<Status> results(group.size());
    Envelope envelope = MakeEnvelope();
    // A fenced store writes nothing after the first failure (see SetFence).
    auto seal = [&](const Status& failure) {
      if (envelope.fence && envelope.sealed_by.ok()) envelope.sealed_by = failure;
    };
    auto sealed = [&] {
      return FailedPrecondition("not written: an earlier change failed (" +
                                envelope.sealed_by.ToString() +
                                "); nothing is written until the state is reloaded");
    };
    std::vector<TxnPlan> plans;
    const std::string data_prefix = layout_.data_prefix();
    for (size_t i = 0; i < group.size(); ++i) {
      if (!envelope.sealed_by.ok()) {
        results[i] = sealed();
        continue;
      }
      results[i] = CheckBatch(group[i].batch);
      TxnPlan alone;
      if (results[i].ok()) alone.Add(data_prefix, group[i].batch);
      if (results[i].ok() && !alone.ops.empty() && !Fits(TxnPlan(), alone, envelope.bytes)) {
        results[i] = TooLarge(alone, envelope.bytes);
      }
      if (!results[i].ok()) {
        seal(results[i]);
        continue;
      }
      if (alone.ops.empty()) continue;  // nothing to write: Ok
      if (plans.empty() || !Fits(plans.back(), alone, envelope.bytes)) plans.emplace_back();
      plans.back().batches.push_back(i);
      plans.back().Merge(std::move(alone));
    }
    // Planned batches all come before any that failed in planning; a failed
    // send stops the ones after it.
    bool send_failed = false;
    const Status planning_failure = envelope.sealed_by;
    auto send = [&](const TxnPlan& plan) {
      Status s = Send(plan, envelope);
      if (!s.ok() && envelope.fence) {
        send_failed = true;
        seal(s);
      }
      return s;
    };
    for (TxnPlan& plan : plans) {
      if (send_failed) {
        for (size_t i : plan.batches) results[i] = sealed();
        continue;
      }
      Status s = send(plan);
      // etcd refused what the checks let through: find the batch at fault by
      // sending each alone, so that it fails by itself.
      if (s.code() == StatusCode::kInvalidArgument && plan.batches.size() > 1) {
        LogWarn("etcd group commit refused, retrying batches one by one",
                {{"store", name_},
                 {"batches", std::to_string(plan.batches.size())},
                 {"error", s.message()}});
        send_failed = false;  // the group's transaction changed nothing
        envelope.sealed_by = planning_failure;
        for (size_t i : plan.batches) {
          if (send_failed) {
            results[i] = sealed();
            continue;
          }
          TxnPlan alone;
          alone.Add(data_prefix, group[i].batch);
          results[i] = send(alone);
        }
      } else {
        for (size_t i : plan.batches) results[i] = s;
      }
    }
    if (!envelope.sealed_by.ok()) {
      std::lock_guard lock(fence_mu_);
      // Unless a fence was set since: its writer has reloaded.
      if (fence_generation_ == envelope.fence_generation) sealed_by_ = envelope.sealed_by;
    }
    CommitQueue::Finish(group, results, "store " + name_ + ": commit");
  }

  Status TooLarge(const TxnPlan& alone, int64_t envelope) const {
    if (alone.ops.size() + 1 > static_cast<size_t>(options_.max_txn_ops)) {
      return InvalidArgument("batch changes " + std::to_string(alone.ops.size()) +
                             " keys; an etcd transaction holds at most " +
                             std::to_string(options_.max_txn_ops - 1) +
                             " (etcd's --max-txn-ops is " + std::to_string(options_.max_txn_ops) +
                             ", one op is the store's own)");
    }
    return InvalidArgument("batch is " + std::to_string(alone.op_bytes + envelope) +
                           " bytes as an etcd request, over etcd's limit of " +
                           std::to_string(options_.max_request_bytes) +
                           " (--max-request-bytes); nothing was written");
  }

  // Sends one transaction, retrying while no endpoint answers. Ok once it is
  // applied (also when an earlier attempt whose reply was lost applied it).
  Status Send(const TxnPlan& plan, Envelope& envelope) {
    const std::string txn_id = NextTxnId();
    // From the revision the previous transaction left.
    envelope.compares[0] = Compare::ModRevision(layout_.commit_key(), commit_revision_);
    std::vector<TxnOp> success;
    success.reserve(plan.ops.size() + 1);
    for (const auto& [key, op] : plan.ops) success.push_back(op);
    success.push_back(TxnOp::Put(layout_.commit_key(), txn_id));
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options_.unavailable_retry_seconds);
    auto backoff = std::chrono::milliseconds(100);
    bool adopted_own_commit = false;
    for (;;) {
      StatusOr<etcd::TxnResponse> r =
          write_client_->Txn(envelope.compares, success, envelope.failure);
      if (!r.ok()) {
        if (r.status().code() != StatusCode::kUnavailable ||
            std::chrono::steady_clock::now() + backoff > deadline) {
          return r.status();
        }
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
        continue;
      }
      if (r->succeeded) {
        commit_revision_ = r->revision;
        return Status::Ok();
      }
      // A compare failed; the failure branch read the compared keys.
      auto first = [&](size_t i) -> const etcd::KeyValue* {
        return i < r->ranges.size() && !r->ranges[i].kvs.empty() ? &r->ranges[i].kvs[0] : nullptr;
      };
      const etcd::KeyValue* commit = first(0);
      const etcd::KeyValue* schema = first(1);
      if (commit != nullptr && commit->value == txn_id) {
        // An attempt whose reply was lost was applied.
        commit_revision_ = commit->mod_revision;
        return Status::Ok();
      }
      if (envelope.fence) {
        const etcd::KeyValue* fence = first(2);
        if (fence == nullptr || fence->create_revision != envelope.fence->number) {
          return FailedPrecondition(
              "fence " + envelope.fence->key + " no longer holds (" +
              (fence == nullptr ? std::string("deleted")
                                : "created at revision " + std::to_string(fence->create_revision)) +
              ", expected revision " + std::to_string(envelope.fence->number) +
              "): this server lost its leadership; nothing was written");
        }
      }
      if ((schema == nullptr ? 0 : schema->mod_revision) != schema_revision_) {
        return FailedPrecondition(
            "schema version key " + layout_.schema_key() + " changed to \"" +
            (schema == nullptr ? std::string() : schema->value) +
            "\" since this store opened: another berth migrated the store; nothing was written");
      }
      if (commit != nullptr && envelope.fence && commit->mod_revision < envelope.fence->number &&
          commit->mod_revision != commit_revision_) {
        // Written before this server's leadership key existed (the fence
        // held, so by an earlier leader, whose own fence has ended since):
        // history this server loaded after it took the lead. Go on from it.
        commit_revision_ = commit->mod_revision;
        envelope.compares[0] = Compare::ModRevision(layout_.commit_key(), commit_revision_);
        continue;
      }
      if (commit != nullptr && !adopted_own_commit && commit->value.starts_with(writer_id_ + "/")) {
        // An earlier transaction of this store that was reported failed
        // (no endpoint answered) was applied after all: go on from it.
        adopted_own_commit = true;
        commit_revision_ = commit->mod_revision;
        envelope.compares[0] = Compare::ModRevision(layout_.commit_key(), commit_revision_);
        continue;
      }
      return FailedPrecondition(
          "another writer committed to " + layout_.root + " (its commit key is at revision " +
          std::to_string(commit == nullptr ? 0 : commit->mod_revision) + ", written by \"" +
          (commit == nullptr ? std::string() : commit->value) + "\"; this store expected " +
          std::to_string(commit_revision_) +
          "): only one berth server may write to an etcd prefix; nothing was written");
    }
  }

  const EtcdStoreOptions options_;
  const etcd::Layout layout_;
  const std::string writer_id_;
  std::string name_;

  // Used by the writer thread once it runs (and by Init before).
  std::unique_ptr<etcd::Client> write_client_;
  int64_t schema_revision_ = 0;
  int64_t commit_revision_ = 0;
  uint64_t txn_sequence_ = 0;

  std::mutex read_mu_;
  std::unique_ptr<etcd::Client> read_client_;  // guarded by read_mu_

  std::mutex fence_mu_;
  std::optional<Compare> fence_;   // guarded by fence_mu_
  Status sealed_by_;               // guarded by fence_mu_; see SetFence
  uint64_t fence_generation_ = 0;  // guarded by fence_mu_: counts SetFence and ClearFence

  std::mutex close_mu_;  // serializes Close
  CommitQueue queue_;    // last: its writer thread uses the members above
};

}  // namespace

etcd::ClientOptions EtcdClientOptions(const EtcdStoreOptions& options) {
  etcd::ClientOptions client_options;
  client_options.endpoints = options.endpoints;
  client_options.timeout_seconds = options.timeout_seconds;
  client_options.tls.enabled = !options.ca_file.empty() || !options.cert_file.empty();
  client_options.tls.ca_file = options.ca_file;
  client_options.tls.cert_file = options.cert_file;
  client_options.tls.key_file = options.key_file;
  return client_options;
}

StatusOr<EtcdStoreOptions> ParseEtcdStoreUrl(std::string_view url) {
  constexpr std::string_view kScheme = "etcd://";
  if (!url.starts_with(kScheme)) return InvalidArgument("want etcd://host:port[,host:port...]");
  std::string_view rest = url.substr(kScheme.size());
  EtcdStoreOptions options;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    options.root = std::string(rest.substr(slash));
    if (options.root.back() != '/') options.root += '/';
    rest = rest.substr(0, slash);
  }
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view endpoint = rest.substr(0, comma);
    if (!endpoint.empty()) options.endpoints.emplace_back(endpoint);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (options.endpoints.empty()) return InvalidArgument("etcd:// names no endpoint");
  return options;
}

StatusOr<std::unique_ptr<EtcdStore>> OpenEtcdStore(const EtcdStoreOptions& options) {
  return EtcdStoreImpl::Open(options);
}

}  // namespace berth::store
