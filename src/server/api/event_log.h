// The event stream: every state change the ECS API makes (a task placed,
// running, stopped; an instance registered, joined, lost, draining; a
// service event; a gang attempt) is an Event with an id, a time, a kind,
// the resources it concerns and a message.
//
// Events are emitted where the change is made (Emit, under the owner's
// lock) and join the store batch that commits the change (TakePending), so
// an event is durable exactly when its change is: "events/<20-digit id>".
// The log keeps every event within the retention period in memory too, for
// readers (After) that must not take the owner's lock. Sweep drops those
// older than the retention period (appending drops those beyond the cap at
// once, in the appending batch) and writes down the
// highest id swept ("eventlog/swept-through"), so that ids keep increasing
// across restarts even when every event was swept, and a reader resuming
// from a swept id learns that it missed some (Page::truncated).
//
// Thread-safe: Emit, TakePending, DropPending and Sweep are called by one
// writer at a time (EcsApi's lock held exclusively); Append, After, LastId
// may be called from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace berth::server::api {

struct Event {
  uint64_t id = 0;
  int64_t time_millis = 0;
  std::string kind;  // TaskPlaced, TaskRunning, TaskStopped, InstanceJoined...
  std::string cluster;
  std::vector<std::string> resources;  // ARNs
  std::string message;

  // {"id": "17", "time": epoch seconds, "kind", "cluster", "resources", "message"}
  boost::json::object ToJson() const;
  static StatusOr<Event> FromJson(std::string_view text);
};

class EventLog {
 public:
  static constexpr std::string_view kPrefix = "events/";
  static constexpr std::string_view kSweptThroughKey = "eventlog/swept-through";
  static constexpr int64_t kDefaultRetentionMillis = 24 * 3600 * 1000;
  static constexpr size_t kDefaultMaxEvents = 100000;

  // "events/00000000000000000017"
  static std::string Key(uint64_t id);

  // How long events are kept, and how many at most. Set before serving.
  void SetRetention(int64_t retention_millis, size_t max_events);

  // Reads the kept events and the swept-through mark from the store.
  Status Load(store::Store& store);

  // Queues an event (ids are given when it is taken into a batch).
  void Emit(int64_t time_millis, std::string kind, std::string cluster,
            std::vector<std::string> resources, std::string message);
  bool HasPending() const { return !pending_.empty(); }
  // Gives the queued events their ids, puts them into batch and keeps them;
  // readers see them from now on (answer them once the batch is durable).
  // Calls on_append when there were any.
  void TakePending(store::Batch& batch);
  // Appends one event at once, its put into batch: for a writer other than
  // the one that emits (the registry, under its own lock). Commit batch
  // after taking its commit sequence number (CommitTracker::Next), so that a
  // reader that sees the event waits for it to be durable.
  void Append(int64_t time_millis, std::string kind, std::string cluster,
              std::vector<std::string> resources, std::string message, store::Batch& batch);
  // Forgets the queued events (Load replays state that emits none).
  void DropPending() { pending_.clear(); }

  // Drops events older than retention at now_millis, and the oldest beyond
  // the cap; their deletes go into batch. Returns how many.
  size_t Sweep(int64_t now_millis, store::Batch& batch);

  struct Page {
    std::vector<Event> events;
    uint64_t next_after = 0;  // pass as `after` to continue
    bool truncated = false;   // events after `after` were swept: some are missed
  };
  // Up to limit events with id > after, of cluster (all when empty).
  Page After(uint64_t after, std::string_view cluster, size_t limit) const;
  // The id of the newest event (0: none yet).
  uint64_t LastId() const;
  // The id of the newest event at or before time_millis (0: none), to
  // start a reader at a point in time.
  uint64_t LastIdAtOrBefore(int64_t time_millis) const;

  // Called (with the writer's lock held: it must only signal) when events
  // were appended. Set before serving.
  void set_on_append(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    on_append_ = std::move(fn);
  }

 private:
  // Drops the oldest while more than the cap are kept (mu_ held), their
  // deletes and the swept-through mark into batch: the cap holds between
  // sweeps too. Returns how many.
  size_t DropBeyondCapLocked(store::Batch& batch);

  std::vector<Event> pending_;  // the writer's only

  mutable std::mutex mu_;
  std::deque<Event> kept_;  // by id
  uint64_t last_id_ = 0;
  uint64_t swept_through_ = 0;
  int64_t retention_millis_ = kDefaultRetentionMillis;
  size_t max_events_ = kDefaultMaxEvents;
  std::function<void()> on_append_;
};

}  // namespace berth::server::api
