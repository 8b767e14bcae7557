// What the server knows of node agents in memory only: the assignment
// version of each instance and when its agent last polled.
//
// Versions are "<boot id>-<counter>". The boot id is new on every start, so
// a version an agent got from an earlier server never matches and its first
// poll after a restart is answered at once with the whole desired state.
//
// Liveness: an agent is connected while it holds a poll open or polled
// within the heartbeat timeout. Instances not heard from since the server
// started count from the start, which gives them one timeout of grace.
// An agent silent for longer than lost-after is lost: the server stops its
// tasks (EcsApi::StopTasksOfLostInstances).
//
// Thread-safe. Time is passed in.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace berth::server::api {

class AgentTracker {
 public:
  static constexpr int64_t kDefaultHeartbeatTimeoutMillis = 30'000;
  static constexpr int64_t kDefaultLostAfterMillis = 300'000;

  AgentTracker(std::string boot_id, int64_t started_millis)
      : boot_id_(std::move(boot_id)), started_millis_(started_millis) {}

  // Instances not heard from yet count as seen at this time (the grace
  // after a restart).
  void set_started_millis(int64_t millis) {
    std::lock_guard lock(mu_);
    started_millis_ = millis;
  }
  void set_heartbeat_timeout_millis(int64_t millis) {
    std::lock_guard lock(mu_);
    timeout_millis_ = millis;
  }
  int64_t heartbeat_timeout_millis() const {
    std::lock_guard lock(mu_);
    return timeout_millis_;
  }
  // An agent silent for longer than this is lost; 0: never.
  void set_lost_after_millis(int64_t millis) {
    std::lock_guard lock(mu_);
    lost_after_millis_ = millis;
  }
  int64_t lost_after_millis() const {
    std::lock_guard lock(mu_);
    return lost_after_millis_;
  }
  // Called (on the bumping thread, with the caller's locks held: it must
  // only queue work) with the instance id after each Bump.
  void set_on_bump(std::function<void(const std::string& instance_id)> fn) {
    std::lock_guard lock(mu_);
    on_bump_ = std::move(fn);
  }

  std::string Version(std::string_view instance_id) const;
  // The set or desired state of the instance's tasks changed.
  void Bump(std::string_view instance_id);

  // A poll arrived (PollStarted) and was answered (PollEnded); both count
  // as heartbeats. Heartbeat alone is for a join.
  void PollStarted(std::string_view instance_id, int64_t now_millis);
  void PollEnded(std::string_view instance_id, int64_t now_millis);
  void Heartbeat(std::string_view instance_id, int64_t now_millis);

  // For an instance whose agent joined: is it connected at now?
  bool Connected(std::string_view instance_id, int64_t now_millis) const;

  // How long the instance's agent has been silent at now: 0 while it holds
  // a poll, else the time since its last contact (since the start when it
  // was not heard from yet; negative when contact is stamped after now).
  int64_t SilentMillis(std::string_view instance_id, int64_t now_millis) const;

  // For caching Connected answers (a cluster's Placer keeps them) without
  // asking for every agent on every use:
  // - Moves whenever an agent that was not connected is heard from.
  uint64_t reconnections() const;
  // - The earliest time at which an agent connected at now can stop being
  //   connected, if nothing more is heard from it: its last contact plus the
  //   timeout, or now plus the timeout while it holds a poll (the poll's end
  //   counts as contact).
  int64_t ConnectedAtLeastUntil(std::string_view instance_id, int64_t now_millis) const;

 private:
  struct Agent {
    uint64_t counter = 0;
    int open_polls = 0;
    int64_t last_seen_millis = 0;
  };
  Agent& At(std::string_view instance_id);  // mu_ held
  // At(instance_id), counting a reconnection if it was not connected at now.
  Agent& Heard(std::string_view instance_id, int64_t now_millis);  // mu_ held
  bool ConnectedLocked(std::string_view instance_id, int64_t now_millis) const;

  const std::string boot_id_;
  int64_t started_millis_;
  mutable std::mutex mu_;
  int64_t timeout_millis_ = kDefaultHeartbeatTimeoutMillis;
  int64_t lost_after_millis_ = kDefaultLostAfterMillis;
  std::function<void(const std::string&)> on_bump_;
  std::map<std::string, Agent, std::less<>> agents_;
  uint64_t reconnections_ = 0;
  // The latest time Connected or ConnectedAtLeastUntil was asked about: a
  // contact stamped earlier (a poll that read the clock before a plan did)
  // still counts as a reconnection when the agent was silent at that time.
  mutable int64_t latest_asked_millis_ = 0;
};

}  // namespace berth::server::api
