// InstanceOrder: the instances of one partition (say, one availability zone)
// kept ordered by a key that placement changes (remaining memory, remaining
// CPU, tasks of a group) and then by instance id, so that a strategy such as
// binpack(memory) finds its best candidate without sorting the cluster.
//
// A treap over instance indexes, in a pool shared by every partition of one
// index (an instance is in at most one partition). Each node also keeps the
// largest free CPU, memory, Neuron device and GPU count of its subtree, so a
// search skips whole subtrees where no instance can take the task (the full
// instances binpack leaves at the front of the order cost nothing).
//
// Not thread-safe; owned by one Placer.
#pragma once

#include <cstdint>
#include <vector>

#include "scheduler/placement_view.h"

namespace berth::scheduler {

class InstanceOrder {
 public:
  static constexpr int kNone = -1;

  // A pool for instances 0..count-1, every partition empty.
  explicit InstanceOrder(int count);

  // Adds instance `i` to the partition whose root is `*root`, ordered by
  // (key, rank); rank is the instance's position in id order.
  void Insert(int* root, int i, int64_t key, uint32_t rank, const Capacity& capacity);
  // Removes instance `i` (with the key it was inserted with) from its partition.
  void Erase(int* root, int i);
  // Room for one more instance (the next index), in no partition.
  void Add();
  // Every instance of rank `from` or above moves up one (an instance is
  // being added before them in id order); their order does not change.
  void ShiftRanks(uint32_t from);
  int64_t key(int i) const { return nodes_[i].key; }
  uint32_t rank(int i) const { return nodes_[i].rank; }

  // The first instance of the partition in (key, rank) order whose key is at
  // least `min_key`, whose capacity covers `need` and that `admits` accepts;
  // kNone when there is none. min_key only saves visits: an instance below
  // it must also fail `need`, but a node below it is skipped with its left
  // subtree without looking at them.
  template <typename Admits>
  int FindFirst(int root, int64_t min_key, const Capacity& need, const Admits& admits) const {
    if (root == kNone) return kNone;
    const Node& n = nodes_[root];
    if (!n.subtree.Covers(need)) return kNone;
    if (n.key >= min_key) {
      if (int found = FindFirst(n.left, min_key, need, admits); found != kNone) return found;
      if (n.own.Covers(need) && admits(root)) return root;
    }
    return FindFirst(n.right, min_key, need, admits);
  }

 private:
  struct Node {
    int64_t key = 0;
    uint32_t rank = 0;
    uint32_t priority = 0;
    int left = kNone;
    int right = kNone;
    Capacity own;
    Capacity subtree;  // the largest of each field over the subtree
  };
  bool Less(int a, int64_t key, uint32_t rank) const;
  void Pull(int t);
  // Splits t into (< (key, rank)) and (>= (key, rank)).
  void Split(int t, int64_t key, uint32_t rank, int* left, int* right);
  int Merge(int a, int b);

  std::vector<Node> nodes_;
  uint32_t lcg_ = 2463534242u;  // the priorities' generator
};

}  // namespace berth::scheduler
