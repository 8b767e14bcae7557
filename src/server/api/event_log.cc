#include "server/api/event_log.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cinttypes>
#include <cstdio>

#include "model/json_util.h"

namespace berth::server::api {

namespace json = boost::json;

json::object Event::ToJson() const {
  json::array arns;
  for (const std::string& r : resources) arns.emplace_back(r);
  return json::object{{"id", std::to_string(id)},
                      {"time", static_cast<double>(time_millis) / 1000.0},
                      {"kind", kind},
                      {"cluster", cluster},
                      {"resources", std::move(arns)},
                      {"message", message}};
}

StatusOr<Event> Event::FromJson(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Internal("event is not a JSON object");
  const json::object& o = v.as_object();
  Event e;
  std::string id(model::StringOr(o, "id", ""));
  if (id.empty() || std::sscanf(id.c_str(), "%" SCNu64, &e.id) != 1 || e.id == 0) {
    return Internal("event has no id");
  }
  if (const json::value* t = o.if_contains("time"); t != nullptr && t->is_number()) {
    e.time_millis = static_cast<int64_t>(t->to_number<double>() * 1000.0 + 0.5);
  }
  e.kind = model::StringOr(o, "kind", "");
  e.cluster = model::StringOr(o, "cluster", "");
  e.message = model::StringOr(o, "message", "");
  if (const json::value* r = o.if_contains("resources"); r != nullptr && r->is_array()) {
    for (const json::value& arn : r->get_array()) {
      if (arn.is_string()) e.resources.emplace_back(arn.get_string());
    }
  }
  return e;
}

std::string EventLog::Key(uint64_t id) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020" PRIu64, id);
  return std::string(kPrefix) + digits;
}

void EventLog::SetRetention(int64_t retention_millis, size_t max_events) {
  std::lock_guard lock(mu_);
  retention_millis_ = retention_millis;
  max_events_ = std::max<size_t>(1, max_events);
}

Status EventLog::Load(store::Store& store) {
  std::deque<Event> kept;
  Status bad = Status::Ok();
  uint64_t swept = 0;
  BERTH_RETURN_IF_ERROR(store.Scan(kPrefix, [&](std::string_view key, std::string_view value) {
    auto event = Event::FromJson(value);
    if (!event.ok()) {
      bad = Internal("record " + std::string(key) + ": " + event.status().message());
      return;
    }
    kept.push_back(std::move(*event));
  }));
  BERTH_RETURN_IF_ERROR(bad);
  BERTH_RETURN_IF_ERROR(
      store.Scan(kSweptThroughKey, [&](std::string_view key, std::string_view value) {
        if (key != kSweptThroughKey) return;
        std::string text(value);
        if (std::sscanf(text.c_str(), "%" SCNu64, &swept) != 1) swept = 0;
      }));
  std::sort(kept.begin(), kept.end(), [](const Event& a, const Event& b) { return a.id < b.id; });
  std::lock_guard lock(mu_);
  kept_ = std::move(kept);
  swept_through_ = swept;
  last_id_ = std::max(swept, kept_.empty() ? 0 : kept_.back().id);
  return Status::Ok();
}

void EventLog::Emit(int64_t time_millis, std::string kind, std::string cluster,
                    std::vector<std::string> resources, std::string message) {
  pending_.push_back(Event{0, time_millis, std::move(kind), std::move(cluster),
                           std::move(resources), std::move(message)});
}

void EventLog::TakePending(store::Batch& batch) {
  if (pending_.empty()) return;
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    for (Event& event : pending_) {
      event.id = ++last_id_;
      batch.push_back(store::Mutation::Put(Key(event.id), json::serialize(event.ToJson())));
      kept_.push_back(std::move(event));
    }
    DropBeyondCapLocked(batch);
    notify = on_append_;
  }
  pending_.clear();
  if (notify) notify();
}

void EventLog::Append(int64_t time_millis, std::string kind, std::string cluster,
                      std::vector<std::string> resources, std::string message,
                      store::Batch& batch) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    Event event{++last_id_,         time_millis,          std::move(kind),
                std::move(cluster), std::move(resources), std::move(message)};
    batch.push_back(store::Mutation::Put(Key(event.id), json::serialize(event.ToJson())));
    kept_.push_back(std::move(event));
    DropBeyondCapLocked(batch);
    notify = on_append_;
  }
  if (notify) notify();
}

size_t EventLog::Sweep(int64_t now_millis, store::Batch& batch) {
  std::lock_guard lock(mu_);
  size_t dropped = 0;
  while (!kept_.empty() && kept_.front().time_millis < now_millis - retention_millis_) {
    batch.push_back(store::Mutation::Delete(Key(kept_.front().id)));
    swept_through_ = kept_.front().id;
    kept_.pop_front();
    ++dropped;
  }
  if (dropped > 0) {
    batch.push_back(
        store::Mutation::Put(std::string(kSweptThroughKey), std::to_string(swept_through_)));
  }
  return dropped + DropBeyondCapLocked(batch);
}

size_t EventLog::DropBeyondCapLocked(store::Batch& batch) {
  if (kept_.size() <= max_events_) return 0;
  size_t dropped = kept_.size() - max_events_;
  for (size_t i = 0; i < dropped; ++i) {
    batch.push_back(store::Mutation::Delete(Key(kept_.front().id)));
    swept_through_ = kept_.front().id;
    kept_.pop_front();
  }
  batch.push_back(
      store::Mutation::Put(std::string(kSweptThroughKey), std::to_string(swept_through_)));
  return dropped;
}

EventLog::Page EventLog::After(uint64_t after, std::string_view cluster, size_t limit) const {
  std::lock_guard lock(mu_);
  Page page;
  page.truncated = after < swept_through_;
  page.next_after = std::max(after, page.truncated ? swept_through_ : after);
  auto it = std::upper_bound(kept_.begin(), kept_.end(), after,
                             [](uint64_t id, const Event& e) { return id < e.id; });
  for (; it != kept_.end() && page.events.size() < limit; ++it) {
    page.next_after = it->id;
    if (cluster.empty() || it->cluster == cluster) page.events.push_back(*it);
  }
  return page;
}

uint64_t EventLog::LastId() const {
  std::lock_guard lock(mu_);
  return last_id_;
}

uint64_t EventLog::LastIdAtOrBefore(int64_t time_millis) const {
  std::lock_guard lock(mu_);
  // Times follow ids closely but not strictly (a change is stamped with the
  // time its caller passed in): scan from the newest.
  for (auto it = kept_.rbegin(); it != kept_.rend(); ++it) {
    if (it->time_millis <= time_millis) return it->id;
  }
  return swept_through_;
}

}  // namespace berth::server::api
