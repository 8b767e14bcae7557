#include "server/leadership.h"

#include <algorithm>
#include <utility>

#include "common/log.h"

namespace berth::server {

namespace etcd = store::etcd;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

LeaderState NotLeading(uint64_t term) {
  LeaderState state;
  state.term = term;
  return state;
}

}  // namespace

StatusOr<std::unique_ptr<Leadership>> Leadership::Start(LeadershipOptions options,
                                                        std::function<void()> on_change) {
  if (options.lease_seconds < 2) {
    return InvalidArgument("the leader's lease must last 2 seconds or more, got " +
                           std::to_string(options.lease_seconds));
  }
  // A request to etcd may not outlast a third of the lease: a renewal that
  // hangs must leave time for the next one.
  options.client.timeout_seconds = std::max(1, options.lease_seconds / 3);
  auto client = etcd::Client::Create(options.client);
  if (!client.ok()) return client.status().WithContext("leader election");
  std::unique_ptr<Leadership> leadership(
      new Leadership(std::move(options), std::move(*client), std::move(on_change)));
  leadership->thread_ = std::thread([l = leadership.get()] { l->Run(); });
  return leadership;
}

Leadership::Leadership(LeadershipOptions options, std::unique_ptr<etcd::Client> client,
                       std::function<void()> on_change)
    : options_(std::move(options)), client_(std::move(client)), on_change_(std::move(on_change)) {}

Leadership::~Leadership() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

LeaderState Leadership::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

void Leadership::Resign(const Status& why) {
  {
    std::lock_guard lock(mu_);
    if (!state_.leading) return;
    resign_ = true;
  }
  LogWarn("giving up the leadership", {{"reason", why.ToString()}});
  cv_.notify_all();
}

void Leadership::NoteStoreError(const Status& s) {
  std::string error = s.ok() ? "" : "etcd: " + s.ToString();
  {
    std::lock_guard lock(mu_);
    if (state_.store_error == error) return;
    state_.store_error = error;
  }
  if (!s.ok()) LogWarn("leader election: etcd", {{"error", s.ToString()}});
}

void Leadership::Update(const LeaderState& next) {
  LeaderState before;
  {
    std::lock_guard lock(mu_);
    before = state_;
    state_ = next;
    state_.store_error = before.store_error;  // NoteStoreError's alone
  }
  if (before.leading != next.leading || before.leader != next.leader) {
    if (next.leading) {
      LogInfo("this server leads", {{"address", options_.address},
                                    {"fenceRevision", std::to_string(next.fence_revision)}});
    } else {
      LogInfo("the leader is", {{"leader", next.leader.empty() ? "(none)" : next.leader},
                                {"self", options_.address}});
    }
    if (on_change_) on_change_();
  }
}

bool Leadership::Wait(milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [this] { return stop_ || resign_; });
  return !stop_;
}

void Leadership::Run() {
  milliseconds wait(0);
  while (Wait(wait)) {
    bool resign;
    {
      std::lock_guard lock(mu_);
      resign = std::exchange(resign_, false);
    }
    if (resign && lease_ != 0) {
      (void)client_->LeaseRevoke(lease_);  // failing that, the lease expires
      lease_ = 0;
      Update(NotLeading(state().term));
      // Another server's turn first: this one has just failed to write.
      wait = milliseconds(options_.lease_seconds * 1000);
      continue;
    }
    wait = lease_ != 0 ? Renew() : Follow();
  }
  if (lease_ != 0) (void)client_->LeaseRevoke(lease_);
  Update(NotLeading(state().term));
}

milliseconds Leadership::Follow() {
  // Poll the key a few times per lease: a new leader is known within that.
  const milliseconds poll(std::clamp(options_.lease_seconds * 1000 / 4, 200, 1000));
  auto warn = [&](const Status& s) { NoteStoreError(s); };
  auto current = client_->Range(etcd::RangeRequest::OneKey(options_.key));
  if (!current.ok()) {
    warn(current.status());
    return poll;
  }
  NoteStoreError(Status::Ok());
  LeaderState next = state();
  next.leading = false;
  if (!current->kvs.empty()) {
    next.leader = current->kvs[0].value;
    Update(next);
    return poll;
  }
  auto lease = client_->LeaseGrant(options_.lease_seconds);
  if (!lease.ok()) {
    warn(lease.status());
    return poll;
  }
  const auto granted_at = Clock::now();
  auto txn = client_->Txn({etcd::Compare::CreateRevision(options_.key, 0)},
                          {etcd::TxnOp::Put(options_.key, options_.address, lease->id)},
                          {etcd::TxnOp::Get(options_.key)});
  if (!txn.ok() || !txn->succeeded) {
    // Another server was faster (or etcd failed: then whether the key was
    // put is unknown, and revoking the lease deletes it if it was).
    (void)client_->LeaseRevoke(lease->id);
    if (!txn.ok()) {
      warn(txn.status());
      return poll;
    }
    if (!txn->ranges.empty() && !txn->ranges[0].kvs.empty()) {
      next.leader = txn->ranges[0].kvs[0].value;
    }
    Update(next);
    return poll;
  }
  NoteStoreError(Status::Ok());
  lease_ = lease->id;
  lease_deadline_ = granted_at + std::chrono::seconds(lease->ttl_seconds);
  next.leading = true;
  next.leader = options_.address;
  next.fence_revision = txn->revision;  // the put's revision: the key's create revision
  ++next.term;
  Update(next);
  return milliseconds(options_.lease_seconds * 1000 / 3);
}

milliseconds Leadership::Renew() {
  const milliseconds renew_every(options_.lease_seconds * 1000 / 3);
  const auto sent_at = Clock::now();
  auto ttl = sent_at < lease_deadline_ ? client_->LeaseKeepAlive(lease_)
                                       : StatusOr<int64_t>(NotFound("lease expired"));
  if (ttl.ok() && *ttl > 0) {
    NoteStoreError(Status::Ok());
    lease_deadline_ = sent_at + std::chrono::seconds(*ttl);
    return renew_every;
  }
  if (!ttl.ok()) NoteStoreError(ttl.status());
  if (!ttl.ok() && ttl.status().code() != StatusCode::kNotFound && Clock::now() < lease_deadline_) {
    // etcd did not answer; the lease may still hold: try again soon.
    return milliseconds(std::max<int64_t>(100, renew_every.count() / 4));
  }
  LogWarn("the leader's lease ended; this server no longer leads",
          {{"error", ttl.ok() ? "lease expired" : ttl.status().ToString()}});
  lease_ = 0;
  Update(NotLeading(state().term));
  return milliseconds(0);
}

}  // namespace berth::server
