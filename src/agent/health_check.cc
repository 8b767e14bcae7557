#include "agent/health_check.h"

#include <boost/json/array.hpp>

namespace berth::agent {

namespace json = boost::json;

namespace {

int64_t SecondsField(const json::object& o, std::string_view key, int64_t fallback) {
  auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : fallback;
}

}  // namespace

std::string_view HealthName(Health health) {
  switch (health) {
    case Health::kHealthy:
      return "HEALTHY";
    case Health::kUnhealthy:
      return "UNHEALTHY";
    case Health::kUnknown:
      break;
  }
  return "UNKNOWN";
}

std::optional<HealthCheckSpec> ParseHealthCheck(const json::object& container_definition) {
  auto* v = container_definition.if_contains("healthCheck");
  if (v == nullptr || !v->is_object()) return std::nullopt;
  const json::object& check = v->as_object();
  auto* c = check.if_contains("command");
  if (c == nullptr || !c->is_array()) return std::nullopt;
  std::vector<std::string> words;
  for (const auto& w : c->as_array()) {
    if (!w.is_string()) return std::nullopt;
    words.emplace_back(w.as_string());
  }
  if (words.size() < 2) return std::nullopt;
  HealthCheckSpec spec;
  if (words[0] == "CMD") {
    spec.command.assign(words.begin() + 1, words.end());
  } else if (words[0] == "CMD-SHELL") {
    // Docker joins the rest into one shell command line.
    std::string line;
    for (size_t i = 1; i < words.size(); ++i) line += (i > 1 ? " " : "") + words[i];
    spec.command = {"/bin/sh", "-c", line};
  } else {
    return std::nullopt;
  }
  spec.interval_millis = SecondsField(check, "interval", 30) * 1000;
  spec.timeout_millis = SecondsField(check, "timeout", 5) * 1000;
  spec.retries = static_cast<int>(SecondsField(check, "retries", 3));
  spec.start_period_millis = SecondsField(check, "startPeriod", 0) * 1000;
  return spec;
}

HealthTracker::HealthTracker(HealthCheckSpec spec, int64_t started_at_millis)
    : spec_(std::move(spec)),
      started_at_(started_at_millis),
      next_check_at_(started_at_millis + spec_.interval_millis) {}

void HealthTracker::Record(bool passed, int64_t now_millis) {
  next_check_at_ = now_millis + spec_.interval_millis;
  if (passed) {
    passed_once_ = true;
    failures_ = 0;
    health_ = Health::kHealthy;
    return;
  }
  // The start period gives a slow container time to come up; it ends early
  // at its first success.
  if (!passed_once_ && now_millis < started_at_ + spec_.start_period_millis) return;
  if (++failures_ >= spec_.retries) health_ = Health::kUnhealthy;
}

Health TaskHealth(const std::vector<ContainerHealth>& containers) {
  bool any = false, all_healthy = true;
  for (const ContainerHealth& c : containers) {
    if (!c.essential || !c.health) continue;
    any = true;
    if (*c.health == Health::kUnhealthy) return Health::kUnhealthy;
    if (*c.health != Health::kHealthy) all_healthy = false;
  }
  return any && all_healthy ? Health::kHealthy : Health::kUnknown;
}

}  // namespace berth::agent
