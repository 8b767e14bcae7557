// Score plugins: the placement strategies, turned into sort keys.
//
// Each scorer gives every candidate instance a key, lower preferred. The
// candidates are ordered by the keys of the first scorer, ties broken by the
// second, and so on, and finally by instance id, which makes chained
// strategies mean what ECS says they mean ("spread over zones, then binpack
// within a zone") and every placement reproducible.
//
// A scorer whose key depends on one instance alone (binpack, spread by
// instance, Neuron topology) computes it in InstanceKey, over an
// InstanceView (placement_view.h): both engines call it, the Placer on the
// state it keeps per instance. The other two look beyond one instance
// (spread by attribute counts every instance with the same value; random
// draws in candidate order); the Placer keeps their inputs in its own
// indexes (per-value task tallies) and says so in its ScoreSpec handling.
//
// Thread-safety: scorers are immutable after construction; Keys draws from
// the context's generator, which belongs to the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "scheduler/placement.h"
#include "scheduler/placement_view.h"

namespace berth::scheduler {

struct ScoreContext {
  const ClusterSnapshot& snapshot;  // the working copy: counts include this call's tasks
  const PlacementRequest& request;
  std::mt19937_64& random;
};

// What a scorer's key is made of, so that the Placer (placement.h) can keep
// it current incrementally instead of computing it over every candidate.
struct ScoreSpec {
  enum class Kind {
    kNeuronTopology,
    kBinpackCpu,
    kBinpackMemory,
    kSpreadInstance,
    kSpreadAttribute,
    kRandom
  };
  Kind kind = Kind::kRandom;
  std::string attribute;  // for kSpreadAttribute
};

class PlacementScorer {
 public:
  virtual ~PlacementScorer() = default;
  virtual std::string_view name() const = 0;
  virtual ScoreSpec spec() const = 0;
  // One key per candidate, in the candidates' order.
  virtual std::vector<int64_t> Keys(const std::vector<const SnapshotInstance*>& candidates,
                                    ScoreContext& context) const = 0;
  // The key of one instance, for scorers whose key depends on that instance
  // alone; nullopt for the others (spread by attribute, random).
  virtual std::optional<int64_t> InstanceKey(const InstanceView& instance,
                                             const PlacementRequest& request) const;
  // The least InstanceKey of an instance that offers `need` (what the
  // filters need, NeedOf): an index ordered by the key skips what is below.
  virtual int64_t LeastKey(const Capacity& need) const;
};

// Scorers are immutable and shared: between a compiled request and the
// Placer's indexes that order instances by a scorer's key, which outlive the
// call.
using ScorerList = std::vector<std::shared_ptr<const PlacementScorer>>;

// binpack(cpu|memory): least remaining first. spread(instanceId|host):
// fewest tasks of the request's group on the instance first.
// spread(attribute:NAME): fewest tasks of the group on all instances with the
// same value of NAME first (instances without it share the value "").
// random: a draw from the generator per candidate. InvalidArgument for
// anything else.
StatusOr<std::shared_ptr<const PlacementScorer>> MakeStrategyScorer(
    const PlacementStrategy& strategy);

// berth: for a request that counts Neuron devices, instances where the
// devices it would get are connected come first (key = number of groups the
// chosen ids form, minus one). It runs before the user's strategies: a
// training task on unlinked devices runs slower everywhere, a strategy only
// prefers.
std::shared_ptr<const PlacementScorer> MakeNeuronTopologyScorer();

// The tasks of `group` on an instance (all of its tasks when group is "").
int GroupTaskCount(const InstanceFacts& facts, const std::string& group);

// Candidates ordered by the scorers' keys, then by instance id.
std::vector<const SnapshotInstance*> RankCandidates(std::vector<const SnapshotInstance*> candidates,
                                                    const ScorerList& scorers,
                                                    ScoreContext& context);

}  // namespace berth::scheduler
