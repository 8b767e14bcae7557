#include "scheduler/placement_devices.h"

#include <algorithm>
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

NeuronChoice ChooseNeuronDevices(const NeuronDeviceSet& devices, const PlacementRequest& request) {
  NeuronChoice choice;
  const bool wants_devices = request.all_neuron_devices || request.neuron_device_count > 0 ||
                             !request.exact_neuron_devices.empty();
  if (!wants_devices) return choice;
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

}  // namespace berth::scheduler
