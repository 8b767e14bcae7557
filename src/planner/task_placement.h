// The bridge between ECS records (JSON, as the API stores them) and the
// scheduler's plain values: what a task definition with overrides asks for,
// what a task record reserves, and what a container instance has left. Pure
// functions, no locks.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "scheduler/placement.h"

namespace berth::planner {

// Key of the reservation a task record carries (cpu, memory, ports, device
// ids); removed from every view a client sees.
inline constexpr std::string_view kReservationKey = "berthReservation";

// The containerOverrides entry of RunTask `overrides` for the container
// named `name` (the first, if several), or nullptr.
const boost::json::object* FindOverride(const boost::json::object& overrides,
                                        std::string_view name);

// The resourceRequirements that hold for a container: its override's when
// the override has them, else the definition's.
const boost::json::array& ResourceRequirementsOf(const boost::json::object& container,
                                                 const boost::json::object* override_);

// The number N of a "/dev/neuronN" host path (0 to 4095), or nullopt: the
// device a container's linuxParameters.devices entry reserves.
std::optional<int> NeuronIndex(std::string_view path);

// The number N of a "/dev/infiniband/uverbsN" host path (0 to 4095), or
// nullopt: the EFA device a linuxParameters.devices entry reserves.
std::optional<int> EfaIndex(std::string_view path);

// The placement request for one task of `task_definition` with RunTask
// `overrides` applied (both already shape-validated). InvalidArgument for
// an override naming an unknown container, a size below ECS's minimums or a
// resource requirement that is not a count.
StatusOr<scheduler::PlacementRequest> BuildPlacementRequest(
    const boost::json::object& task_definition, const boost::json::object& overrides);

// One instance as the scheduler sees it: registered resources less the
// reservations of `tasks` (the records of the tasks on it that are not
// STOPPED), the NeuronLink topology from platformDevices[].connectedTo, and
// the EFA devices (platformDevices of type EFA).
// agent_connected is computed by the caller (it depends on heartbeats kept
// outside the record).
scheduler::SnapshotInstance InstanceSnapshot(const boost::json::object& instance,
                                             const std::vector<const boost::json::object*>& tasks,
                                             bool agent_connected);

// The reservation a task record keeps for `placement`.
boost::json::object ReservationRecord(const scheduler::PlacementRequest& request,
                                      const scheduler::TaskPlacement& placement);

// What a task record reserves, as the scheduler applied it (the inverse of
// ReservationRecord): request carries cpu, memory and group, placement the
// instance id, host ports and device ids. For Placer::Release.
void ReservationOf(const boost::json::object& task, scheduler::PlacementRequest& request,
                   scheduler::TaskPlacement& placement);

// What the tasks on one instance that are not STOPPED hold of the resources
// ECS reports as remaining. Kept in step task by task (Add when a task is
// placed, Remove when it stops), so that a change costs the same whether the
// instance runs one task or five hundred.
struct InstanceUsage {
  int64_t cpu = 0;
  int64_t memory_mib = 0;
  std::multiset<int> tcp, udp;  // host ports held; Remove gives back one holder

  void Add(const scheduler::PlacementRequest& request, const scheduler::TaskPlacement& placement);
  void Remove(const scheduler::PlacementRequest& request,
              const scheduler::TaskPlacement& placement);
};

// registeredResources less usage, in the ECS Resource shape.
boost::json::array RemainingResources(const boost::json::object& instance,
                                      const InstanceUsage& usage);

}  // namespace berth::planner
