// `berth events [-f] [--cluster C] [--since DURATION|TIME]`: the event
// stream (GET /berth/v1/events, signed like the AWS APIs), one line per
// event: time, kind, the resources' short names, message. -f follows with
// long polls, resuming from the last event id seen, across reconnects.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include "cli/client_credentials.h"
#include "cli/verbs.h"
#include "common/clock.h"
#include "http/query_string.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

constexpr int kFollowWaitSeconds = 25;

struct EventsOptions {
  ServerClientOptions server;
  std::string cluster;  // empty: every cluster
  std::string since;    // empty: every kept event
  bool follow = false;
  bool json = false;
};

// "task/ID", "container-instance/ID", "service/NAME" from an ARN; else as is.
std::string ShortName(std::string_view arn) {
  if (!arn.starts_with("arn:")) return std::string(arn);
  size_t colon = 0;
  for (int i = 0; i < 5 && colon != std::string_view::npos; ++i) colon = arn.find(':', colon + 1);
  if (colon == std::string_view::npos) return std::string(arn);
  std::string_view resource = arn.substr(colon + 1);
  size_t first = resource.find('/'), last = resource.rfind('/');
  if (first == std::string_view::npos) return std::string(resource);
  return std::string(resource.substr(0, first)) + "/" + std::string(resource.substr(last + 1));
}

std::string FormatTime(double epoch_seconds) {
  return FormatRfc3339(static_cast<int64_t>(epoch_seconds) * 1000);
}

std::string FormatEvent(const json::object& e) {
  auto str = [&](std::string_view key) -> std::string {
    const json::value* v = e.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
  };
  const json::value* time = e.if_contains("time");
  std::string line =
      FormatTime(time != nullptr && time->is_number() ? time->to_number<double>() : 0.0);
  line += "  " + str("kind");
  std::string resources;
  if (const json::value* r = e.if_contains("resources"); r != nullptr && r->is_array()) {
    for (const json::value& arn : r->get_array()) {
      if (!arn.is_string()) continue;
      resources += (resources.empty() ? "" : ",") + ShortName(arn.get_string());
    }
  }
  if (!resources.empty()) line += "  " + resources;
  return line + "  " + str("message") + "\n";
}

// --since: a duration back from now ("90s", "10m", "2h", "1d") or a time
// (epoch seconds, or "YYYY-MM-DDTHH:MM:SSZ"); epoch seconds.
StatusOr<double> ParseSince(const std::string& text) {
  char* end = nullptr;
  double n = std::strtod(text.c_str(), &end);
  if (!text.empty() && end != text.c_str() && n >= 0) {
    std::string unit(end);
    double scale = unit == "s"   ? 1
                   : unit == "m" ? 60
                   : unit == "h" ? 3600
                   : unit == "d" ? 86400
                                 : 0;
    if (scale > 0) return static_cast<double>(std::time(nullptr)) - n * scale;
    if (unit.empty()) return n;
  }
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest != nullptr && (*rest == '\0' || std::string_view(rest) == "Z")) {
    return static_cast<double>(timegm(&tm));
  }
  return InvalidArgument(
      "--since must be a duration (90s, 10m, 2h, 1d), epoch seconds or "
      "YYYY-MM-DDTHH:MM:SSZ, got '" +
      text + "'");
}

Status RunEvents(const EventsOptions& options) {
  std::string start = "&after=0";
  if (!options.since.empty()) {
    auto since = ParseSince(options.since);
    if (!since.ok()) return since.status();
    start = "&since=" + std::to_string(*since);
  }
  auto client = ConnectToServer(options.server, kFollowWaitSeconds + 30);
  if (!client.ok()) return client.status();
  std::string after;  // the last event id seen: where a reconnect resumes
  bool caught_up = false;
  while (true) {
    std::string target = "/berth/v1/events?waitSeconds=" +
                         std::to_string(caught_up && options.follow ? kFollowWaitSeconds : 0) +
                         (after.empty() ? start : "&after=" + after);
    if (!options.cluster.empty()) target += "&cluster=" + http::EncodeQueryValue(options.cluster);
    auto reply = (*client)->Send("GET", target);
    if (!reply.ok() || reply->status >= 500) {
      if (!options.follow) return reply.ok() ? awsjson::ErrorFromReply(*reply) : reply.status();
      // Following: the server may be restarting; resume from `after`.
      std::fprintf(stderr, "berth events: %s; reconnecting\n",
                   reply.ok() ? ("HTTP " + std::to_string(reply->status)).c_str()
                              : reply.status().message().c_str());
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    if (reply->status != 200) return awsjson::ErrorFromReply(*reply);
    boost::system::error_code ec;
    json::value body = json::parse(reply->body, ec);
    if (ec || !body.is_object()) return Internal("the server's reply is not a JSON object");
    const json::object& page = body.as_object();
    if (const json::value* t = page.if_contains("truncated");
        t != nullptr && t->is_bool() && t->get_bool() && !after.empty()) {
      std::fprintf(stderr, "berth events: events after %s were dropped by retention\n",
                   after.c_str());
    }
    size_t count = 0;
    if (const json::value* events = page.if_contains("events");
        events != nullptr && events->is_array()) {
      for (const json::value& e : events->get_array()) {
        if (!e.is_object()) continue;
        std::string text = options.json ? json::serialize(e) + "\n" : FormatEvent(e.get_object());
        std::fwrite(text.data(), 1, text.size(), stdout);
        ++count;
      }
    }
    std::fflush(stdout);
    if (const json::value* next = page.if_contains("nextAfter");
        next != nullptr && next->is_string()) {
      after = std::string(next->get_string());
    }
    if (count == 0) {
      if (!options.follow) return Status::Ok();
      caught_up = true;
    }
  }
}

}  // namespace

Verb AddEventsCommand(CLI::App& parent) {
  auto options = std::make_shared<EventsOptions>();
  auto* cmd = parent.add_subcommand(
      "events",
      "print the event stream: tasks placed, running, stopped; instances joined, lost, "
      "draining; service events; gang attempts");
  cmd->add_flag("-f,--follow", options->follow,
                "keep printing new events (resumes from the last one across reconnects)");
  cmd->add_option("--cluster", options->cluster, "only this cluster's events (default: all)");
  cmd->add_option("--since", options->since,
                  "start at a time: a duration back (90s, 10m, 2h, 1d), epoch seconds or "
                  "YYYY-MM-DDTHH:MM:SSZ (default: every kept event)");
  cmd->add_flag("--json", options->json, "print each event as the server's JSON");
  AddServerClientOptions(*cmd, options->server);
  return {"events", cmd, [options] { return ExitStatusOf(RunEvents(*options)); }};
}

}  // namespace berth::cli
