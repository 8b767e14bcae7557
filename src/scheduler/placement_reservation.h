// One placement's hold on its instance: the checks and the bookkeeping of
// reserving a task's resources in a snapshot record (cpu, memory, host ports,
// device ids, its task group) and of giving them back. The one
// implementation behind ApplyPlacement (placement.h), the reference engine,
// and the Placer's Apply and Release.
//
// Pure functions over the caller's record; thread-safety is the record's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "scheduler/placement.h"

namespace berth::scheduler {

// Why `placement` no longer fits resources `r` ("not enough CPU"); empty when
// it does.
std::string Misfit(const InstanceResources& r, const PlacementRequest& request,
                   const TaskPlacement& placement);

// Why `instance` does not hold what `placement` names ("host port 80 is not
// in use"); empty when it does, so that Unreserve may give it back.
std::string NotHeld(const SnapshotInstance& instance, const PlacementRequest& request,
                    const TaskPlacement& placement);

// Whether host port p is neither in use nor reserved (ECS_RESERVED_PORTS) on r.
bool IsHostPortFree(const InstanceResources& r, const HostPort& p);

// The lowest `count` host ports of `protocol` in [first, last] that are free
// on r (IsHostPortFree), ascending; fewer when fewer are free.
std::vector<int> FreeHostPorts(const InstanceResources& r, PortProtocol protocol, int first,
                               int last, int count);

// NotFound for an instance id an engine does not have.
Status NotInSnapshot(std::string_view instance_id);

// Whether `placement` may be reserved on `instance` (null: the engine has no
// instance of that id): NotFound, FailedPrecondition naming the Misfit, or
// Ok. The check of ApplyPlacement and Placer::Apply.
Status CanReserve(const SnapshotInstance* instance, const PlacementRequest& request,
                  const TaskPlacement& placement);
// The same for giving it back (NotHeld): Placer::Release's check.
Status CanUnreserve(const SnapshotInstance* instance, const PlacementRequest& request,
                    const TaskPlacement& placement);

// Takes the placement's resources and adds one task of request.group. Expects
// Misfit to be empty.
void Reserve(SnapshotInstance& instance, const PlacementRequest& request,
             const TaskPlacement& placement);

// The inverse of Reserve: gives the resources back and removes the latest
// task of request.group. Expects NotHeld to be empty.
void Unreserve(SnapshotInstance& instance, const PlacementRequest& request,
               const TaskPlacement& placement);

}  // namespace berth::scheduler
