#include "server/api/task_state_rules.h"

#include <array>
#include <boost/json/array.hpp>

#include "model/json_util.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {

using model::StringOr;

namespace json = boost::json;

namespace {

// A timestamp member as epoch seconds (validation let numbers and strings
// through; a string that is not a number counts as absent).
std::optional<double> Seconds(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return v->to_number<double>();
  if (v->is_string()) {
    try {
      size_t used = 0;
      std::string text(v->get_string());
      double d = std::stod(text, &used);
      if (used == text.size()) return d;
    } catch (...) {
    }
  }
  return std::nullopt;
}

void SetIfAbsent(json::object& o, std::string_view key, json::value value) {
  if (!o.contains(key)) o[key] = std::move(value);
}

// What a container report says besides its status. restartCount (how often
// the agent restarted it in place under its restartPolicy) and healthStatus
// are berth additions to ECS's container state change (ecs_additions.json).
constexpr std::array<std::string_view, 6> kContainerFacts = {
    "exitCode", "reason", "runtimeId", "imageDigest", "healthStatus", "restartCount"};

}  // namespace

int StatusRank(std::string_view status) {
  if (status == kPending) return 1;
  if (status == kRunning) return 2;
  if (status == kStopped) return 3;
  return 0;
}

bool IsKnownTaskStatus(std::string_view status) {
  static constexpr std::array<std::string_view, 10> kKnown = {
      "",         "PROVISIONING",   "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING",
      "STOPPING", "DEPROVISIONING", "STOPPED", "DELETED"};
  for (std::string_view k : kKnown) {
    if (k == status) return true;
  }
  return false;
}

std::string_view StopCodeFor(const json::object& record, std::string_view reason) {
  const TaskRecord task(record);
  // A stop asked for (by a user or the service scheduler) keeps its code
  // and reason, however the containers end.
  if (task.stop_requested() &&
      (task.stop_code() == kUserInitiated || task.stop_code() == kServiceSchedulerInitiated)) {
    return task.stop_code();
  }
  if (reason.starts_with("CannotPullContainerError") ||
      reason.starts_with("CannotStartContainerError") || !task.has_started()) {
    return "TaskFailedToStart";
  }
  return "EssentialContainerExited";
}

void ApplyContainerReport(json::object& container, const json::object& report) {
  int current = StatusRank(StringOr(container, "lastStatus", "PENDING"));
  std::string_view status = StringOr(report, "status", "");
  int next = StatusRank(status);
  if (current == 3) {
    // Final; only facts it lacked (a task stopped before its exit code came).
    if (next != 0 && next != 3) return;
    for (std::string_view key : kContainerFacts) {
      if (auto* v = report.if_contains(key); v != nullptr && !v->is_null()) {
        SetIfAbsent(container, key, *v);
      }
    }
    return;
  }
  if (next != 0 && next < current) return;  // an older report
  if (next > current) container["lastStatus"] = status;
  for (std::string_view key : kContainerFacts) {
    if (auto* v = report.if_contains(key); v != nullptr && !v->is_null()) container[key] = *v;
  }
}

void ApplyTaskReport(json::object& task, const json::object& report, double now) {
  MutableTaskRecord record(task);
  // A task without a lastStatus has not started: PENDING.
  const int current = StatusRank(record.last_status().empty() ? kPending : record.last_status());
  if (current == 3) return;
  for (std::string_view key : {"pullStartedAt", "pullStoppedAt"}) {
    if (auto t = Seconds(report, key)) SetIfAbsent(task, key, *t);
  }
  // Health moves both ways while the task runs; a repeated RUNNING report
  // carries each change.
  if (auto* health = report.if_contains("healthStatus"); health && health->is_string()) {
    task["healthStatus"] = *health;
  }
  std::string_view status = StringOr(report, "status", "");
  if (StatusRank(status) <= current) return;
  if (status == kRunning) {
    record.SetLastStatus(kRunning);
    SetIfAbsent(task, "startedAt", now);
    task["connectivity"] = "CONNECTED";
    SetIfAbsent(task, "connectivityAt", now);
    return;
  }
  // STOPPED.
  std::string_view reason = StringOr(report, "reason", "");
  std::string_view code = StopCodeFor(task, reason);
  if (code != kUserInitiated && code != kServiceSchedulerInitiated) {
    record.SetStopCode(code);
    if (!reason.empty()) {
      record.SetStoppedReason(reason);
    } else {
      record.SetStoppedReason(code == "TaskFailedToStart" ? "Task failed to start"
                                                          : "Essential container in task exited");
    }
  }
  record.SetLastStatus(kStopped);
  record.SetDesiredStatus(kStopped);
  SetIfAbsent(task, "stoppingAt", now);
  task["executionStoppedAt"] = Seconds(report, "executionStoppedAt").value_or(now);
  record.SetStoppedAt(now);
  record.StopContainers();
}

}  // namespace berth::server::api
