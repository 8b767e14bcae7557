#include "server/api/agent_tracker.h"

#include <algorithm>

namespace berth::server::api {

AgentTracker::Agent& AgentTracker::At(std::string_view instance_id) {
  auto it = agents_.find(instance_id);
  if (it == agents_.end()) {
    it = agents_.emplace(std::string(instance_id), Agent{}).first;
    it->second.last_seen_millis = started_millis_;
  }
  return it->second;
}

std::string AgentTracker::Version(std::string_view instance_id) const {
  std::lock_guard lock(mu_);
  auto it = agents_.find(instance_id);
  return boot_id_ + "-" + std::to_string(it == agents_.end() ? 0 : it->second.counter);
}

void AgentTracker::Bump(std::string_view instance_id) {
  std::function<void(const std::string&)> notify;
  {
    std::lock_guard lock(mu_);
    ++At(instance_id).counter;
    notify = on_bump_;
  }
  if (notify) notify(std::string(instance_id));
}

AgentTracker::Agent& AgentTracker::Heard(std::string_view instance_id, int64_t now_millis) {
  if (!ConnectedLocked(instance_id, std::max(now_millis, latest_asked_millis_))) ++reconnections_;
  return At(instance_id);
}

void AgentTracker::PollStarted(std::string_view instance_id, int64_t now_millis) {
  std::lock_guard lock(mu_);
  Agent& agent = Heard(instance_id, now_millis);
  ++agent.open_polls;
  agent.last_seen_millis = std::max(agent.last_seen_millis, now_millis);
}

void AgentTracker::PollEnded(std::string_view instance_id, int64_t now_millis) {
  std::lock_guard lock(mu_);
  Agent& agent = Heard(instance_id, now_millis);
  if (agent.open_polls > 0) --agent.open_polls;
  agent.last_seen_millis = std::max(agent.last_seen_millis, now_millis);
}

void AgentTracker::Heartbeat(std::string_view instance_id, int64_t now_millis) {
  std::lock_guard lock(mu_);
  Agent& agent = Heard(instance_id, now_millis);
  agent.last_seen_millis = std::max(agent.last_seen_millis, now_millis);
}

bool AgentTracker::Connected(std::string_view instance_id, int64_t now_millis) const {
  std::lock_guard lock(mu_);
  latest_asked_millis_ = std::max(latest_asked_millis_, now_millis);
  return ConnectedLocked(instance_id, now_millis);
}

bool AgentTracker::ConnectedLocked(std::string_view instance_id, int64_t now_millis) const {
  auto it = agents_.find(instance_id);
  if (it == agents_.end()) return now_millis - started_millis_ <= timeout_millis_;
  return it->second.open_polls > 0 || now_millis - it->second.last_seen_millis <= timeout_millis_;
}

int64_t AgentTracker::SilentMillis(std::string_view instance_id, int64_t now_millis) const {
  std::lock_guard lock(mu_);
  auto it = agents_.find(instance_id);
  if (it == agents_.end()) return now_millis - started_millis_;
  if (it->second.open_polls > 0) return 0;
  return now_millis - it->second.last_seen_millis;
}

uint64_t AgentTracker::reconnections() const {
  std::lock_guard lock(mu_);
  return reconnections_;
}

int64_t AgentTracker::ConnectedAtLeastUntil(std::string_view instance_id,
                                            int64_t now_millis) const {
  std::lock_guard lock(mu_);
  latest_asked_millis_ = std::max(latest_asked_millis_, now_millis);
  auto it = agents_.find(instance_id);
  if (it == agents_.end()) return started_millis_ + timeout_millis_;
  if (it->second.open_polls > 0) return now_millis + timeout_millis_;
  return it->second.last_seen_millis + timeout_millis_;
}

}  // namespace berth::server::api
