#include "scheduler/placement_scores.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "scheduler/placement_devices.h"

namespace berth::scheduler {
namespace {

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// A scorer whose key is a function of one instance: Keys is InstanceKey per
// candidate.
class PerInstanceScorer : public PlacementScorer {
 public:
  std::vector<int64_t> Keys(const std::vector<const SnapshotInstance*>& candidates,
                            ScoreContext& context) const override {
    std::vector<int64_t> keys;
    keys.reserve(candidates.size());
    for (const SnapshotInstance* c : candidates) {
      keys.push_back(*InstanceKey(InstanceView(*c, false), context.request));
    }
    return keys;
  }
};

class BinpackScorer : public PerInstanceScorer {
 public:
  explicit BinpackScorer(bool memory) : memory_(memory) {}
  std::string_view name() const override { return memory_ ? "binpack(memory)" : "binpack(cpu)"; }
  ScoreSpec spec() const override {
    return {memory_ ? ScoreSpec::Kind::kBinpackMemory : ScoreSpec::Kind::kBinpackCpu, ""};
  }
  std::optional<int64_t> InstanceKey(const InstanceView& instance,
                                     const PlacementRequest&) const override {
    const InstanceResources& r = instance.resources();
    return memory_ ? r.memory_remaining_mib : r.cpu_remaining;
  }
  int64_t LeastKey(const Capacity& need) const override {
    return memory_ ? need.memory_mib : need.cpu;
  }

 private:
  bool memory_;
};

class SpreadInstanceScorer : public PerInstanceScorer {
 public:
  std::string_view name() const override { return "spread(instanceId)"; }
  ScoreSpec spec() const override { return {ScoreSpec::Kind::kSpreadInstance, ""}; }
  std::optional<int64_t> InstanceKey(const InstanceView& instance,
                                     const PlacementRequest& request) const override {
    return instance.GroupTasks(request.group);
  }
};

class SpreadAttributeScorer : public PlacementScorer {
 public:
  explicit SpreadAttributeScorer(std::string attribute) : attribute_(std::move(attribute)) {}
  std::string_view name() const override { return "spread(attribute)"; }
  ScoreSpec spec() const override { return {ScoreSpec::Kind::kSpreadAttribute, attribute_}; }
  std::vector<int64_t> Keys(const std::vector<const SnapshotInstance*>& candidates,
                            ScoreContext& context) const override {
    // Counted over every instance, not only the candidates: a zone whose
    // instances are full still holds its tasks.
    std::map<std::string, int64_t> tasks_by_value;
    for (const SnapshotInstance& instance : context.snapshot.instances) {
      tasks_by_value[Value(instance)] += GroupTaskCount(instance.facts, context.request.group);
    }
    std::vector<int64_t> keys;
    for (const SnapshotInstance* c : candidates) keys.push_back(tasks_by_value[Value(*c)]);
    return keys;
  }

 private:
  std::string Value(const SnapshotInstance& instance) const {
    auto it = instance.facts.attributes.find(attribute_);
    return it == instance.facts.attributes.end() ? "" : it->second;
  }
  std::string attribute_;
};

class RandomScorer : public PlacementScorer {
 public:
  std::string_view name() const override { return "random"; }
  ScoreSpec spec() const override { return {ScoreSpec::Kind::kRandom, ""}; }
  std::vector<int64_t> Keys(const std::vector<const SnapshotInstance*>& candidates,
                            ScoreContext& context) const override {
    // The raw engine output, not a distribution: std::mt19937_64's sequence
    // is fixed by the standard, distributions differ between libraries.
    std::vector<int64_t> keys;
    for (size_t i = 0; i < candidates.size(); ++i) {
      keys.push_back(static_cast<int64_t>(context.random() >> 1));
    }
    return keys;
  }
};

class NeuronTopologyScorer : public PerInstanceScorer {
 public:
  std::string_view name() const override { return "neuron-topology"; }
  ScoreSpec spec() const override { return {ScoreSpec::Kind::kNeuronTopology, ""}; }
  std::optional<int64_t> InstanceKey(const InstanceView& instance,
                                     const PlacementRequest& request) const override {
    // A counted request gets one connected group wherever the largest free
    // group holds the count (ChooseConnectedDevices takes it whole or in
    // part): no choice to make. Exact ids join the choice, so not then.
    const FreeDevices& d = instance.devices();
    if (d.on_masks && request.exact_neuron_devices.empty() &&
        d.neuron_largest_group >= request.neuron_device_count) {
      return 0;
    }
    const NeuronDeviceSet& devices = instance.resources().neuron;
    NeuronChoice choice = ChooseNeuronDevices(instance, request);
    std::set<int> ids(choice.ids.begin(), choice.ids.end());
    return std::max(CountConnectedGroups(NeuronAdjacency(devices), ids) - 1, 0);
  }
};

}  // namespace

std::optional<int64_t> PlacementScorer::InstanceKey(const InstanceView&,
                                                    const PlacementRequest&) const {
  return std::nullopt;
}

int64_t PlacementScorer::LeastKey(const Capacity&) const {
  return std::numeric_limits<int64_t>::min();
}

int GroupTaskCount(const InstanceFacts& facts, const std::string& group) {
  if (group.empty()) return static_cast<int>(facts.task_groups.size());
  return static_cast<int>(std::count(facts.task_groups.begin(), facts.task_groups.end(), group));
}

StatusOr<std::shared_ptr<const PlacementScorer>> MakeStrategyScorer(
    const PlacementStrategy& strategy) {
  const std::string& field = strategy.field;
  if (strategy.type == "binpack") {
    // ECS spells the fields in lower case; upper case is accepted because
    // the console and some SDK examples write CPU / MEMORY.
    if (EqualsIgnoringCase(field, "cpu")) return {std::make_shared<BinpackScorer>(false)};
    if (EqualsIgnoringCase(field, "memory")) return {std::make_shared<BinpackScorer>(true)};
    return InvalidArgument("binpack field must be cpu or memory, got '" + field + "'");
  }
  if (strategy.type == "spread") {
    if (EqualsIgnoringCase(field, "instanceId") || EqualsIgnoringCase(field, "host")) {
      return {std::make_shared<SpreadInstanceScorer>()};
    }
    constexpr std::string_view kPrefix = "attribute:";
    if (field.size() > kPrefix.size() && field.compare(0, kPrefix.size(), kPrefix) == 0) {
      return {std::make_shared<SpreadAttributeScorer>(field.substr(kPrefix.size()))};
    }
    return InvalidArgument("spread field must be instanceId, host or attribute:<name>, got '" +
                           field + "'");
  }
  if (strategy.type == "random") return {std::make_shared<RandomScorer>()};
  return InvalidArgument("type must be binpack, spread or random, got '" + strategy.type + "'");
}

std::shared_ptr<const PlacementScorer> MakeNeuronTopologyScorer() {
  return std::make_shared<NeuronTopologyScorer>();
}

std::vector<const SnapshotInstance*> RankCandidates(std::vector<const SnapshotInstance*> candidates,
                                                    const ScorerList& scorers,
                                                    ScoreContext& context) {
  // Keys are drawn over the candidates in id order, so the random scorer's
  // draws do not depend on the order of the snapshot.
  std::sort(candidates.begin(), candidates.end(),
            [](const auto* a, const auto* b) { return a->facts.id < b->facts.id; });
  std::vector<std::vector<int64_t>> keys(candidates.size());
  for (const auto& scorer : scorers) {
    std::vector<int64_t> column = scorer->Keys(candidates, context);
    for (size_t i = 0; i < candidates.size(); ++i) keys[i].push_back(column[i]);
  }
  std::vector<size_t> order(candidates.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  std::vector<const SnapshotInstance*> ranked;
  for (size_t i : order) ranked.push_back(candidates[i]);
  return ranked;
}

}  // namespace berth::scheduler
