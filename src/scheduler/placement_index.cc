#include "scheduler/placement_index.h"

#include <algorithm>

namespace berth::scheduler {

InstanceOrder::InstanceOrder(int count) : nodes_(static_cast<size_t>(std::max(count, 0))) {
  // Fixed pseudo-random priorities (a 32-bit LCG): the tree's shape does not
  // depend on any caller's generator, and placements stay a function of the
  // request and the caller's generator alone.
  for (Node& n : nodes_) {
    lcg_ = lcg_ * 1664525u + 1013904223u;
    n.priority = lcg_;
  }
}

void InstanceOrder::Add() {
  lcg_ = lcg_ * 1664525u + 1013904223u;
  nodes_.push_back(Node{});
  nodes_.back().priority = lcg_;
}

void InstanceOrder::ShiftRanks(uint32_t from) {
  for (Node& n : nodes_) {
    if (n.rank >= from) ++n.rank;
  }
}

bool InstanceOrder::Less(int a, int64_t key, uint32_t rank) const {
  const Node& n = nodes_[a];
  return n.key < key || (n.key == key && n.rank < rank);
}

void InstanceOrder::Pull(int t) {
  Node& n = nodes_[t];
  n.subtree = n.own;
  for (int c : {n.left, n.right}) {
    if (c == kNone) continue;
    const Capacity& s = nodes_[c].subtree;
    n.subtree.cpu = std::max(n.subtree.cpu, s.cpu);
    n.subtree.memory_mib = std::max(n.subtree.memory_mib, s.memory_mib);
    n.subtree.neuron_free = std::max(n.subtree.neuron_free, s.neuron_free);
    n.subtree.gpu_free = std::max(n.subtree.gpu_free, s.gpu_free);
  }
}

void InstanceOrder::Split(int t, int64_t key, uint32_t rank, int* left, int* right) {
  if (t == kNone) {
    *left = *right = kNone;
    return;
  }
  Node& n = nodes_[t];
  if (Less(t, key, rank)) {
    Split(n.right, key, rank, &n.right, right);
    *left = t;
  } else {
    Split(n.left, key, rank, left, &n.left);
    *right = t;
  }
  Pull(t);
}

int InstanceOrder::Merge(int a, int b) {
  if (a == kNone) return b;
  if (b == kNone) return a;
  if (nodes_[a].priority > nodes_[b].priority) {
    nodes_[a].right = Merge(nodes_[a].right, b);
    Pull(a);
    return a;
  }
  nodes_[b].left = Merge(a, nodes_[b].left);
  Pull(b);
  return b;
}

void InstanceOrder::Insert(int* root, int i, int64_t key, uint32_t rank, const Capacity& capacity) {
  Node& n = nodes_[i];
  n.key = key;
  n.rank = rank;
  n.left = n.right = kNone;
  n.own = capacity;
  n.subtree = capacity;
  int left, right;
  Split(*root, key, rank, &left, &right);
  *root = Merge(Merge(left, i), right);
}

void InstanceOrder::Erase(int* root, int i) {
  const int64_t key = nodes_[i].key;
  const uint32_t rank = nodes_[i].rank;
  int left, rest, middle, right;
  Split(*root, key, rank, &left, &rest);
  Split(rest, key, rank + 1, &middle, &right);  // middle is node i alone
  *root = Merge(left, right);
}

}  // namespace berth::scheduler
