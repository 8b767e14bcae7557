// The server's side of the channel to node agents (src/agent/README.md,
// "The channel between server and agent"):
//
//   POST /berth/v1/agent/credentials   join: a user key gets the instance credential
//   GET  /berth/v1/agent/tasks         long poll for the instance's assignments
//                                      (with the credentials of the tasks' roles)
//
// With delta=1 a poll whose version is the one its instance was last
// answered with gets only the tasks that changed since in full, and the
// others' ARNs in "unchangedTaskArns": an instance with k tasks is not sent
// k lists of k tasks as they start. Any other poll gets every task.
//
// A poll whose version is current is held without holding an I/O thread
// (held_requests.h), until the instance's version is bumped (AgentTracker's
// on_bump) or the poll's time is up. Every answer waits until what it shows is durable.
//
// Thread-safe. Stop() (or destruction) answers the held polls and ends the
// thread; call it before the HTTP server stops, so that no request is left
// waiting for its grace period.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

#include "awsjson/commit_tracker.h"
#include "common/clock.h"
#include "http/message.h"
#include "http/sigv4.h"
#include "server/api/ecs_api.h"
#include "server/api/task_roles.h"
#include "server/held_requests.h"

namespace berth::server {

class AgentChannel {
 public:
  static constexpr int kMaxWaitSeconds = 25;
  static constexpr int kDefaultWaitSeconds = 20;

  // agent_key: the durable key agent secrets derive from (agent_credentials.h);
  // roles: what the tasks' taskRoleArn and executionRoleArn are given.
  AgentChannel(api::EcsApi& ecs, awsjson::CommitTracker& tracker, http::SecretLookup secrets,
               const Clock& clock, std::string agent_key, const api::TaskRoles& roles);
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
    bool delta = false;   // it takes unchanged tasks by ARN (delta=1)
    http::Responder respond;
  };
  // The last answer to an instance's poll: its version and what each task
  // looked like in it. A delta poll with that version lists only the tasks
  // that changed since.
  struct Sent {
    std::string version;
    api::EcsApi::AgentTaskMarks marks;
  };

  void Join(const http::Request& request, http::Responder respond);
  void Poll(const http::Request& request, http::Responder respond);
  // Answers a poll with the instance's assignments (or an error when the
  // instance went away) once they are durable. False if it still waits: the
  // version is `version` and time is left.
  bool MaybeAnswer(HeldPoll& poll, bool time_is_up);
  // Every task on the instance that names roles (listed or named unchanged)
  // gets their credentials, fresh at every answer, in the answer's
  // "credentials": {TASK_ARN: {"roleCredentials" (taskRoleArn),
  // "executionRoleCredentials" (executionRoleArn)}}, ECS's credentials
  // documents (api/task_roles.h).
  void AddRoleCredentials(api::EcsApi::AgentAnswer& answer) const;

  api::EcsApi& ecs_;
  awsjson::CommitTracker& tracker_;
  http::SecretLookup secrets_;
  const Clock& clock_;
  const std::string agent_key_;
  const api::TaskRoles& roles_;

  std::mutex sent_mu_;
  std::unordered_map<std::string, Sent> sent_;  // by instance id; guarded by sent_mu_

  HeldRequests held_;  // polls, by instance id; woken by the instance's version bumps
};

}  // namespace berth::server
