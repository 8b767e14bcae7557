// GET /berth/v1/events?cluster=C&after=ID&since=EPOCH_SECONDS&waitSeconds=N:
// the event stream (api/event_log.h), signed by a user like the AWS APIs.
//
// Answers {"events": [...], "nextAfter": "ID", "truncated": bool} at once
// when there are events after ID (of cluster C when given), else holds the
// request up to waitSeconds (at most 25; 0 by default) and answers when one
// is appended or time is up. A client resumes by passing the nextAfter it
// was given; "truncated" says events after its id were swept by retention
// (it gets the oldest kept ones). Without after, since= starts at a time;
// with neither, the stream starts at its end (only new events).
//
// Held requests wait without holding an I/O thread (held_requests.h). Every answer waits
// until what it shows is durable. Server-sent events are not offered: the
// HTTP server cannot stream a response body, and browsers' EventSource
// cannot sign requests; the long poll is the stream.
//
// Thread-safe. Stop() (or destruction) answers the held requests and ends
// the thread; call it before the HTTP server stops.
#pragma once

#include <string>

#include "awsjson/commit_tracker.h"
#include "common/clock.h"
#include "http/message.h"
#include "http/sigv4.h"
#include "server/api/ecs_api.h"
#include "server/held_requests.h"

namespace berth::server {

class EventsEndpoint {
 public:
  static constexpr int kMaxWaitSeconds = 25;
  static constexpr size_t kMaxEventsPerReply = 1000;

  EventsEndpoint(api::EcsApi& ecs, awsjson::CommitTracker& tracker, http::SecretLookup secrets,
                 const Clock& clock);
  ~EventsEndpoint();
  EventsEndpoint(const EventsEndpoint&) = delete;
  EventsEndpoint& operator=(const EventsEndpoint&) = delete;

  // True for requests to /berth/v1/events.
  static bool Accepts(const http::Request& request);
  void Handle(http::Request&& request, http::Responder respond);

  void Stop();

 private:
  struct HeldRead {
    std::string cluster;
    uint64_t after = 0;
    http::Responder respond;
  };
  // Answers when there are events after read.after (or time is up). False
  // if it still waits.
  bool MaybeAnswer(HeldRead& read, bool time_is_up);

  api::EcsApi& ecs_;
  awsjson::CommitTracker& tracker_;
  http::SecretLookup secrets_;
  const Clock& clock_;
  HeldRequests held_;  // reads waiting for an event; woken by every append
};

}  // namespace berth::server
