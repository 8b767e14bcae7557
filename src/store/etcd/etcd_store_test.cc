// The etcd store against a real 3-member etcd cluster on loopback ports,
// started once for this binary by scripts/etcd-cluster.sh and stopped at the
// end (also when the binary dies: the script watches it). Without etcd
// installed every test fails; scripts/setup.sh installs it.
#include "store/etcd/etcd_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "http/client.h"
#include "http/endpoint.h"
#include "store/etcd/etcd_client.h"
#include "store/etcd/etcd_cluster_testing.h"
#include "store/store_conformance_testing.h"
#include "store/store_test_util.h"

namespace berth::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using testing::TempDir;

// Each store gets a root of its own on the shared cluster.
std::string FreshRoot() {
  static std::atomic<int> counter = 0;
  return "/test-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + "/";
}

EtcdStoreOptions Options(std::string root = FreshRoot()) {
  EtcdStoreOptions options;
  options.endpoints = SharedEtcdCluster::Get().endpoints();
  options.root = std::move(root);
  return options;
}

std::unique_ptr<etcd::Client> RawClient() {
  etcd::ClientOptions options;
  options.endpoints = SharedEtcdCluster::Get().endpoints();
  StatusOr<std::unique_ptr<etcd::Client>> client = etcd::Client::Create(options);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return std::move(*client);
}

std::unique_ptr<EtcdStore> OpenOrFail(const EtcdStoreOptions& options) {
  StatusOr<std::unique_ptr<EtcdStore>> store = OpenEtcdStore(options);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::move(*store);
}

struct EtcdBackend {
  static std::unique_ptr<Store> Open(const TempDir&) { return OpenOrFail(Options()); }
};

class EtcdName {
 public:
  template <typename T>
  static std::string GetName(int) {
    return "Etcd";
  }
};
INSTANTIATE_TYPED_TEST_SUITE_P(Store, StoreTest, ::testing::Types<EtcdBackend>, EtcdName);

std::vector<std::pair<std::string, std::string>> Rows(Store& store, std::string_view prefix) {
  std::vector<std::pair<std::string, std::string>> rows;
  Status s = store.Scan(
      prefix, [&](std::string_view key, std::string_view value) { rows.emplace_back(key, value); });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return rows;
}

TEST(EtcdStoreTest, ScanReadsPagesAtOneRevision) {
  EtcdStoreOptions options = Options();
  options.scan_page_keys = 3;
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  Batch batch;
  for (int i = 0; i < 10; ++i) batch.push_back(Mutation::Put("p/" + std::to_string(i), "v"));
  ASSERT_TRUE(store->CommitAndWait(batch).ok());
  // Changes committed while the scan runs (between its pages) are not seen.
  std::vector<std::string> keys;
  Status s = store->Scan("p/", [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    if (keys.size() == 1) {
      Status c = store->CommitAndWait({Mutation::Delete("p/9"), Mutation::Put("p/8x", "new")});
      EXPECT_TRUE(c.ok()) << c.ToString();
    }
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_THAT(keys,
              ElementsAre("p/0", "p/1", "p/2", "p/3", "p/4", "p/5", "p/6", "p/7", "p/8", "p/9"));
  EXPECT_EQ(Rows(*store, "p/").size(), 10u);  // p/9 gone, p/8x there
}

TEST(EtcdStoreTest, ScanOfLargeRangeReadsEveryPage) {
  auto store = OpenOrFail(Options());  // 1000 keys a page
  ASSERT_NE(store, nullptr);
  for (int b = 0; b < 25; ++b) {
    Batch batch;
    for (int i = 0; i < 100; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "big/%05d", b * 100 + i);
      batch.push_back(Mutation::Put(key, std::string(100, 'x')));
    }
    ASSERT_TRUE(store->CommitAndWait(std::move(batch)).ok());
  }
  auto rows = Rows(*store, "big/");
  ASSERT_EQ(rows.size(), 2500u);
  for (size_t i = 1; i < rows.size(); ++i) ASSERT_LT(rows[i - 1].first, rows[i].first);
}

TEST(EtcdStoreTest, LastChangeToAKeyInABatchWins) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->CommitAndWait({Mutation::Put("k/a", "1"), Mutation::Delete("k/a"),
                                   Mutation::Put("k/a", "2"), Mutation::Put("k/b", "x"),
                                   Mutation::Delete("k/b")})
                  .ok());
  EXPECT_THAT(Rows(*store, "k/"), ElementsAre(Pair("k/a", "2")));
}

TEST(EtcdStoreTest, BatchOverRequestLimitFailsAloneBeforeAnythingIsWritten) {
  EtcdStoreOptions options = Options();
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  std::atomic<int> done = 0;
  Status results[3];
  // Queued together: the big one must fail by itself.
  store->Commit({Mutation::Put("a", "1")}, [&](Status s) { results[0] = s, ++done; });
  store->Commit({Mutation::Put("b", "1"), Mutation::Put("big", std::string(2 << 20, 'x'))},
                [&](Status s) { results[1] = s, ++done; });
  store->Commit({Mutation::Put("c", "1")}, [&](Status s) { results[2] = s, ++done; });
  store->Close();
  ASSERT_EQ(done, 3);
  EXPECT_TRUE(results[0].ok()) << results[0].ToString();
  EXPECT_EQ(results[1].code(), StatusCode::kInvalidArgument) << results[1].ToString();
  EXPECT_THAT(results[1].message(), HasSubstr("--max-request-bytes"));
  EXPECT_TRUE(results[2].ok()) << results[2].ToString();
  auto reopened = OpenOrFail(options);
  ASSERT_NE(reopened, nullptr);
  EXPECT_THAT(Rows(*reopened, ""), ElementsAre(Pair("a", "1"), Pair("c", "1")));
}

TEST(EtcdStoreTest, LargestBatchTheStoreAcceptsIsAcceptedByEtcd) {
  // The store's estimate of etcd's request size must never let through what
  // etcd refuses: the largest value it accepts must commit.
  EtcdStoreOptions options = Options();
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  for (int64_t size = options.max_request_bytes;; --size) {
    Status s = store->CommitAndWait({Mutation::Put("v", std::string(size, 'x'))});
    if (s.code() == StatusCode::kInvalidArgument) {
      ASSERT_THAT(s.message(), HasSubstr("--max-request-bytes")) << size;
      continue;
    }
    ASSERT_TRUE(s.ok()) << "value of " << size << " bytes: " << s.ToString();
    // Close, too: the store's own compares, reads and commit id take about
    // 250 bytes, and the estimate allows 64 more.
    EXPECT_GT(size, options.max_request_bytes - 400);
    break;
  }
}

TEST(EtcdStoreTest, BatchOverTxnOpsFailsWithoutWriting) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  Batch too_many, most;
  for (int i = 0; i < 128; ++i) too_many.push_back(Mutation::Put("n/" + std::to_string(i), "v"));
  for (int i = 0; i < 127; ++i) most.push_back(Mutation::Put("m/" + std::to_string(i), "v"));
  Status s = store->CommitAndWait(too_many);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("--max-txn-ops"));
  EXPECT_THAT(Rows(*store, "n/"), IsEmpty());
  s = store->CommitAndWait(most);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Rows(*store, "m/").size(), 127u);
}

TEST(EtcdStoreTest, GroupCommitSplitsIntoTransactionsThatFit) {
  EtcdStoreOptions options = Options();
  options.max_txn_ops = 5;  // four keys a transaction
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  std::atomic<int> ok = 0;
  for (int i = 0; i < 40; ++i) {
    Batch batch = {Mutation::Put("g/" + std::to_string(i) + "/a", "v"),
                   Mutation::Put("g/" + std::to_string(i) + "/b", "v"),
                   Mutation::Put("g/" + std::to_string(i) + "/c", "v")};
    store->Commit(std::move(batch), [&](Status s) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (s.ok()) ++ok;
    });
  }
  Status s = store->CommitAndWait({Mutation::Put("g/x/1", "v"), Mutation::Put("g/x/2", "v"),
                                   Mutation::Put("g/x/3", "v"), Mutation::Put("g/x/4", "v"),
                                   Mutation::Put("g/x/5", "v")});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_EQ(ok, 40);
  EXPECT_EQ(Rows(*store, "g/").size(), 120u);
}

TEST(EtcdStoreTest, ReopenKeepsDataAtCurrentSchemaVersion) {
  EtcdStoreOptions options = Options();
  {
    auto store = OpenOrFail(options);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CommitAndWait({Mutation::Put("clusters/trn1", "{}")}).ok());
  }
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(Rows(*store, ""), ElementsAre(Pair("clusters/trn1", "{}")));
  auto version = RawClient()->Range(etcd::RangeRequest::OneKey(options.root + "schema_version"));
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  ASSERT_EQ(version->kvs.size(), 1u);
  EXPECT_EQ(version->kvs[0].value, "1");
}

TEST(EtcdStoreTest, RefusesSchemaFromNewerBerth) {
  EtcdStoreOptions options = Options();
  auto put = RawClient()->Txn({}, {etcd::TxnOp::Put(options.root + "schema_version", "7")}, {});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  StatusOr<std::unique_ptr<EtcdStore>> store = OpenEtcdStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 7 is newer than this berth (1)"));
  EXPECT_THAT(store.status().message(), HasSubstr(options.root));
}

TEST(EtcdStoreTest, CommitFailsOnceTheSchemaWasMigratedUnderIt) {
  EtcdStoreOptions options = Options();
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      RawClient()->Txn({}, {etcd::TxnOp::Put(options.root + "schema_version", "2")}, {}).ok());
  Status s = store->CommitAndWait({Mutation::Put("k", "v")});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("another berth migrated"));
}

TEST(EtcdStoreTest, SecondWriterOnOnePrefixIsRefused) {
  EtcdStoreOptions options = Options();
  auto first = OpenOrFail(options);
  auto second = OpenOrFail(options);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(first->CommitAndWait({Mutation::Put("k", "first")}).ok());
  Status s = second->CommitAndWait({Mutation::Put("k", "second"), Mutation::Put("j", "second")});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("only one berth server may write"));
  EXPECT_THAT(Rows(*first, ""), ElementsAre(Pair("k", "first")));
  EXPECT_TRUE(first->CommitAndWait({Mutation::Put("k", "again")}).ok());
}

TEST(EtcdStoreTest, FencedCommitFailsOnceTheFenceKeyIsGone) {
  auto client = RawClient();
  const std::string fence_key = FreshRoot() + "leader";
  auto created = client->Txn({}, {etcd::TxnOp::Put(fence_key, "me")}, {});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  store->SetFence(fence_key, created->revision);
  ASSERT_TRUE(store->CommitAndWait({Mutation::Put("a", "1")}).ok());

  // Deleted, then created again by someone else: neither is our leadership.
  ASSERT_TRUE(client->Txn({}, {etcd::TxnOp::Delete(fence_key)}, {}).ok());
  Status s = store->CommitAndWait({Mutation::Put("b", "1")});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("fence " + fence_key + " no longer holds (deleted"));
  ASSERT_TRUE(client->Txn({}, {etcd::TxnOp::Put(fence_key, "other")}, {}).ok());
  store->SetFence(fence_key, created->revision);  // reloaded, still believing it leads
  s = store->CommitAndWait({Mutation::Put("b", "1")});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("lost its leadership"));
  EXPECT_THAT(Rows(*store, ""), ElementsAre(Pair("a", "1")));

  store->ClearFence();
  EXPECT_TRUE(store->CommitAndWait({Mutation::Put("b", "1")}).ok());
}

TEST(EtcdStoreTest, AFencedStoreWritesNothingAfterAFailureUntilFencedAgain) {
  auto client = RawClient();
  const std::string fence_key = FreshRoot() + "leader";
  auto created = client->Txn({}, {etcd::TxnOp::Put(fence_key, "me")}, {});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EtcdStoreOptions options = Options();
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  store->SetFence(fence_key, created->revision);
  std::atomic<int> done = 0;
  Status results[3];
  // Queued together: what comes after the refused change may build on it.
  store->Commit({Mutation::Put("a", "1")}, [&](Status s) { results[0] = s, ++done; });
  store->Commit({Mutation::Put("big", std::string(2 << 20, 'x'))},
                [&](Status s) { results[1] = s, ++done; });
  store->Commit({Mutation::Put("c", "1")}, [&](Status s) { results[2] = s, ++done; });
  Status later = store->CommitAndWait({Mutation::Put("d", "1")});
  ASSERT_EQ(done, 3);
  EXPECT_TRUE(results[0].ok()) << results[0].ToString();
  EXPECT_EQ(results[1].code(), StatusCode::kInvalidArgument) << results[1].ToString();
  for (const Status& s : {results[2], later}) {
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr("an earlier change failed"));
    EXPECT_THAT(s.message(), HasSubstr("--max-request-bytes"));
  }
  EXPECT_THAT(Rows(*store, ""), ElementsAre(Pair("a", "1")));

  // The writer has reloaded its state: writes go on.
  store->SetFence(fence_key, created->revision);
  EXPECT_TRUE(store->CommitAndWait({Mutation::Put("d", "1")}).ok());
  EXPECT_THAT(Rows(*store, ""), ElementsAre(Pair("a", "1"), Pair("d", "1")));
}

TEST(EtcdStoreTest, ANewLeaderGoesOnFromThePreviousLeadersCommits) {
  auto client = RawClient();
  const EtcdStoreOptions options = Options();
  const std::string fence_key = EtcdLeaderKey(options);
  auto old_leader = OpenOrFail(options);
  auto new_leader = OpenOrFail(options);  // opened before the old one wrote
  ASSERT_NE(old_leader, nullptr);
  ASSERT_NE(new_leader, nullptr);
  auto first_term = client->Txn({}, {etcd::TxnOp::Put(fence_key, "old")}, {});
  ASSERT_TRUE(first_term.ok()) << first_term.status().ToString();
  old_leader->SetFence(fence_key, first_term->revision);
  ASSERT_TRUE(old_leader->CommitAndWait({Mutation::Put("a", "old")}).ok());

  // The old leader's key ends (its lease expired); the new one's begins.
  ASSERT_TRUE(client->Txn({}, {etcd::TxnOp::Delete(fence_key)}, {}).ok());
  auto second_term = client->Txn({}, {etcd::TxnOp::Put(fence_key, "new")}, {});
  ASSERT_TRUE(second_term.ok()) << second_term.status().ToString();
  new_leader->SetFence(fence_key, second_term->revision);
  EXPECT_THAT(Rows(*new_leader, ""), ElementsAre(Pair("a", "old")));
  Status s = new_leader->CommitAndWait({Mutation::Put("b", "new")});
  EXPECT_TRUE(s.ok()) << s.ToString();

  // The old leader can write nothing more.
  s = old_leader->CommitAndWait({Mutation::Put("c", "old")});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("lost its leadership"));
  EXPECT_THAT(Rows(*new_leader, ""), ElementsAre(Pair("a", "old"), Pair("b", "new")));

  // Nor may a writer without the fence write over the new leader.
  auto stranger = OpenOrFail(options);
  ASSERT_NE(stranger, nullptr);
  ASSERT_TRUE(new_leader->CommitAndWait({Mutation::Put("d", "new")}).ok());
  s = stranger->CommitAndWait({Mutation::Put("e", "stranger")});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
}

TEST(EtcdStoreTest, FailsOverToTheNextEndpoint) {
  EtcdStoreOptions options = Options();
  // A port nothing listens on first, then a member that is frozen (its
  // requests time out), then the two others.
  const pid_t frozen = SharedEtcdCluster::Get().member_pid(0);
  ASSERT_GT(frozen, 0);
  options.endpoints.insert(options.endpoints.begin(), "127.0.0.1:1");
  options.timeout_seconds = 2;
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(kill(frozen, SIGSTOP), 0);
  Status s = store->CommitAndWait({Mutation::Put("k", "v")});
  std::vector<std::pair<std::string, std::string>> rows = Rows(*store, "");
  kill(frozen, SIGCONT);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_THAT(rows, ElementsAre(Pair("k", "v")));
}

// The index of the member that leads the cluster (its endpoint's index).
int LeaderIndex(const std::vector<std::string>& endpoints) {
  for (size_t i = 0; i < endpoints.size(); ++i) {
    auto [host, port] = *http::SplitHostPort(endpoints[i]);
    auto client = http::Client::Create(host, port, 5);
    http::Request request;
    request.method = "POST";
    request.target = "/v3/maintenance/status";
    request.body = "{}";
    StatusOr<http::Response> response = client->Do(request);
    if (!response.ok()) continue;
    boost::json::object status = boost::json::parse(response->body).as_object();
    if (status["leader"] == status["header"].as_object()["member_id"]) return static_cast<int>(i);
  }
  return -1;
}

TEST(EtcdStoreTest, CommitsAndScansThroughALeaderElection) {
  EtcdStoreOptions options = Options();
  options.timeout_seconds = 2;
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CommitAndWait({Mutation::Put("before", "v")}).ok());
  const int leader = LeaderIndex(options.endpoints);
  ASSERT_GE(leader, 0);
  // The leader freezes: the two others elect one of them; meanwhile
  // requests time out or hear "no leader", and move on or retry.
  const pid_t frozen = SharedEtcdCluster::Get().member_pid(leader);
  ASSERT_EQ(kill(frozen, SIGSTOP), 0);
  Status s = store->CommitAndWait({Mutation::Put("during", "v")});
  std::vector<std::pair<std::string, std::string>> rows = Rows(*store, "");
  kill(frozen, SIGCONT);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_THAT(rows, ElementsAre(Pair("before", "v"), Pair("during", "v")));
}

TEST(EtcdStoreTest, ErrorsNameTheEndpoint) {
  EtcdStoreOptions options = Options();
  options.endpoints = {"127.0.0.1:1"};
  StatusOr<std::unique_ptr<EtcdStore>> store = OpenEtcdStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("store etcd://127.0.0.1:1" + options.root +
                                                  ": read schema version: etcd "
                                                  "127.0.0.1:1: range: connect 127.0.0.1:1"));
}

TEST(EtcdClientTest, LeaseGrantKeepAliveRevoke) {
  auto client = RawClient();
  StatusOr<etcd::Lease> lease = client->LeaseGrant(30);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_EQ(lease->ttl_seconds, 30);
  const std::string key = FreshRoot() + "leased";
  ASSERT_TRUE(client->Txn({}, {etcd::TxnOp::Put(key, "x", lease->id)}, {}).ok());
  StatusOr<int64_t> ttl = client->LeaseKeepAlive(lease->id);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 30);
  ASSERT_TRUE(client->LeaseRevoke(lease->id).ok());
  auto gone = client->Range(etcd::RangeRequest::OneKey(key));
  ASSERT_TRUE(gone.ok());
  EXPECT_THAT(gone->kvs, IsEmpty());  // revoking deletes the lease's keys
  EXPECT_EQ(client->LeaseKeepAlive(lease->id).status().code(), StatusCode::kNotFound);
}

TEST(EtcdStoreTest, SpeaksTlsWithAClientCertificate) {
  TempDir dir;
  const std::string certs = dir.path() + "/certs";  // made by the script
  EtcdCluster cluster({"--tls", certs});
  ASSERT_NO_FATAL_FAILURE(cluster.Start());
  EtcdStoreOptions options = Options();
  options.endpoints = cluster.endpoints();
  options.ca_file = certs + "/ca.pem";
  options.cert_file = certs + "/client.pem";
  options.key_file = certs + "/client-key.pem";
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CommitAndWait({Mutation::Put("k", "v")}).ok());
  EXPECT_THAT(Rows(*store, ""), ElementsAre(Pair("k", "v")));

  // Without the client certificate the members refuse the handshake.
  options.cert_file.clear();
  options.key_file.clear();
  options.endpoints.resize(1);
  StatusOr<std::unique_ptr<EtcdStore>> refused = OpenEtcdStore(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("etcd " + options.endpoints[0]));
  // A plain client gets nowhere either.
  options.ca_file.clear();
  refused = OpenEtcdStore(options);
  ASSERT_FALSE(refused.ok());
}

TEST(EtcdStoreUrlTest, Parses) {
  auto options = ParseEtcdStoreUrl("etcd://h1:2379,h2:2379,[::1]:2379");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(options->endpoints, ElementsAre("h1:2379", "h2:2379", "[::1]:2379"));
  EXPECT_EQ(options->root, "/berth/");
  options = ParseEtcdStoreUrl("etcd://h1:2379/prod");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->root, "/prod/");
  EXPECT_FALSE(ParseEtcdStoreUrl("etcd://").ok());
  EXPECT_FALSE(ParseEtcdStoreUrl("sqlite:x").ok());
}

}  // namespace
}  // namespace berth::store
