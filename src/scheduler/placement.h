// Placement: which container instance, which device ids and which host ports
// each task gets. Pure business logic over a snapshot of the cluster, in the
// style of the Kubernetes scheduler framework: filters (placement_filters.h)
// say "cannot place here" with an ECS failure reason, scores
// (placement_scores.h) order the survivors as the placement strategies ask,
// and device ids are chosen topology-aware (placement_devices.h).
//
// Nothing here reads a clock, the store or the network; the only randomness
// is the generator the caller passes in, so a placement is a function of
// (snapshot, request, generator state). The caller (the server) is the
// planner: it checks the result against fresh state before it commits it,
// as Nomad does with its optimistic plans.
//
// "Cannot place" is a result (PlacementFailure, with ECS's reasons); "something
// broke" is an error Status (a request that no instance could ever satisfy
// because it is malformed: an unknown strategy, a bad memberOf expression).
//
// Two ways in, with the same answers:
// - the Placer, a long-lived engine that owns its snapshot and is told what
//   changes (placements applied and released, running counts, an instance's
//   new facts, a new instance). The server keeps one per cluster for RunTask
//   (src/server/api/ecs_tasks.cc), so a decision costs no copy of the
//   cluster;
// - the free functions PlaceTasks / PlaceGang, which build a Placer over a
//   copy of the caller's snapshot for one call: for a snapshot made for the
//   call (StartTask's named instances) and for tests.
// Both run the same filter and score plugins; a third engine, the reference
// (placement_step.h), runs them the slow way as the tests' oracle.
//
// Thread-safety: the free functions are re-entrant and never keep a
// reference to their arguments after returning. A Placer is not thread-safe:
// its owner serialises calls (the server holds a mutex per cluster's Placer).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "scheduler/instance_facts.h"

namespace berth::scheduler {

// ---------------------------------------------------------------------------
// Snapshot

// Host ports by protocol, as ECS keeps the PORTS and PORTS_UDP resources.
struct HostPortSet {
  std::set<int> tcp;
  std::set<int> udp;
};

// Neuron devices of one instance (platformDevices of type NEURON_DEVICE; the
// id is the index N of /dev/neuronN).
struct NeuronDeviceSet {
  int count = 0;        // ids 0..count-1 exist
  std::set<int> taken;  // ids reserved by tasks already on the instance
  // For each device id, the ids it is directly connected to (NeuronLink), as
  // the instance registered them. Empty: the agent did not say, and adjacent
  // indexes (i-1, i+1) count as connected, which is how the devices of one
  // instance are numbered along their links on every trn1/inf2 size.
  std::map<int, std::vector<int>> links;
};

// GPUs of one instance (platformDevices of type GPU; the id is the index).
struct GpuSet {
  std::set<int> ids;
  std::set<int> taken;
};

// EFA (Elastic Fabric Adapter) devices of one instance, the collective
// network of multi-node training (berth's platformDevices of type EFA; the id
// is the index N of /dev/infiniband/uverbsN). Like GPUs, any free id serves:
// each EFA device is its own path to the fabric.
struct EfaDeviceSet {
  std::set<int> ids;
  std::set<int> taken;
};

// What an instance has, after the reservations of the tasks already on it.
struct InstanceResources {
  int64_t cpu_registered = 0;  // CPU units, 1024 per vCPU
  int64_t cpu_remaining = 0;
  int64_t memory_registered_mib = 0;
  int64_t memory_remaining_mib = 0;
  HostPortSet ports_used;      // host ports of tasks on the instance
  HostPortSet ports_reserved;  // ECS_RESERVED_PORTS(_UDP): never given to a task
  NeuronDeviceSet neuron;
  GpuSet gpus;
  EfaDeviceSet efa;
};

struct SnapshotInstance {
  InstanceFacts facts;
  InstanceResources resources;
};

// The cluster as the scheduler sees it. A plain value: PlaceTasks copies it
// into a working copy and never changes the caller's.
struct ClusterSnapshot {
  std::vector<SnapshotInstance> instances;
};

// ---------------------------------------------------------------------------
// Request

enum class PortProtocol { kTcp, kUdp };

struct HostPort {
  int port = 0;
  PortProtocol protocol = PortProtocol::kTcp;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// ECS placementConstraints[i], as given: type "distinctInstance" (no
// expression) or "memberOf" (expression in the cluster query language).
struct PlacementConstraint {
  std::string type;
  std::string expression;
};

// ECS placementStrategy[i], as given: "binpack" (field cpu | memory),
// "spread" (field instanceId | host | attribute:<name>) or "random".
struct PlacementStrategy {
  std::string type;
  std::string field;
};

// One task definition with the RunTask / service overrides applied, reduced
// to what placement needs. Every task of one call asks for the same.
struct PlacementRequest {
  // Summed over containers; memory is memoryReservation where set, else
  // memory (the soft limit is what ECS reserves).
  int64_t cpu = 0;
  int64_t memory_mib = 0;
  // Static host ports only: a hostPort of 0 (bridge mode, dynamic) is given
  // by the agent from the ephemeral range and never conflicts here.
  std::vector<HostPort> host_ports;
  // linuxParameters.devices mapping /dev/neuronN: exactly these ids, on the
  // chosen instance, for each task.
  std::set<int> exact_neuron_devices;
  // resourceRequirements: GPU count and NeuronDevice count, or "ALL" (a
  // berth extension: every Neuron device of the instance, all of them free).
  int gpu_count = 0;
  int neuron_device_count = 0;
  bool all_neuron_devices = false;
  // EFA devices the same way: linuxParameters.devices mapping
  // /dev/infiniband/uverbsN are exact ids; resourceRequirements type "EFA"
  // (berth's) a count or "ALL" (every EFA device of the instance, all free).
  std::set<int> exact_efa_devices;
  int efa_device_count = 0;
  bool all_efa_devices = false;
  std::vector<PlacementConstraint> constraints;
  // Chained in order: the second only breaks ties of the first, and so on.
  // Empty: spread(attribute:ecs.availability-zone) then spread(instanceId).
  // ECS documents spread by availability zone as the default for services
  // and none for standalone tasks; berth uses the same default for both, with
  // spread by instance after it because a training cluster usually sits in
  // one zone, where spreading by zone alone would decide nothing.
  std::vector<PlacementStrategy> strategies;
  // The task group ("family:NAME" for RunTask, "service:NAME" for a
  // service). Spread counts the tasks of this group, as ECS does, and
  // distinctInstance refuses instances that already run one of them.
  std::string group;
};

// ---------------------------------------------------------------------------
// Result

// ECS failure reasons, plus berth's own where ECS has none.
inline constexpr std::string_view kReasonAgent = "AGENT";  // disconnected, or not ACTIVE
inline constexpr std::string_view kReasonCpu = "RESOURCE:CPU";
inline constexpr std::string_view kReasonMemory = "RESOURCE:MEMORY";
inline constexpr std::string_view kReasonPorts = "RESOURCE:PORTS";
inline constexpr std::string_view kReasonGpu = "RESOURCE:GPU";
inline constexpr std::string_view kReasonNeuronDevice = "RESOURCE:NEURON_DEVICE";  // berth
inline constexpr std::string_view kReasonEfa = "RESOURCE:EFA";                     // berth
inline constexpr std::string_view kReasonAttribute = "ATTRIBUTE";  // memberOf did not match
// ECS documents no reason for an unsatisfied distinctInstance; berth names it.
inline constexpr std::string_view kReasonDistinctInstance = "DISTINCT_INSTANCE";

struct TaskPlacement {
  std::string instance_id;
  std::vector<int> neuron_device_ids;  // ascending
  std::vector<int> gpu_ids;            // ascending
  std::vector<HostPort> host_ports;    // the request's static ports
  std::vector<int> efa_device_ids;     // ascending
};

// Why one task could not be placed. The reason is that of the filter that
// eliminated the last candidates: filters run in a fixed order over all
// instances (placement_filters.h), and the first one that leaves none
// standing names the failure. That is the constraint a user must relax for
// the task to fit; an instance that was already out for an earlier reason
// would not help. The detail counts every elimination and says why the
// last ones failed ("2 instances: 1 AGENT, 1 RESOURCE:MEMORY; i-2: needs
// 512 MiB of memory, has 256").
struct PlacementFailure {
  std::string reason;
  std::string detail;
};

struct PlacementResult {
  std::vector<TaskPlacement> placements;   // in placement order
  std::vector<PlacementFailure> failures;  // one per task that did not fit
};

// Places up to `count` tasks, one after another: each placed task reserves
// its cpu, memory, ports and devices in a working copy of the snapshot (and
// joins request.group there) before the next is placed, so tasks of one call
// never double-book. Tasks that do not fit each get a failure; once one task
// fails the rest fail for the same reason (nothing changed in between).
// InvalidArgument for a malformed request (negative amounts, unknown
// constraint or strategy, a bad memberOf expression).
StatusOr<PlacementResult> PlaceTasks(const ClusterSnapshot& snapshot,
                                     const PlacementRequest& request, int count,
                                     std::mt19937_64& random);

// A gang (berth extension, for multi-node training): `size` tasks on `size`
// distinct instances, all or none. With same_attribute (an attribute name,
// e.g. "ecs.availability-zone"; an "attribute:" prefix is accepted), all
// instances share one value of it: the groups of instances with each value
// are tried in ascending order of the value and the first that holds the
// whole gang wins; instances without the attribute take no part.
struct GangPlacement {
  // ranks[r] is rank r; rank 0 is the task placed first. Empty when the
  // gang did not fit, and then failure says why (for the group that came
  // closest, the one that placed the most ranks, the lowest value on ties).
  std::vector<TaskPlacement> ranks;
  std::string attribute_value;  // the shared value, when same_attribute is set
  std::optional<PlacementFailure> failure;
};

StatusOr<GangPlacement> PlaceGang(const ClusterSnapshot& snapshot, const PlacementRequest& request,
                                  int size, const std::optional<std::string>& same_attribute,
                                  std::mt19937_64& random);

// Reserves one placement's resources on its instance in `snapshot` (cpu,
// memory, ports, device ids; appends request.group to the instance's task
// groups). What PlaceTasks does between tasks; the caller uses it to keep a
// snapshot current between calls. NotFound for an unknown instance,
// FailedPrecondition when the placement no longer fits (nothing changed).
Status ApplyPlacement(ClusterSnapshot& snapshot, const PlacementRequest& request,
                      const TaskPlacement& placement);

// ---------------------------------------------------------------------------
// The long-lived engine

// Owns a snapshot and answers placement requests against it, keeping it
// current in place: what it places stays reserved until released, so a
// caller (the server's planner, the benchmark) keeps one Placer per cluster
// and tells it what changed instead of building a snapshot per call.
//
// Its answers are the reference engine's (placement_step.h) over the same
// snapshot, task for task, with the same failure reasons and details and the
// same draws from the generator: both run the same filter and score plugins
// (placement_filters.h, placement_scores.h). What the Placer adds is state
// (placer.cc): per-instance derived state the plugins read (free device
// bitsets and connected groups, task counts per group), memberOf answers
// remembered per instance (until a task changes an instance, for expressions
// that read runningTasksCount or task:group), and instances kept in order
// per strategy (binpack / spread by instance) and per value of the spread
// attributes, so a decision walks a few instances instead of sorting all of
// them. Strategies it cannot index (random, or binpack followed by another
// strategy) fall back to one pass over the instances, no sort.
//
// Instances join in place (AddInstance) and change in place (UpdateFacts);
// one cannot leave: a deregistered or DRAINING instance, or one registered
// again with new resources, means a new Placer (the server drops its
// cluster's Placer and builds the next from its records). Not thread-safe.
class Placer {
 public:
  explicit Placer(ClusterSnapshot snapshot);
  ~Placer();
  Placer(Placer&&) noexcept;
  Placer& operator=(Placer&&) noexcept;

  // As PlaceTasks, and the placed tasks stay reserved here (Release what the
  // caller does not commit).
  StatusOr<PlacementResult> PlaceTasks(const PlacementRequest& request, int count,
                                       std::mt19937_64& random);
  // As PlaceGang; a gang that fits stays reserved, one that does not leaves
  // nothing reserved.
  StatusOr<GangPlacement> PlaceGang(const PlacementRequest& request, int size,
                                    const std::optional<std::string>& same_attribute,
                                    std::mt19937_64& random);
  // As ApplyPlacement, on the Placer's snapshot: a task placed elsewhere
  // (another server, an earlier plan) now holds these resources.
  Status Apply(const PlacementRequest& request, const TaskPlacement& placement);
  // The inverse of Apply: the task stopped, or its plan was not committed.
  // Gives back cpu, memory, ports and device ids and removes one task of
  // request.group. NotFound for an unknown instance, FailedPrecondition when
  // the instance does not hold what the placement names (nothing changed).
  Status Release(const PlacementRequest& request, const TaskPlacement& placement);
  // The instance's runningTasksCount, as memberOf expressions read it.
  Status SetRunningTasksCount(std::string_view instance_id, int count);
  // The instance (facts.id) has new facts: attributes, status, agent
  // connectivity, agent version, registration time. What its tasks make of
  // them (running_tasks_count, task_groups) stays as the Placer has it. Costs
  // O(indexes kept), not a rebuild. NotFound for an unknown instance.
  Status UpdateFacts(const InstanceFacts& facts);
  // A new instance (a registration): placed in id order among the others,
  // in every index it belongs to. Costs O(instances) for the ranks after it,
  // not a rebuild. AlreadyExists for an id the Placer has.
  Status AddInstance(SnapshotInstance instance);

  // The snapshot as it now is: the one given, plus what was applied, minus
  // what was released.
  const ClusterSnapshot& snapshot() const;
  // The instance with that id as it now is, or nullptr: a lookup, not a scan.
  const SnapshotInstance* Find(std::string_view instance_id) const;

  class State;  // placer.cc

 private:
  std::unique_ptr<State> state_;
};

}  // namespace berth::scheduler
