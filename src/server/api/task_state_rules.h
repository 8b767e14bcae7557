// How a state change that a node agent reports moves a task and its
// containers. Pure functions over the stored JSON records, no locks, so the
// rules are tested on their own.
//
// Status only moves forward, PENDING -> RUNNING -> STOPPED. A repeated or
// older report changes nothing, and a STOPPED task is final: nothing an
// agent reports later brings it back (a stopped container may still learn
// facts it lacked, such as its exit code).
#pragma once

#include <boost/json/object.hpp>
#include <string_view>

namespace berth::server::api {

// PENDING 1, RUNNING 2, STOPPED 3; 0 for the statuses berth does not track
// (PROVISIONING, ACTIVATING, DEACTIVATING, STOPPING, ...) and for "".
int StatusRank(std::string_view status);

// True for every task status ECS defines (and ""); what else a report says
// is refused.
bool IsKnownTaskStatus(std::string_view status);

// The stop code of a task that stops now with reason, given its record
// before the change: UserInitiated or ServiceSchedulerInitiated when StopTask
// or the service scheduler asked for it,
// TaskFailedToStart when a container could not be pulled or started or the
// task never ran, else EssentialContainerExited.
std::string_view StopCodeFor(const boost::json::object& task, std::string_view reason);

// Applies one container's report ({status, exitCode, reason, runtimeId,
// imageDigest}, the ContainerStateChange shape) to the container record.
void ApplyContainerReport(boost::json::object& container, const boost::json::object& report);

// Applies the task-level part of a SubmitTaskStateChange (status, reason,
// pullStartedAt, pullStoppedAt, executionStoppedAt; timestamps in epoch
// seconds) at now (epoch seconds). Containers are applied separately, first.
void ApplyTaskReport(boost::json::object& task, const boost::json::object& report, double now);

}  // namespace berth::server::api
