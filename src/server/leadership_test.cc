// Leader election against a real 3-member etcd cluster
// (scripts/etcd-cluster.sh), started once for this binary.
#include "server/leadership.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "store/etcd/etcd_cluster_testing.h"

namespace berth::server {
namespace {

using store::SharedEtcdCluster;

std::string FreshKey() {
  static std::atomic<int> counter = 0;
  return "/leadership-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + "/leader";
}

std::unique_ptr<Leadership> Campaign(const std::string& key, const std::string& address,
                                     std::atomic<int>* changes = nullptr, int lease_seconds = 2) {
  LeadershipOptions options;
  options.client.endpoints = SharedEtcdCluster::Get().endpoints();
  options.key = key;
  options.address = address;
  options.lease_seconds = lease_seconds;
  auto started = Leadership::Start(options, [changes] {
    if (changes) ++*changes;
  });
  EXPECT_TRUE(started.ok()) << started.status().ToString();
  return started.ok() ? std::move(*started) : nullptr;
}

// Waits up to 10 s for done().
bool Eventually(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

TEST(LeadershipTest, OneLeadsAndTheOtherFollowsIt) {
  const std::string key = FreshKey();
  std::atomic<int> changes = 0;
  auto a = Campaign(key, "a:1", &changes);
  ASSERT_TRUE(Eventually([&] { return a->state().leading; }));
  EXPECT_EQ(a->state().leader, "a:1");
  EXPECT_GT(a->state().fence_revision, 0);
  EXPECT_EQ(a->state().term, 1u);
  EXPECT_GE(changes.load(), 1);
  auto b = Campaign(key, "b:2");
  ASSERT_TRUE(Eventually([&] { return b->state().leader == "a:1"; }));
  EXPECT_FALSE(b->state().leading);
  // The lease is renewed: a holds on well past its TTL.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(a->state().leading);
  EXPECT_FALSE(b->state().leading);
}

// A stopped leader revokes its lease: the other takes over within a poll (at
// most a second), long before the lease's 20 s would have run out
// (Eventually gives up after 10 s).
TEST(LeadershipTest, WhenTheLeaderStopsAnotherTakesOverAtOnce) {
  const std::string key = FreshKey();
  constexpr int kLeaseSeconds = 20;
  auto a = Campaign(key, "a:1", nullptr, kLeaseSeconds);
  ASSERT_TRUE(Eventually([&] { return a->state().leading; }));
  const int64_t first_fence = a->state().fence_revision;
  auto b = Campaign(key, "b:2", nullptr, kLeaseSeconds);
  ASSERT_TRUE(Eventually([&] { return b->state().leader == "a:1"; }));
  a.reset();  // revokes its lease
  ASSERT_TRUE(Eventually([&] { return b->state().leading; }));
  EXPECT_GT(b->state().fence_revision, first_fence);
}

TEST(LeadershipTest, AResignedLeaderHandsOverAndFollows) {
  const std::string key = FreshKey();
  auto a = Campaign(key, "a:1");
  ASSERT_TRUE(Eventually([&] { return a->state().leading; }));
  auto b = Campaign(key, "b:2");
  ASSERT_TRUE(Eventually([&] { return b->state().leader == "a:1"; }));
  a->Resign(FailedPrecondition("fence lost"));
  ASSERT_TRUE(Eventually([&] { return b->state().leading; }));
  ASSERT_TRUE(Eventually([&] { return a->state().leader == "b:2"; }));
  EXPECT_FALSE(a->state().leading);
  // And leads again, a new term, once b is gone.
  b.reset();
  ASSERT_TRUE(Eventually([&] { return a->state().leading; }));
  EXPECT_EQ(a->state().term, 2u);
}

TEST(LeadershipTest, RefusesALeaseTooShortToRenew) {
  LeadershipOptions options;
  options.client.endpoints = SharedEtcdCluster::Get().endpoints();
  options.key = FreshKey();
  options.address = "a:1";
  options.lease_seconds = 1;
  EXPECT_EQ(Leadership::Start(options, nullptr).status().code(), StatusCode::kInvalidArgument);
}

TEST(LeadershipTest, WithoutEtcdNoneLeadsAndTheStateSaysWhy) {
  LeadershipOptions options;
  options.client.endpoints = {"127.0.0.1:1"};  // nothing listens on port 1
  options.key = FreshKey();
  options.address = "a:1";
  options.lease_seconds = 2;
  auto started = Leadership::Start(options, nullptr);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  auto& l = *started;
  ASSERT_TRUE(Eventually([&] { return !l->state().store_error.empty(); }));
  EXPECT_EQ(l->state().store_error.rfind("etcd: ", 0), 0u) << l->state().store_error;
  EXPECT_FALSE(l->state().leading);
  EXPECT_EQ(l->state().leader, "");
}

}  // namespace
}  // namespace berth::server
