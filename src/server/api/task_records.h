// Turns a plan into ECS Task records: ARNs and ids, containers with the
// device ids the planner dealt them, tags (propagated, the request's, the
// gang rank), the gang and its rendezvous environment (in the overrides, for
// the names the definition and the request leave unset), the reservation the
// scheduler made. Pure: the caller commits the records.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "planner/planner.h"

namespace berth::server::api {

// What every task record of one RunTask / StartTask shares. Not owned.
struct TaskRecordInput {
  const ArnScope& scope;
  std::string cluster_name;
  std::string cluster_arn;
  const boost::json::object& task_definition_record;  // {"taskDefinition": ..., "tags": ...}
  const boost::json::object& run_task;                // the request's members
  const planner::TaskRequest& request;
  int64_t now_millis = 0;
  std::string client_token;  // with the request it came with, for idempotent retries
  std::string request_text;
  // The ids the tasks were given when they were queued, by rank; empty: new
  // ones.
  std::vector<std::string> task_ids;
};

// The record of the task planned at `rank` of plan, on `instance` (its
// ContainerInstance record): its task id (input.task_ids[rank], else a new
// one) and the record.
std::pair<std::string, boost::json::object> NewTaskRecord(const TaskRecordInput& input,
                                                          const planner::Plan& plan, size_t rank,
                                                          const boost::json::object& instance);

// The record of a queued task (berth:queue) at `rank`: PROVISIONING, on no
// instance, holding nothing; NewTaskRecord with the same id replaces it
// once it is placed.
std::pair<std::string, boost::json::object> NewQueuedTaskRecord(const TaskRecordInput& input,
                                                                size_t rank);

}  // namespace berth::server::api
