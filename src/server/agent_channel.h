// The server's side of the channel to node agents (src/agent/README.md,
// "The channel between server and agent"):
//
//   POST /berth/v1/agent/credentials   join: a user key gets the instance credential
//   GET  /berth/v1/agent/tasks         long poll for the instance's assignments
//
// A poll whose version is current is held without holding an I/O thread:
// its Responder waits in a list that one thread of this class answers from,
// when the instance's version is bumped (AgentTracker's on_bump) or when
// the poll's time is up. Every answer waits until what it shows is durable.
//
// Thread-safe. Stop() (or destruction) answers the held polls and ends the
// thread; call it before the HTTP server stops, so that no request is left
// waiting for its grace period.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "awsjson/commit_tracker.h"
#include "common/clock.h"
#include "http/message.h"
#include "http/sigv4.h"
#include "server/api/ecs_api.h"

namespace berth::server {

class AgentChannel {
 public:
  static constexpr int kMaxWaitSeconds = 25;
  static constexpr int kDefaultWaitSeconds = 20;

  // agent_key: the durable key agent secrets derive from (agent_credentials.h).
  AgentChannel(api::EcsApi& ecs, awsjson::CommitTracker& tracker, http::SecretLookup secrets,
               const Clock& clock, std::string agent_key);
  ~AgentChannel();
  AgentChannel(const AgentChannel&) = delete;
  AgentChannel& operator=(const AgentChannel&) = delete;

  // True for requests under /berth/v1/agent/.
  static bool Accepts(const http::Request& request);
  void Handle(http::Request&& request, http::Responder respond);

  void Stop();

  // Polls open now (held or being answered), for /metrics.
  int64_t OpenPolls();

 private:
  struct HeldPoll {
    std::string instance_id;
    std::string version;  // what the agent has
    std::chrono::steady_clock::time_point deadline;
    http::Responder respond;
  };

  void Join(const http::Request& request, http::Responder respond);
  void Poll(const http::Request& request, http::Responder respond);
  // Answers a poll with the instance's assignments (or an error when the
  // instance went away) once they are durable. False if it still waits: the
  // version is `version` and time is left.
  bool MaybeAnswer(HeldPoll& poll, bool time_is_up);
  void Run();

  api::EcsApi& ecs_;
  awsjson::CommitTracker& tracker_;
  http::SecretLookup secrets_;
  const Clock& clock_;
  const std::string agent_key_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HeldPoll> held_;
  std::set<std::string> woken_;  // instances bumped since the thread last looked
  // instance id -> its polls that are held or being answered: a bump of an
  // instance without one (most RunTasks, where no agent waits) wakes nothing.
  std::map<std::string, int, std::less<>> waiting_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace berth::server
