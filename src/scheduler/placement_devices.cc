#include "scheduler/placement_devices.h"

#include <algorithm>
#include <bit>
#include <deque>
#include <iterator>
#include <string>

namespace berth::scheduler {
namespace {

// The connected groups of the subgraph induced by `ids`, each ascending,
// ordered by their lowest id.
std::vector<std::vector<int>> Groups(const std::vector<std::vector<int>>& adjacency,
                                     const std::set<int>& ids) {
  std::vector<std::vector<int>> groups;
  std::set<int> seen;
  for (int start : ids) {
    if (seen.count(start)) continue;
    std::vector<int> group;
    std::deque<int> queue = {start};
    seen.insert(start);
    while (!queue.empty()) {
      int id = queue.front();
      queue.pop_front();
      group.push_back(id);
      for (int next : adjacency[id]) {
        if (ids.count(next) && seen.insert(next).second) queue.push_back(next);
      }
    }
    std::sort(group.begin(), group.end());
    groups.push_back(std::move(group));
  }
  return groups;
}

// `count` connected ids out of `group` (itself connected, count <= size),
// grown from some start by always adding the lowest linked id. Growing from
// every start and keeping the set that leaves the rest of the group in the
// fewest pieces makes a ring give contiguous segments and a torus give whole
// rows, without knowing which shape it is.
std::vector<int> ConnectedSubset(const std::vector<std::vector<int>>& adjacency,
                                 const std::vector<int>& group, int count) {
  const std::set<int> members(group.begin(), group.end());
  std::vector<int> best;
  int best_pieces = 0;
  for (int start : group) {
    std::set<int> chosen = {start};
    std::set<int> frontier;
    auto add_links = [&](int id) {
      for (int next : adjacency[id]) {
        if (members.count(next) && !chosen.count(next)) frontier.insert(next);
      }
    };
    add_links(start);
    while (static_cast<int>(chosen.size()) < count && !frontier.empty()) {
      int next = *frontier.begin();
      frontier.erase(frontier.begin());
      chosen.insert(next);
      add_links(next);
    }
    std::set<int> rest;
    std::set_difference(members.begin(), members.end(), chosen.begin(), chosen.end(),
                        std::inserter(rest, rest.end()));
    int pieces = CountConnectedGroups(adjacency, rest);
    std::vector<int> candidate(chosen.begin(), chosen.end());
    if (best.empty() || pieces < best_pieces || (pieces == best_pieces && candidate < best)) {
      best = std::move(candidate);
      best_pieces = pieces;
    }
  }
  return best;
}

std::string JoinIds(const std::vector<int>& ids) {
  std::string out;
  for (int id : ids) {
    if (!out.empty()) out += ", ";
    out += std::to_string(id);
  }
  return out;
}

// The same computations on bitsets (ids < 64).
uint64_t Lowest(uint64_t mask) { return mask & (~mask + 1); }

uint64_t GroupOf(const std::vector<uint64_t>& adjacency, uint64_t ids, uint64_t start) {
  uint64_t group = start;
  uint64_t frontier = start;
  while (frontier != 0) {
    uint64_t next = 0;
    for (uint64_t f = frontier; f != 0; f &= f - 1) next |= adjacency[std::countr_zero(f)];
    frontier = next & ids & ~group;
    group |= frontier;
  }
  return group;
}

// Groups(), as masks, ordered by their lowest id.
std::vector<uint64_t> MaskGroups(const std::vector<uint64_t>& adjacency, uint64_t ids) {
  std::vector<uint64_t> groups;
  while (ids != 0) {
    const uint64_t group = GroupOf(adjacency, ids, Lowest(ids));
    groups.push_back(group);
    ids &= ~group;
  }
  return groups;
}

int CountMaskGroups(const std::vector<uint64_t>& adjacency, uint64_t ids) {
  int n = 0;
  while (ids != 0) {
    ids &= ~GroupOf(adjacency, ids, Lowest(ids));
    ++n;
  }
  return n;
}

// Ascending id lists of equal length compare as their lowest differing id.
bool MaskLess(uint64_t a, uint64_t b) {
  const uint64_t differ = a ^ b;
  return differ != 0 && (a & Lowest(differ)) != 0;
}

// ConnectedSubset(), on masks.
uint64_t MaskConnectedSubset(const std::vector<uint64_t>& adjacency, uint64_t group, int count) {
  uint64_t best = 0;
  int best_pieces = 0;
  for (uint64_t starts = group; starts != 0; starts &= starts - 1) {
    uint64_t chosen = Lowest(starts);
    uint64_t frontier = adjacency[std::countr_zero(starts)] & group & ~chosen;
    while (std::popcount(chosen) < count && frontier != 0) {
      const uint64_t next = Lowest(frontier);
      chosen |= next;
      frontier = (frontier | adjacency[std::countr_zero(next)]) & group & ~chosen;
    }
    const int pieces = CountMaskGroups(adjacency, group & ~chosen);
    if (best == 0 || pieces < best_pieces || (pieces == best_pieces && MaskLess(chosen, best))) {
      best = chosen;
      best_pieces = pieces;
    }
  }
  return best;
}

// ChooseConnectedDevices(), on masks; count <= popcount(free_ids).
uint64_t MaskConnectedDevices(const std::vector<uint64_t>& adjacency, uint64_t free_ids,
                              int count) {
  std::vector<uint64_t> groups = MaskGroups(adjacency, free_ids);
  std::stable_sort(groups.begin(), groups.end(),
                   [](uint64_t a, uint64_t b) { return std::popcount(a) > std::popcount(b); });
  uint64_t chosen = 0;
  int need = count;
  size_t next = 0;
  while (need > 0) {
    if (std::popcount(groups[next]) <= need) {
      chosen |= groups[next];
      need -= std::popcount(groups[next]);
      ++next;
      continue;
    }
    size_t fit = next;
    for (size_t i = next; i < groups.size() && std::popcount(groups[i]) >= need; ++i) {
      if (std::popcount(groups[i]) < std::popcount(groups[fit])) fit = i;
    }
    chosen |= MaskConnectedSubset(adjacency, groups[fit], need);
    need = 0;
  }
  return chosen;
}

}  // namespace

std::vector<std::vector<int>> NeuronAdjacency(const NeuronDeviceSet& devices) {
  const int n = std::max(devices.count, 0);
  std::vector<std::set<int>> links(n);
  if (devices.links.empty()) {
    for (int i = 0; i + 1 < n; ++i) {
      links[i].insert(i + 1);
      links[i + 1].insert(i);
    }
  } else {
    for (const auto& [from, tos] : devices.links) {
      if (from < 0 || from >= n) continue;
      for (int to : tos) {
        if (to < 0 || to >= n || to == from) continue;
        links[from].insert(to);
        links[to].insert(from);
      }
    }
  }
  std::vector<std::vector<int>> adjacency(n);
  for (int i = 0; i < n; ++i) adjacency[i].assign(links[i].begin(), links[i].end());
  return adjacency;
}

int CountConnectedGroups(const std::vector<std::vector<int>>& adjacency, const std::set<int>& ids) {
  return static_cast<int>(Groups(adjacency, ids).size());
}

int LargestMaskGroup(const std::vector<uint64_t>& adjacency, uint64_t ids) {
  int largest = 0;
  while (ids != 0) {
    const uint64_t group = GroupOf(adjacency, ids, Lowest(ids));
    largest = std::max(largest, std::popcount(group));
    ids &= ~group;
  }
  return largest;
}

int LargestConnectedGroup(const std::vector<std::vector<int>>& adjacency,
                          const std::set<int>& ids) {
  size_t largest = 0;
  for (const auto& group : Groups(adjacency, ids)) largest = std::max(largest, group.size());
  return static_cast<int>(largest);
}

std::vector<int> ChooseConnectedDevices(const std::vector<std::vector<int>>& adjacency,
                                        const std::set<int>& free_ids, int count) {
  if (count <= 0 || static_cast<int>(free_ids.size()) < count) return {};
  // Largest groups first, so that the fewest groups make up the count; the
  // last, partial one is the smallest group that still covers what is left
  // (best fit: larger groups stay whole for later tasks).
  std::vector<std::vector<int>> groups = Groups(adjacency, free_ids);
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::vector<int> chosen;
  int need = count;
  size_t next = 0;
  while (need > 0) {
    if (static_cast<int>(groups[next].size()) <= need) {
      chosen.insert(chosen.end(), groups[next].begin(), groups[next].end());
      need -= static_cast<int>(groups[next].size());
      ++next;
      continue;
    }
    // Every group from `next` on is sorted by size, largest first; the best
    // fit is the last one that still holds `need` (lowest ids on ties, which
    // stable_sort kept in order).
    size_t fit = next;
    for (size_t i = next; i < groups.size() && static_cast<int>(groups[i].size()) >= need; ++i) {
      if (groups[i].size() < groups[fit].size()) fit = i;
    }
    std::vector<int> part = ConnectedSubset(adjacency, groups[fit], need);
    chosen.insert(chosen.end(), part.begin(), part.end());
    need = 0;
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

bool WantsNeuronDevices(const PlacementRequest& request) {
  return request.all_neuron_devices || request.neuron_device_count > 0 ||
         !request.exact_neuron_devices.empty();
}

NeuronChoice ChooseNeuronDevices(const NeuronDeviceSet& devices, const PlacementRequest& request) {
  NeuronChoice choice;
  if (!WantsNeuronDevices(request)) return choice;
  if (devices.count <= 0) {
    choice.refusal = "has no Neuron devices";
    return choice;
  }
  if (request.all_neuron_devices) {
    if (!devices.taken.empty()) {
      choice.refusal = "needs all " + std::to_string(devices.count) +
                       " Neuron devices free, taken: " +
                       JoinIds(std::vector<int>(devices.taken.begin(), devices.taken.end()));
      return choice;
    }
    for (int id = 0; id < devices.count; ++id) choice.ids.push_back(id);
    return choice;
  }
  std::set<int> free_ids;
  for (int id = 0; id < devices.count; ++id) {
    if (!devices.taken.count(id)) free_ids.insert(id);
  }
  for (int id : request.exact_neuron_devices) {
    if (id >= devices.count) {
      choice.refusal = "device " + std::to_string(id) + " does not exist (the instance has " +
                       std::to_string(devices.count) + ")";
      return choice;
    }
    if (!free_ids.count(id)) {
      choice.refusal = "device " + std::to_string(id) + " is taken";
      return choice;
    }
    free_ids.erase(id);
    choice.ids.push_back(id);
  }
  const int count = request.neuron_device_count;
  if (count > 0) {
    const auto adjacency = NeuronAdjacency(devices);
    std::vector<int> counted = ChooseConnectedDevices(adjacency, free_ids, count);
    if (counted.empty()) {
      choice.ids.clear();
      choice.refusal = "needs " + std::to_string(count) + " free Neuron devices, has " +
                       std::to_string(free_ids.size());
      return choice;
    }
    choice.ids.insert(choice.ids.end(), counted.begin(), counted.end());
  }
  std::sort(choice.ids.begin(), choice.ids.end());
  return choice;
}

NeuronChoice ChooseNeuronDevicesOnMasks(const NeuronDeviceSet& devices,
                                        const std::vector<uint64_t>& adjacency, uint64_t free_mask,
                                        const PlacementRequest& request) {
  const bool counted_only = !request.all_neuron_devices && request.neuron_device_count > 0;
  if (!counted_only || devices.count <= 0 || devices.count > 64) {
    return ChooseNeuronDevices(devices, request);
  }
  NeuronChoice choice;
  uint64_t free_ids = free_mask;
  for (int id : request.exact_neuron_devices) {
    if (id >= devices.count || !(free_ids >> id & 1)) return ChooseNeuronDevices(devices, request);
    free_ids &= ~(uint64_t{1} << id);
  }
  if (std::popcount(free_ids) < request.neuron_device_count) {
    return ChooseNeuronDevices(devices, request);  // the refusal, in words
  }
  uint64_t ids = MaskConnectedDevices(adjacency, free_ids, request.neuron_device_count);
  for (int id : request.exact_neuron_devices) ids |= uint64_t{1} << id;
  for (; ids != 0; ids &= ids - 1) choice.ids.push_back(std::countr_zero(ids));
  return choice;
}

int FreeGpuCount(const GpuSet& gpus) {
  int free = 0;
  for (int id : gpus.ids) free += gpus.taken.count(id) ? 0 : 1;
  return free;
}

std::vector<int> ChooseGpus(const GpuSet& gpus, int count) {
  std::vector<int> chosen;
  for (int id : gpus.ids) {
    if (static_cast<int>(chosen.size()) == count) break;
    if (!gpus.taken.count(id)) chosen.push_back(id);
  }
  if (static_cast<int>(chosen.size()) < count) return {};
  return chosen;
}

bool WantsEfaDevices(const PlacementRequest& request) {
  return request.all_efa_devices || request.efa_device_count > 0 ||
         !request.exact_efa_devices.empty();
}

DeviceChoice ChooseEfaDevices(const EfaDeviceSet& efa, const PlacementRequest& request) {
  DeviceChoice choice;
  if (!WantsEfaDevices(request)) return choice;
  if (efa.ids.empty()) {
    choice.refusal = "has no EFA devices";
    return choice;
  }
  if (request.all_efa_devices) {
    if (!efa.taken.empty()) {
      choice.refusal = "needs all " + std::to_string(efa.ids.size()) +
                       " EFA devices free, taken: " +
                       JoinIds(std::vector<int>(efa.taken.begin(), efa.taken.end()));
      return choice;
    }
    choice.ids.assign(efa.ids.begin(), efa.ids.end());
    return choice;
  }
  for (int id : request.exact_efa_devices) {
    if (!efa.ids.count(id)) {
      choice.refusal = "EFA device " + std::to_string(id) + " does not exist (the instance has " +
                       JoinIds(std::vector<int>(efa.ids.begin(), efa.ids.end())) + ")";
      return choice;
    }
    if (efa.taken.count(id)) {
      choice.refusal = "EFA device " + std::to_string(id) + " is taken";
      return choice;
    }
    choice.ids.push_back(id);
  }
  int wanted = request.efa_device_count, free = 0;
  for (int id : efa.ids) {
    if (efa.taken.count(id) || request.exact_efa_devices.count(id)) continue;
    ++free;
    if (wanted > 0) {
      choice.ids.push_back(id);
      --wanted;
    }
  }
  if (wanted > 0) {
    choice.ids.clear();
    choice.refusal = "needs " + std::to_string(request.efa_device_count) +
                     " free EFA devices, has " + std::to_string(free);
    return choice;
  }
  std::sort(choice.ids.begin(), choice.ids.end());
  return choice;
}

}  // namespace berth::scheduler
