#include "server/events_endpoint.h"

#include <boost/json/serialize.hpp>
#include <cmath>

#include "awsjson/endpoint.h"
#include "http/query_string.h"
#include "server/user_request.h"

namespace berth::server {

namespace json = boost::json;

EventsEndpoint::EventsEndpoint(api::EcsApi& ecs, awsjson::CommitTracker& tracker,
                               http::SecretLookup secrets, const Clock& clock)
    : ecs_(ecs), tracker_(tracker), secrets_(std::move(secrets)), clock_(clock) {
  // Runs under the ECS lock: Wake only notes it. Every read waits under one key.
  ecs_.events().set_on_append([this] { held_.Wake(""); });
}

EventsEndpoint::~EventsEndpoint() { Stop(); }

void EventsEndpoint::Stop() {
  held_.Stop();
  ecs_.events().set_on_append(nullptr);
}

bool EventsEndpoint::Accepts(const http::Request& request) {
  return request.Path() == "/berth/v1/events";
}

void EventsEndpoint::Handle(http::Request&& request, http::Responder respond) {
  UserGet user("events", respond);
  if (!user.Check(request, secrets_, clock_.NowSeconds(), "read events")) return;
  auto query = http::ParseQueryString(request.Query());
  for (const auto& [name, value] : query) {
    if (name != "cluster" && name != "after" && name != "since" && name != "waitSeconds") {
      return user.Refuse(
          "InvalidParameterException",
          "unknown parameter '" + name + "'; use cluster, after, since, waitSeconds");
    }
  }
  HeldRead read;
  if (auto it = query.find("cluster"); it != query.end()) {
    if (it->second.empty()) return user.Refuse("InvalidParameterException", "cluster is empty");
    read.cluster = it->second;
    // A cluster named by ARN: its events carry the name.
    if (auto slash = read.cluster.rfind('/');
        read.cluster.starts_with("arn:") && slash != std::string::npos) {
      read.cluster = read.cluster.substr(slash + 1);
    }
  }
  if (auto it = query.find("after"); it != query.end()) {
    auto after = http::ParseQueryCount(it->second);
    if (!after) {
      return user.Refuse(
          "InvalidParameterException",
          "after must be an event id (a non-negative whole number), got '" + it->second + "'");
    }
    read.after = *after;
  } else if (auto since = query.find("since"); since != query.end()) {
    char* end = nullptr;
    double seconds = std::strtod(since->second.c_str(), &end);
    if (since->second.empty() || end == nullptr || *end != '\0' || !std::isfinite(seconds) ||
        seconds < 0) {
      return user.Refuse("InvalidParameterException",
                         "since must be a time in epoch seconds, got '" + since->second + "'");
    }
    uint64_t at = ecs_.events().LastIdAtOrBefore(static_cast<int64_t>(seconds * 1000.0));
    // LastIdAtOrBefore is the last event at or before since: start after it.
    read.after = at;
  } else {
    read.after = ecs_.events().LastId();
  }
  int wait = 0;
  if (auto it = query.find("waitSeconds"); it != query.end()) {
    auto seconds = http::ParseQueryCount(it->second);
    if (!seconds) {
      return user.Refuse(
          "InvalidParameterException",
          "waitSeconds must be a non-negative whole number, got '" + it->second + "'");
    }
    wait = static_cast<int>(std::min<uint64_t>(*seconds, kMaxWaitSeconds));
  }
  read.respond = std::move(respond);
  held_.Hold("", std::chrono::seconds(wait),
             [this, read = std::move(read)](bool time_is_up) mutable {
               return MaybeAnswer(read, time_is_up);
             });
}

bool EventsEndpoint::MaybeAnswer(HeldRead& read, bool time_is_up) {
  api::EventLog::Page page = ecs_.events().After(read.after, read.cluster, kMaxEventsPerReply);
  // Events of other clusters move nextAfter on without answering a
  // cluster's reader: it keeps waiting from there.
  read.after = page.next_after;
  if (page.events.empty() && !page.truncated && !time_is_up) return false;
  json::array events;
  for (const api::Event& e : page.events) events.push_back(e.ToJson());
  json::object body{{"events", std::move(events)},
                    {"nextAfter", std::to_string(page.next_after)},
                    {"truncated", page.truncated}};
  tracker_.WhenDurable(tracker_.LastAssigned(),
                       [respond = std::move(read.respond), text = json::serialize(body)]() mutable {
                         http::Response response;
                         response.SetHeader("content-type", "application/json");
                         response.body = std::move(text);
                         respond(std::move(response));
                       });
  return true;
}

}  // namespace berth::server
