// Leader election among the berth servers sharing an etcd root.
//
// A server leads while it holds <root>leader: a key created only if absent,
// with a lease this class keeps alive, holding the server's API address.
// The others read it to know where to forward requests, and campaign when
// it is gone (its server stopped, or its lease expired). The key's create
// revision is the leader's fence (EtcdStore::SetFence): a server whose key
// has gone can no longer write, whatever it still believes.
//
// Thread-safe. The campaign runs on a thread of its own with its own etcd
// client.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "store/etcd/etcd_client.h"

namespace berth::server {

struct LeadershipOptions {
  store::etcd::ClientOptions client;
  std::string key;      // "<root>leader"
  std::string address;  // this server's API address ("host:port"), the key's value
  // The lease's TTL: a leader that stops renewing it (killed, paused, cut
  // off) is replaced this long after its last renewal.
  int lease_seconds = 10;
};

struct LeaderState {
  bool leading = false;
  std::string leader;          // the leader's address; empty while none is known
  int64_t fence_revision = 0;  // while leading: the key's create revision
  uint64_t term = 0;           // counts the times this server became leader
  // The last etcd error of the campaign or the lease's renewal; empty once
  // etcd answers again. Why no server leads, when none does.
  std::string store_error;
};

class Leadership {
 public:
  // Starts campaigning. on_change is called (on the campaign's thread, with
  // no lock held) after every change of state().
  static StatusOr<std::unique_ptr<Leadership>> Start(LeadershipOptions options,
                                                     std::function<void()> on_change);
  // Stops campaigning; a lease held is revoked, so that another server
  // takes over at once.
  ~Leadership();

  LeaderState state() const;

  // Gives the leadership up now (a fenced write was refused, or the state
  // could not be loaded): the lease is revoked, and this server campaigns
  // again after a lease's time. Cheap; any thread.
  void Resign(const Status& why);

 private:
  explicit Leadership(LeadershipOptions options, std::unique_ptr<store::etcd::Client> client,
                      std::function<void()> on_change);
  void Run();
  // One step of the campaign while following; returns how long to wait.
  std::chrono::milliseconds Follow();
  // One renewal while leading; returns how long to wait.
  std::chrono::milliseconds Renew();
  void Update(const LeaderState& next);
  // Records (or, with an ok status, clears) state().store_error; logs a new one.
  void NoteStoreError(const Status& s);
  // Waits up to d, or until stopped or resigned; true while not stopped.
  bool Wait(std::chrono::milliseconds d);

  const LeadershipOptions options_;
  const std::unique_ptr<store::etcd::Client> client_;  // the campaign thread's
  const std::function<void()> on_change_;

  // The campaign thread's.
  int64_t lease_ = 0;
  std::chrono::steady_clock::time_point lease_deadline_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  LeaderState state_;    // guarded by mu_
  bool stop_ = false;    // guarded by mu_
  bool resign_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace berth::server
