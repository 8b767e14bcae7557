// The rendezvous of a gang, and the environment it gives every container:
// where the ranks meet (rank 0's node address, two TCP ports reserved on
// rank 0's instance) and who each rank is, as torch (`init_method="env://"`,
// torchrun) and the Neuron runtime read them. Pure: the ports are chosen
// from the Placer's view of the instance and reserved in it like a task's
// static host ports, so they stay in rank 0's reservation, go back when that
// task stops and are rebuilt from its record after a restart.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "scheduler/placement.h"

namespace berth::planner {

// The attribute that holds a container instance's node address: the agent
// registers it (`berth agent --address`, by default the local address it
// reaches the server from); an instance registered through the API has one
// only where the caller put it.
inline constexpr std::string_view kAddressAttribute = "berth.address";

// The TCP ports a gang's rendezvous ports are taken from, lowest free first:
// torch's default MASTER_PORT and the 499 after it. Outside Linux's
// ephemeral range (32768-60999), so no outgoing connection holds one.
inline constexpr int kRendezvousPortFirst = 29500;
inline constexpr int kRendezvousPortLast = 29999;

// Where the ranks of one placement of a gang meet.
struct GangRendezvous {
  // By rank: the kAddressAttribute of the rank's instance, "" where it has
  // none.
  std::vector<std::string> addresses;
  int master_port = 0;       // MASTER_PORT
  int neuron_comm_port = 0;  // the port of NEURON_RT_ROOT_COMM_ID
};

// Takes the rendezvous ports for a gang placed in cluster (ranks[r] is rank
// r, all of them reserved there under request): the two lowest free TCP
// ports in [kRendezvousPortFirst, kRendezvousPortLast] on rank 0's instance
// become host ports of ranks[0], reserved in cluster as the task's own.
// Fills `rendezvous` and returns nullopt; or, when rank 0's instance has
// fewer than two free, returns a RESOURCE:PORTS failure and changes nothing
// (the caller gives the ranks back). Internal when cluster does not hold
// ranks[0] as placed.
StatusOr<std::optional<scheduler::PlacementFailure>> ReserveRendezvous(
    scheduler::Placer& cluster, const scheduler::PlacementRequest& request,
    std::vector<scheduler::TaskPlacement>& ranks, GangRendezvous& rendezvous);

// Who one task of a gang is.
struct GangMember {
  std::string_view gang;  // the berth:gang tag's value
  int rank = 0;
  int size = 1;
  int attempt = 0;  // 0 for the first placement; a restart of the gang counts up
};

// Ordered (name, value) pairs.
using Environment = std::vector<std::pair<std::string, std::string>>;

// The environment of every container of `member`: RANK, WORLD_SIZE,
// NODE_RANK (one task per node: all three the gang's rank and size),
// MASTER_ADDR, MASTER_PORT, BERTH_GANG, BERTH_GANG_RANK, BERTH_GANG_SIZE,
// BERTH_GANG_ATTEMPT, BERTH_GANG_HOSTS (every rank's address, in rank order,
// comma-separated) and NEURON_RT_ROOT_COMM_ID (MASTER_ADDR:neuron_comm_port,
// an IPv6 address in brackets).
// Without an address for rank 0, MASTER_ADDR and NEURON_RT_ROOT_COMM_ID are
// left out; without one for every rank, BERTH_GANG_HOSTS is.
Environment GangEnvironment(const GangMember& member, const GangRendezvous& rendezvous);

// Gives every container of task_definition the variables of env that
// neither its definition's `environment` nor an entry of
// overrides.containerOverrides for it names: appended to that container's
// override entries (to each, where several name it), or to a new entry
// {name, environment} after the others. The agent applies an override's
// environment on top of the definition's, so a value set explicitly always
// wins, and DescribeTasks shows what each container is given.
void AddDefaultEnvironment(boost::json::object& overrides,
                           const boost::json::object& task_definition, const Environment& env);

}  // namespace berth::planner
