// The Placer: the fast path of placement (see placement.h).
//
// A decision is the reference's (placement_step.cc) without its costs. The
// rules themselves are not here: every filter and scorer is a plugin
// (placement_filters.h, placement_scores.h) that both engines call, the
// Placer over InstanceViews (placement_view.h) of the state it keeps. What
// is here is that state and the indexes that keep a decision from looking at
// every instance:
//
// - no copy: the Placer owns the snapshot and changes it in place (Apply,
//   Release, through the shared placement_reservation.h), together with
//   what it derives per instance (a DerivedInstance: free device bitsets,
//   the largest connected free group, task counts per group);
// - no full filter pass: instances are kept ordered per final strategy key
//   (the last scorer's InstanceKey: remaining memory or CPU for binpack, the
//   group's tasks for spread by instance; nothing for spread by attribute
//   alone), pruned by what the filters Need, in one InstanceOrder
//   partition per value of the spread attributes. Spread by attribute picks
//   the values with the fewest tasks of the group first, and within them
//   the first instance in key order that every filter admits, which is the
//   reference's first-ranked instance;
// - no sort: the Neuron topology scorer (first when a request counts
//   devices) is searched for key 0 ("all devices in one connected group",
//   cheap on the derived bitsets), and only when no instance has it does the
//   Placer fall back to one pass;
// - memberOf answers are remembered per instance, until a task changes the
//   instance when the expression reads runningTasksCount or task:group.
//
// Strategies that cannot be indexed (random; a binpack or spread by instance
// followed by another strategy) take one pass over the instances in id
// order with the reference's key columns, no sort; random draws exactly as
// the reference does. When no instance fits, the reference names the
// failure over the same (unchanged) snapshot, so reasons and details are
// the reference's word for word.
#include <algorithm>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scheduler/placement.h"
#include "scheduler/placement_filters.h"
#include "scheduler/placement_gang.h"
#include "scheduler/placement_index.h"
#include "scheduler/placement_request.h"
#include "scheduler/placement_reservation.h"
#include "scheduler/placement_scores.h"
#include "scheduler/placement_step.h"
#include "scheduler/placement_view.h"

namespace berth::scheduler {
namespace {

constexpr int32_t kMissing = -1;  // an instance without the attribute
// Indexes kept at most (see MakePlan).
constexpr size_t kMaxOrders = 16;
constexpr size_t kMaxTallies = 32;

using Tuple = std::vector<int32_t>;

}  // namespace

// What the Placer keeps per instance of its snapshot.
struct InstanceState {
  uint32_t rank = 0;            // position in id order
  uint32_t version = 1;         // bumped whenever a task changes the instance
  DerivedInstance derived;      // what the plugins read through an InstanceView
  std::vector<int32_t> values;  // per interned attribute; filled when interned
  uint64_t call = 0;            // the call that last placed a task here
};

// The engine behind the Placer's public face: the public Placer methods
// check and compile what callers give (requests, instance ids); State works
// on compiled requests and instance indexes.
class Placer::State {
 public:
  explicit State(ClusterSnapshot snapshot);

  // count >= 0.
  StatusOr<PlacementResult> Place(const CompiledRequest& compiled, int count,
                                  std::mt19937_64& random);
  StatusOr<GangPlacement> PlaceGang(const GangRequest& gang, int size, std::mt19937_64& random);

  // The index of the instance with this id; -1 when there is none.
  int IndexOf(std::string_view id) const;
  // The record of instance `i`, or null for -1 (IndexOf's "none").
  const SnapshotInstance* Find(int i) const { return i < 0 ? nullptr : &snapshot_.instances[i]; }
  // Changes to instance i, which the caller has checked (CanReserve,
  // CanUnreserve); derived state, indexes and tallies follow.
  void ApplyAt(int i, const PlacementRequest& request, const TaskPlacement& placement);
  void ReleaseAt(int i, const PlacementRequest& request, const TaskPlacement& placement);
  void SetRunningTasksCountAt(int i, int count);
  void UpdateFactsAt(int i, const InstanceFacts& facts);
  // An instance whose id IndexOf does not know.
  void Add(SnapshotInstance instance);
  const ClusterSnapshot& snapshot() const { return snapshot_; }

 private:
  // Where one decision looks: the whole cluster, or a gang's group (the
  // instances with one value of an attribute). Spread counts are taken over
  // the scope, as the reference counts over the group's snapshot.
  struct Scope {
    int attribute = -1;  // -1: every instance
    int32_t value = kMissing;
  };
  struct QueryAnswers {
    bool dynamic = false;
    std::vector<uint32_t> version;  // 0: not yet evaluated
    std::vector<uint8_t> matches;
  };
  // A request reduced to what the fast path needs, once per call.
  struct Plan {
    const CompiledRequest* compiled = nullptr;
    // The Neuron topology scorer, when it comes first; an indexed search
    // takes only instances where its key is 0.
    const PlacementScorer* topology = nullptr;
    bool indexable = false;
    std::vector<int> spread_attributes;  // interned, in strategy order
    // The scorer after them, whose per-instance key orders an index; null:
    // none (instances in id order).
    std::shared_ptr<const PlacementScorer> key;
    Capacity need;  // what every filter needs (NeedOf)
    // The filters a pass calls (applying) and those an index search, which
    // checks `need` on every instance it looks at, calls (beyond_need).
    FiltersFor filters;
    // The memberOf expressions with their remembered answers, and the text
    // of those that placement cannot change: an ordered index holds only the
    // instances that match these, so a search never walks the others.
    std::vector<std::pair<const Query*, QueryAnswers*>> member_of;
    std::string static_filter;
  };
  struct Tally {  // tasks of `group` per tuple of attribute values
    std::string group;
    Tuple attributes;  // the scope attribute first when scoped
    bool scoped = false;
    std::map<Tuple, int64_t> counts;
  };
  // Instances per partition, ordered by (key, id).
  struct Order {
    std::shared_ptr<const PlacementScorer> key;  // null: no key
    PlacementRequest request;                    // what the key is computed for (its group)
    std::string filter;                          // Plan::static_filter of the instances it holds
    // Those memberOf expressions, to place an instance whose facts changed.
    std::vector<std::pair<Query, QueryAnswers*>> statics;
    Tuple attributes;  // the partition: scope attribute first when set
    bool scoped = false;
    InstanceOrder order;
    std::map<Tuple, int> roots;
    std::vector<int*> root_of;  // per instance; null when not in the index
  };

  int Intern(const std::string& attribute);
  int32_t InternValue(int attribute, const std::string& value);
  // The instance's value of an interned attribute; instances without it
  // count as "" (spread) unless `keep_missing` (a gang's group attribute).
  int32_t Value(int i, int attribute, bool keep_missing) const;
  Tuple TupleOf(int i, const Tuple& attributes, bool scoped) const;
  // Instance i as the plugins see it; placed_in_call for `call` (0: none).
  InstanceView ViewOf(int i, uint64_t call = 0) const {
    return InstanceView(snapshot_.instances[i], state_[i].derived,
                        call != 0 && state_[i].call == call, i);
  }
  int GroupTasks(int i, const std::string& group) const { return ViewOf(i).GroupTasks(group); }
  int64_t KeyOf(int i, const Order& o) const;
  void Init(int i);
  void Derive(int i) {
    DeriveFreeDevices(snapshot_.instances[i].resources, state_[i].derived.devices);
  }

  Tally& TallyFor(const std::string& group, const Tuple& attributes, bool scoped);
  Order& OrderFor(const Plan& plan, const Tuple& attributes, bool scoped);
  // After instance i changed (delta tasks of group): indexes and tallies.
  void Reindex(int i, const std::string& group, int delta);
  // Adds instance i to order o when it belongs there (taking new tasks, matching
  // the order's static memberOf expressions, inside a scoped order's scope).
  void MaybeInsert(int i, Order& o);

  QueryAnswers& AnswersFor(const Query& query);
  bool MemberOf(int i, const Query& query, QueryAnswers& answers);
  // The plan's memberOf expressions, answered from what is remembered.
  class RememberedAnswers;
  // Every filter of `filters` (the plan's), over instance i; `context` is
  // the plan's, with its RememberedAnswers.
  bool Admits(int i, FilterSet filters, const FilterContext& context, uint64_t call) const;

  Plan MakePlan(const CompiledRequest& compiled);
  int ChooseIndexed(const Plan& plan, const Scope& scope, uint64_t call);
  int ChooseByPass(const Plan& plan, const Scope& scope, uint64_t call, std::mt19937_64& random);
  bool InScope(int i, const Scope& scope) const {
    return scope.attribute < 0 || Value(i, scope.attribute, true) == scope.value;
  }
  // One task: the chosen instance, or the reference's failure.
  // Without `explain`, a failure comes back without its reason (cheaper).
  StepOutcome Step(const Plan& plan, const Scope& scope, uint64_t call,
                   const std::set<std::string>& in_call, std::mt19937_64& random,
                   bool explain = true);
  struct GroupAttempt {
    std::vector<TaskPlacement> ranks;
    std::optional<PlacementFailure> failure;  // set when a rank did not fit
  };
  // A gang's ranks one by one in `scope`; what did not make a whole gang is
  // released again unless `keep`.
  StatusOr<GroupAttempt> PlaceInGroup(const Plan& plan, const Scope& scope, int size, bool keep,
                                      bool explain, std::mt19937_64& random);
  // ApplyAt for a placement this Placer chose itself: Internal when it
  // does not fit, which would be a bug.
  Status ApplyChosen(const PlacementRequest& request, const TaskPlacement& placement);

  ClusterSnapshot snapshot_;
  std::vector<InstanceState> state_;
  std::vector<int> by_rank_;  // instance indexes in id order
  std::unordered_map<std::string, int> index_of_;
  std::vector<std::string> attribute_names_;
  std::unordered_map<std::string, int> attribute_ids_;
  std::vector<std::unordered_map<std::string, int32_t>> value_ids_;
  std::vector<std::vector<std::string>> value_names_;
  std::vector<std::unique_ptr<Tally>> tallies_;
  std::vector<std::unique_ptr<Order>> orders_;
  std::unordered_map<std::string, QueryAnswers> queries_;
  std::unordered_map<std::string, int64_t> group_totals_;  // tasks per group, cluster-wide
  uint64_t calls_ = 0;
};

// ---------------------------------------------------------------------------
// Derived state

Placer::State::State(ClusterSnapshot snapshot) : snapshot_(std::move(snapshot)) {
  const int n = static_cast<int>(snapshot_.instances.size());
  state_.resize(n);
  by_rank_.resize(n);
  std::iota(by_rank_.begin(), by_rank_.end(), 0);
  std::stable_sort(by_rank_.begin(), by_rank_.end(), [&](int a, int b) {
    return snapshot_.instances[a].facts.id < snapshot_.instances[b].facts.id;
  });
  for (int r = 0; r < n; ++r) state_[by_rank_[r]].rank = static_cast<uint32_t>(r);
  for (int i = 0; i < n; ++i) {
    // The first of a duplicated id, as ApplyPlacement.
    index_of_.emplace(snapshot_.instances[i].facts.id, i);
    Init(i);
  }
}

// What instance i's own record gives: device graph, task groups and free
// resources (values of interned attributes are Intern's).
void Placer::State::Init(int i) {
  const SnapshotInstance& instance = snapshot_.instances[i];
  DerivedInstance& derived = state_[i].derived;
  DeriveFromFacts(instance.facts, derived);
  DeriveDeviceGraph(instance.resources.neuron, derived.devices);
  for (const std::string& group : instance.facts.task_groups) {
    ++derived.group_tasks[group];
    ++group_totals_[group];
  }
  Derive(i);
}

int64_t Placer::State::KeyOf(int i, const Order& o) const {
  return o.key ? *o.key->InstanceKey(ViewOf(i), o.request) : 0;
}

int Placer::State::Intern(const std::string& attribute) {
  auto [it, added] = attribute_ids_.emplace(attribute, static_cast<int>(attribute_names_.size()));
  if (!added) return it->second;
  const int id = it->second;
  attribute_names_.push_back(attribute);
  value_ids_.emplace_back();
  value_names_.emplace_back();
  for (size_t i = 0; i < state_.size(); ++i) {
    const auto& attributes = snapshot_.instances[i].facts.attributes;
    auto found = attributes.find(attribute);
    state_[i].values.resize(attribute_names_.size(), kMissing);
    state_[i].values[id] = found == attributes.end() ? kMissing : InternValue(id, found->second);
  }
  return id;
}

int32_t Placer::State::InternValue(int attribute, const std::string& value) {
  auto [it, added] =
      value_ids_[attribute].emplace(value, static_cast<int32_t>(value_names_[attribute].size()));
  if (added) value_names_[attribute].push_back(value);
  return it->second;
}

int32_t Placer::State::Value(int i, int attribute, bool keep_missing) const {
  const int32_t v = state_[i].values[attribute];
  if (v != kMissing || keep_missing) return v;
  auto it = value_ids_[attribute].find("");
  // "" is interned before any tally or order asks for a missing value.
  return it == value_ids_[attribute].end() ? kMissing : it->second;
}

Tuple Placer::State::TupleOf(int i, const Tuple& attributes, bool scoped) const {
  Tuple t(attributes.size());
  for (size_t k = 0; k < attributes.size(); ++k) {
    t[k] = Value(i, attributes[k], scoped && k == 0);
  }
  return t;
}

// ---------------------------------------------------------------------------
// Indexes

Placer::State::Tally& Placer::State::TallyFor(const std::string& group, const Tuple& attributes,
                                              bool scoped) {
  for (auto& t : tallies_) {
    if (t->group == group && t->attributes == attributes && t->scoped == scoped) return *t;
  }
  for (size_t k = 0; k < attributes.size(); ++k) {
    if (!(scoped && k == 0)) InternValue(attributes[k], "");
  }
  auto tally = std::make_unique<Tally>();
  tally->group = group;
  tally->attributes = attributes;
  tally->scoped = scoped;
  // A group without tasks (a new service, a new training job) counts 0
  // everywhere: nothing to scan.
  auto total = group_totals_.find(group);
  const bool empty = !group.empty() && (total == group_totals_.end() || total->second == 0);
  for (size_t i = 0; i < state_.size() && !empty; ++i) {
    const int tasks = GroupTasks(static_cast<int>(i), group);
    if (tasks != 0) tally->counts[TupleOf(static_cast<int>(i), attributes, scoped)] += tasks;
  }
  tallies_.push_back(std::move(tally));
  return *tallies_.back();
}

Placer::State::Order& Placer::State::OrderFor(const Plan& plan, const Tuple& attributes,
                                              bool scoped) {
  // The same key: the same kind of scorer, and for spread by instance
  // (whose key counts the group's tasks) the same group.
  auto same_key = [&](const Order& o) {
    if (!o.key || !plan.key) return !o.key && !plan.key;
    const ScoreSpec::Kind kind = o.key->spec().kind;
    return kind == plan.key->spec().kind && (kind != ScoreSpec::Kind::kSpreadInstance ||
                                             o.request.group == plan.compiled->request.group);
  };
  for (auto& o : orders_) {
    if (same_key(*o) && o->filter == plan.static_filter && o->attributes == attributes &&
        o->scoped == scoped) {
      return *o;
    }
  }
  for (size_t k = 0; k < attributes.size(); ++k) {
    if (!(scoped && k == 0)) InternValue(attributes[k], "");
  }
  const int n = static_cast<int>(state_.size());
  auto order = std::unique_ptr<Order>(new Order{plan.key,
                                                plan.compiled->request,
                                                plan.static_filter,
                                                {},
                                                attributes,
                                                scoped,
                                                InstanceOrder(n),
                                                {},
                                                std::vector<int*>(n, nullptr)});
  for (const auto& [query, answers] : plan.member_of) {
    if (!answers->dynamic) order->statics.emplace_back(*query, answers);
  }
  for (int i = 0; i < n; ++i) MaybeInsert(i, *order);
  orders_.push_back(std::move(order));
  return *orders_.back();
}

void Placer::State::MaybeInsert(int i, Order& o) {
  // Left out: instances that no task can make take new tasks (the agent
  // filter's rule), those that do not match the memberOf expressions no
  // task can change, and those outside every scope of a scoped index.
  if (!state_[i].derived.takes_new_tasks) return;
  for (auto& [query, answers] : o.statics) {
    if (!MemberOf(i, query, *answers)) return;
  }
  Tuple t = TupleOf(i, o.attributes, o.scoped);
  if (o.scoped && t[0] == kMissing) return;
  auto [it, added] = o.roots.emplace(std::move(t), InstanceOrder::kNone);
  o.root_of[i] = &it->second;
  o.order.Insert(&it->second, i, KeyOf(i, o), state_[i].rank, ViewOf(i).capacity());
}

void Placer::State::Reindex(int i, const std::string& group, int delta) {
  for (auto& o : orders_) {
    int* root = o->root_of[i];
    if (root == nullptr) continue;
    o->order.Erase(root, i);
    o->order.Insert(root, i, KeyOf(i, *o), state_[i].rank, ViewOf(i).capacity());
  }
  if (delta == 0) return;
  for (auto& t : tallies_) {
    if (!t->group.empty() && t->group != group) continue;
    t->counts[TupleOf(i, t->attributes, t->scoped)] += delta;
  }
}

// ---------------------------------------------------------------------------
// Filters, on the derived state

Placer::State::QueryAnswers& Placer::State::AnswersFor(const Query& query) {
  QueryAnswers& answers = queries_[query.text()];
  if (answers.version.empty()) {
    answers.dynamic = query.DependsOnTasks();
    answers.version.assign(state_.size(), 0);
    answers.matches.assign(state_.size(), 0);
  }
  return answers;
}

bool Placer::State::MemberOf(int i, const Query& query, QueryAnswers& answers) {
  const uint32_t current = answers.dynamic ? state_[i].version : 1;
  if (answers.version[i] != current) {
    answers.matches[i] = query.Matches(snapshot_.instances[i].facts) ? 1 : 0;
    answers.version[i] = current;
  }
  return answers.matches[i] != 0;
}

class Placer::State::RememberedAnswers final : public MemberOfAnswers {
 public:
  RememberedAnswers(State& state, const Plan& plan) : state_(state), plan_(plan) {}
  bool Matches(size_t k, const InstanceView& instance) override {
    const auto& [query, answers] = plan_.member_of[k];
    return state_.MemberOf(instance.slot(), *query, *answers);
  }

 private:
  State& state_;
  const Plan& plan_;
};

bool Placer::State::Admits(int i, FilterSet filters, const FilterContext& context,
                           uint64_t call) const {
  return AdmitsAll(filters, ViewOf(i, call), context);
}

// ---------------------------------------------------------------------------
// Choosing

Placer::State::Plan Placer::State::MakePlan(const CompiledRequest& compiled) {
  // Indexes are made on first use per request shape and kept current from
  // then on; past a bound they are all dropped (and rebuilt when used), once
  // per call, so that no call holds one that goes away.
  if (orders_.size() > kMaxOrders) orders_.clear();
  if (tallies_.size() > kMaxTallies) tallies_.clear();
  Plan plan;
  plan.compiled = &compiled;
  const PlacementRequest& request = compiled.request;
  for (const Query& query : compiled.member_of) {
    QueryAnswers& answers = AnswersFor(query);
    plan.member_of.emplace_back(&query, &answers);
    if (!answers.dynamic) plan.static_filter += query.text() + "\n";
  }
  plan.need = NeedOf(request);
  plan.filters = FiltersOf(compiled);
  size_t k = 0;
  const auto& scorers = compiled.scorers;
  if (k < scorers.size() && scorers[k]->spec().kind == ScoreSpec::Kind::kNeuronTopology) {
    plan.topology = scorers[k].get();
    ++k;
  }
  for (; k < scorers.size(); ++k) {
    const ScoreSpec spec = scorers[k]->spec();
    if (spec.kind != ScoreSpec::Kind::kSpreadAttribute) break;
    plan.spread_attributes.push_back(Intern(spec.attribute));
  }
  plan.indexable = true;
  if (k < scorers.size()) {
    // An index orders by a key of one instance at a time; random keys are
    // drawn per call.
    const ScoreSpec::Kind kind = scorers[k]->spec().kind;
    if (kind == ScoreSpec::Kind::kRandom || kind == ScoreSpec::Kind::kNeuronTopology) {
      plan.indexable = false;
    } else {
      plan.key = scorers[k];
    }
    // Anything after the ordered key would break its ties, which (key, id)
    // order cannot express.
    if (k + 1 < scorers.size()) plan.indexable = false;
  }
  // An indexed search takes the topology scorer's key-0 instances; with
  // exact ids the key needs the full device choice for every candidate.
  if (plan.topology && !request.exact_neuron_devices.empty()) plan.indexable = false;
  return plan;
}

// The reference's first-ranked instance, from the indexes; -1 when no
// instance passes (or, with the topology scorer, none has a connected
// group: then the caller makes one pass).
int Placer::State::ChooseIndexed(const Plan& plan, const Scope& scope, uint64_t call) {
  const PlacementRequest& request = plan.compiled->request;
  const bool scoped = scope.attribute >= 0;
  Tuple attributes;
  if (scoped) attributes.push_back(scope.attribute);
  attributes.insert(attributes.end(), plan.spread_attributes.begin(), plan.spread_attributes.end());
  Order& order = OrderFor(plan, attributes, scoped);
  std::vector<Tally*> tallies;
  for (int a : plan.spread_attributes) {
    Tuple t;
    if (scoped) t.push_back(scope.attribute);
    t.push_back(a);
    tallies.push_back(&TallyFor(request.group, t, scoped));
  }
  // The partitions of the scope with their spread keys, fewest tasks first.
  struct Partition {
    std::vector<int64_t> keys;
    int root;
  };
  std::vector<Partition> partitions;
  for (const auto& [tuple, root] : order.roots) {
    if (root == InstanceOrder::kNone) continue;
    if (scoped && tuple[0] != scope.value) continue;
    Partition p{{}, root};
    const size_t first = scoped ? 1 : 0;
    for (size_t a = 0; a < tallies.size(); ++a) {
      Tuple t;
      if (scoped) t.push_back(tuple[0]);
      t.push_back(tuple[first + a]);
      auto it = tallies[a]->counts.find(t);
      p.keys.push_back(it == tallies[a]->counts.end() ? 0 : it->second);
    }
    partitions.push_back(std::move(p));
  }
  std::stable_sort(partitions.begin(), partitions.end(),
                   [](const Partition& a, const Partition& b) { return a.keys < b.keys; });
  const int64_t min_key =
      plan.key ? plan.key->LeastKey(plan.need) : std::numeric_limits<int64_t>::min();
  RememberedAnswers answers(*this, plan);
  const FilterContext context{*plan.compiled, &answers};
  auto admits = [&](int i) {
    if (!Admits(i, plan.filters.beyond_need, context, call)) return false;
    return !plan.topology || plan.topology->InstanceKey(ViewOf(i), request) == 0;
  };
  for (size_t begin = 0; begin < partitions.size();) {
    size_t end = begin;
    int best = -1;
    while (end < partitions.size() && partitions[end].keys == partitions[begin].keys) {
      int found = order.order.FindFirst(partitions[end].root, min_key, plan.need, admits);
      if (found >= 0 && (best < 0 || order.order.key(found) < order.order.key(best) ||
                         (order.order.key(found) == order.order.key(best) &&
                          order.order.rank(found) < order.order.rank(best)))) {
        best = found;
      }
      ++end;
    }
    if (best >= 0) return best;
    begin = end;
  }
  return -1;
}

// The reference's ranking without its sort: the survivors in id order, the
// scorers' key columns, the lexicographically least (the first on ties).
int Placer::State::ChooseByPass(const Plan& plan, const Scope& scope, uint64_t call,
                                std::mt19937_64& random) {
  const CompiledRequest& compiled = *plan.compiled;
  const PlacementRequest& request = compiled.request;
  RememberedAnswers answers(*this, plan);
  const FilterContext context{compiled, &answers};
  std::vector<int> candidates;
  for (int i : by_rank_) {
    if (InScope(i, scope) && Admits(i, plan.filters.applying, context, call)) {
      candidates.push_back(i);
    }
  }
  if (candidates.empty()) return -1;
  const bool scoped = scope.attribute >= 0;
  std::vector<std::vector<int64_t>> columns;
  for (const auto& scorer : compiled.scorers) {
    const ScoreSpec spec = scorer->spec();
    std::vector<int64_t> column;
    column.reserve(candidates.size());
    switch (spec.kind) {
      case ScoreSpec::Kind::kSpreadAttribute: {
        // Counted over the scope, from the tallies kept per value.
        Tuple attributes;
        if (scoped) attributes.push_back(scope.attribute);
        attributes.push_back(Intern(spec.attribute));
        Tally& tally = TallyFor(request.group, attributes, scoped);
        for (int i : candidates) {
          auto it = tally.counts.find(TupleOf(i, attributes, scoped));
          column.push_back(it == tally.counts.end() ? 0 : it->second);
        }
        break;
      }
      case ScoreSpec::Kind::kRandom:
        // As RandomScorer: one draw per candidate, in id order.
        for (size_t c = 0; c < candidates.size(); ++c) {
          column.push_back(static_cast<int64_t>(random() >> 1));
        }
        break;
      default:
        for (int i : candidates) column.push_back(*scorer->InstanceKey(ViewOf(i), request));
    }
    columns.push_back(std::move(column));
  }
  size_t best = 0;
  for (size_t c = 1; c < candidates.size(); ++c) {
    for (const auto& column : columns) {
      if (column[c] != column[best]) {
        if (column[c] < column[best]) best = c;
        break;
      }
    }
  }
  return candidates[best];
}

StepOutcome Placer::State::Step(const Plan& plan, const Scope& scope, uint64_t call,
                                const std::set<std::string>& in_call, std::mt19937_64& random,
                                bool explain) {
  int chosen = -1;
  if (plan.indexable) chosen = ChooseIndexed(plan, scope, call);
  if (chosen < 0 && (!plan.indexable || plan.topology)) {
    chosen = ChooseByPass(plan, scope, call, random);
  }
  StepOutcome outcome;
  if (chosen >= 0) {
    outcome.placement = PlacementOn(ViewOf(chosen), plan.compiled->request);
    return outcome;
  }
  if (!explain) return outcome;
  // Nothing fits: the reference names the failure over the same state.
  if (scope.attribute < 0) return PlaceOneTask(snapshot_, *plan.compiled, in_call, random);
  ClusterSnapshot group;
  for (size_t i = 0; i < state_.size(); ++i) {
    if (InScope(static_cast<int>(i), scope)) group.instances.push_back(snapshot_.instances[i]);
  }
  return PlaceOneTask(group, *plan.compiled, in_call, random);
}

// ---------------------------------------------------------------------------
// Calls

StatusOr<PlacementResult> Placer::State::Place(const CompiledRequest& compiled, int count,
                                               std::mt19937_64& random) {
  const Plan plan = MakePlan(compiled);
  const uint64_t call = ++calls_;
  std::set<std::string> in_call;
  PlacementResult result;
  for (int task = 0; task < count; ++task) {
    StepOutcome step = Step(plan, Scope{}, call, in_call, random);
    if (!step.placement) {
      // Nothing changed since this task failed, so every later one would
      // fail the same way.
      result.failures.assign(count - task, step.failure);
      break;
    }
    BERTH_RETURN_IF_ERROR(ApplyChosen(compiled.request, *step.placement));
    state_[IndexOf(step.placement->instance_id)].call = call;
    in_call.insert(step.placement->instance_id);
    result.placements.push_back(std::move(*step.placement));
  }
  return result;
}

StatusOr<GangPlacement> Placer::State::PlaceGang(const GangRequest& gang_request, int size,
                                                 std::mt19937_64& random) {
  const std::string& attribute = gang_request.attribute;
  const bool same_attribute = !attribute.empty();
  const Plan plan = MakePlan(gang_request.compiled);

  // The groups that may hold the gang, in ascending order of the value.
  std::vector<std::pair<std::string, Scope>> groups;
  if (same_attribute) {
    const int a = Intern(attribute);
    std::set<int32_t> present;
    for (const InstanceState& s : state_) {
      if (s.values[a] != kMissing) present.insert(s.values[a]);
    }
    for (int32_t v : present) groups.push_back({value_names_[a][v], Scope{a, v}});
    std::sort(groups.begin(), groups.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
  } else {
    groups.push_back({"", Scope{}});
  }

  GangPlacement gang;
  if (groups.empty()) {
    gang.failure = NoGangGroup(attribute, size);
    return gang;
  }
  // A failed group's reason matters only if no group holds the gang; then
  // the closest group is placed again to name it (the same decisions: the
  // state is as it was, and without a random strategy nothing is drawn).
  // With a random strategy the draws must happen in order, so every failure
  // is named as it happens.
  bool draws = false;
  for (const auto& scorer : gang_request.compiled.scorers) {
    draws = draws || scorer->spec().kind == ScoreSpec::Kind::kRandom;
  }
  struct Closest {
    std::string value;
    Scope scope;
    size_t placed = 0;
    std::optional<PlacementFailure> failure;
  };
  std::optional<Closest> closest;
  for (const auto& [value, scope] : groups) {
    StatusOr<GroupAttempt> attempt = PlaceInGroup(plan, scope, size, true, draws, random);
    if (!attempt.ok()) return attempt.status();
    if (!attempt->failure) {
      gang.ranks = std::move(attempt->ranks);
      if (same_attribute) gang.attribute_value = value;
      return gang;
    }
    if (!closest || attempt->ranks.size() > closest->placed) {
      closest = Closest{value, scope, attempt->ranks.size(), std::move(attempt->failure)};
    }
  }
  if (!draws) {
    StatusOr<GroupAttempt> again = PlaceInGroup(plan, closest->scope, size, false, true, random);
    if (!again.ok()) return again.status();
    closest->failure = std::move(again->failure);
  }
  if (!closest->failure) return Internal("gang placement placed a gang it had not placed before");
  gang.failure = GangFailure(size, attribute, closest->value, closest->placed, *closest->failure);
  return gang;
}

StatusOr<Placer::State::GroupAttempt> Placer::State::PlaceInGroup(const Plan& plan,
                                                                  const Scope& scope, int size,
                                                                  bool keep, bool explain,
                                                                  std::mt19937_64& random) {
  const uint64_t call = ++calls_;
  std::set<std::string> in_call;
  GroupAttempt attempt;
  for (int rank = 0; rank < size; ++rank) {
    StepOutcome step = Step(plan, scope, call, in_call, random, explain);
    if (!step.placement) {
      attempt.failure = std::move(step.failure);
      break;
    }
    BERTH_RETURN_IF_ERROR(ApplyChosen(plan.compiled->request, *step.placement));
    state_[IndexOf(step.placement->instance_id)].call = call;
    in_call.insert(step.placement->instance_id);
    attempt.ranks.push_back(std::move(*step.placement));
  }
  if (attempt.failure || !keep) {
    // All or none: give back what this group took, latest first.
    for (auto it = attempt.ranks.rbegin(); it != attempt.ranks.rend(); ++it) {
      ReleaseAt(IndexOf(it->instance_id), plan.compiled->request, *it);
    }
  }
  return attempt;
}

// ---------------------------------------------------------------------------
// Changes

int Placer::State::IndexOf(std::string_view id) const {
  auto it = index_of_.find(std::string(id));
  return it == index_of_.end() ? -1 : it->second;
}

void Placer::State::ApplyAt(int i, const PlacementRequest& request,
                            const TaskPlacement& placement) {
  Reserve(snapshot_.instances[i], request, placement);
  ++state_[i].derived.group_tasks[request.group];
  ++group_totals_[request.group];
  ++state_[i].version;
  Derive(i);
  Reindex(i, request.group, +1);
}

void Placer::State::ReleaseAt(int i, const PlacementRequest& request,
                              const TaskPlacement& placement) {
  Unreserve(snapshot_.instances[i], request, placement);
  auto& group_tasks = state_[i].derived.group_tasks;
  if (--group_tasks[request.group] == 0) group_tasks.erase(request.group);
  if (--group_totals_[request.group] == 0) group_totals_.erase(request.group);
  ++state_[i].version;
  Derive(i);
  Reindex(i, request.group, -1);
}

Status Placer::State::ApplyChosen(const PlacementRequest& request, const TaskPlacement& placement) {
  const int i = IndexOf(placement.instance_id);
  if (Status fits = CanReserve(Find(i), request, placement); !fits.ok()) {
    return Internal("placement chose an instance that cannot take the task: " + fits.message());
  }
  ApplyAt(i, request, placement);
  return Status::Ok();
}

void Placer::State::SetRunningTasksCountAt(int i, int count) {
  snapshot_.instances[i].facts.running_tasks_count = count;
  ++state_[i].version;
}

void Placer::State::UpdateFactsAt(int i, const InstanceFacts& facts) {
  // Out of every index and tally under the old facts...
  for (auto& o : orders_) {
    if (int* root = o->root_of[i]; root != nullptr) {
      o->order.Erase(root, i);
      o->root_of[i] = nullptr;
    }
  }
  for (auto& t : tallies_) {
    if (const int tasks = GroupTasks(i, t->group); tasks != 0) {
      t->counts[TupleOf(i, t->attributes, t->scoped)] -= tasks;
    }
  }
  // ...the new facts, keeping what the tasks here make of them...
  InstanceFacts& have = snapshot_.instances[i].facts;
  InstanceFacts next = facts;
  next.running_tasks_count = have.running_tasks_count;
  next.task_groups = std::move(have.task_groups);
  have = std::move(next);
  InstanceState& s = state_[i];
  DeriveFromFacts(have, s.derived);
  for (size_t a = 0; a < attribute_names_.size(); ++a) {
    auto found = have.attributes.find(attribute_names_[a]);
    s.values[a] =
        found == have.attributes.end() ? kMissing : InternValue(static_cast<int>(a), found->second);
  }
  ++s.version;
  for (auto& [text, answers] : queries_) answers.version[i] = 0;  // static answers too
  // ...and back in.
  for (auto& t : tallies_) {
    if (const int tasks = GroupTasks(i, t->group); tasks != 0) {
      t->counts[TupleOf(i, t->attributes, t->scoped)] += tasks;
    }
  }
  for (auto& o : orders_) MaybeInsert(i, *o);
}

void Placer::State::Add(SnapshotInstance instance) {
  const int i = static_cast<int>(state_.size());
  // Its place in id order: the instances after it move up one rank.
  auto at = std::lower_bound(
      by_rank_.begin(), by_rank_.end(), instance.facts.id,
      [&](int j, const std::string& id) { return snapshot_.instances[j].facts.id < id; });
  const auto rank = static_cast<uint32_t>(at - by_rank_.begin());
  by_rank_.insert(at, i);
  for (InstanceState& s : state_) {
    if (s.rank >= rank) ++s.rank;
  }
  for (auto& o : orders_) {
    o->order.ShiftRanks(rank);
    o->order.Add();
    o->root_of.push_back(nullptr);
  }
  index_of_.emplace(instance.facts.id, i);
  snapshot_.instances.push_back(std::move(instance));
  state_.emplace_back();
  state_[i].rank = rank;
  Init(i);
  const auto& attributes = snapshot_.instances[i].facts.attributes;
  state_[i].values.assign(attribute_names_.size(), kMissing);
  for (size_t a = 0; a < attribute_names_.size(); ++a) {
    if (auto found = attributes.find(attribute_names_[a]); found != attributes.end()) {
      state_[i].values[a] = InternValue(static_cast<int>(a), found->second);
    }
  }
  for (auto& [text, answers] : queries_) {
    answers.version.push_back(0);
    answers.matches.push_back(0);
  }
  for (auto& t : tallies_) {
    if (const int tasks = GroupTasks(i, t->group); tasks != 0) {
      t->counts[TupleOf(i, t->attributes, t->scoped)] += tasks;
    }
  }
  for (auto& o : orders_) MaybeInsert(i, *o);
}

// ---------------------------------------------------------------------------
// The public face

Placer::Placer(ClusterSnapshot snapshot) : state_(std::make_unique<State>(std::move(snapshot))) {}
Placer::~Placer() = default;
Placer::Placer(Placer&&) noexcept = default;
Placer& Placer::operator=(Placer&&) noexcept = default;

StatusOr<PlacementResult> Placer::PlaceTasks(const PlacementRequest& request, int count,
                                             std::mt19937_64& random) {
  if (count < 0) return InvalidArgument("count must not be negative");
  StatusOr<CompiledRequest> compiled = CompileRequest(request);
  if (!compiled.ok()) return compiled.status();
  return state_->Place(*compiled, count, random);
}

StatusOr<GangPlacement> Placer::PlaceGang(const PlacementRequest& request, int size,
                                          const std::optional<std::string>& same_attribute,
                                          std::mt19937_64& random) {
  StatusOr<GangRequest> gang = ReadGangRequest(request, size, same_attribute);
  if (!gang.ok()) return gang.status();
  return state_->PlaceGang(*gang, size, random);
}

Status Placer::Apply(const PlacementRequest& request, const TaskPlacement& placement) {
  const int i = state_->IndexOf(placement.instance_id);
  BERTH_RETURN_IF_ERROR(CanReserve(state_->Find(i), request, placement));
  state_->ApplyAt(i, request, placement);
  return Status::Ok();
}

Status Placer::Release(const PlacementRequest& request, const TaskPlacement& placement) {
  const int i = state_->IndexOf(placement.instance_id);
  BERTH_RETURN_IF_ERROR(CanUnreserve(state_->Find(i), request, placement));
  state_->ReleaseAt(i, request, placement);
  return Status::Ok();
}

Status Placer::SetRunningTasksCount(std::string_view instance_id, int count) {
  const int i = state_->IndexOf(instance_id);
  if (i < 0) return NotInSnapshot(instance_id);
  state_->SetRunningTasksCountAt(i, count);
  return Status::Ok();
}

Status Placer::UpdateFacts(const InstanceFacts& facts) {
  const int i = state_->IndexOf(facts.id);
  if (i < 0) return NotInSnapshot(facts.id);
  state_->UpdateFactsAt(i, facts);
  return Status::Ok();
}

Status Placer::AddInstance(SnapshotInstance instance) {
  if (state_->IndexOf(instance.facts.id) >= 0) {
    return AlreadyExists("container instance " + instance.facts.id + " is in the snapshot");
  }
  state_->Add(std::move(instance));
  return Status::Ok();
}

const ClusterSnapshot& Placer::snapshot() const { return state_->snapshot(); }

const SnapshotInstance* Placer::Find(std::string_view instance_id) const {
  return state_->Find(state_->IndexOf(instance_id));
}

}  // namespace berth::scheduler
