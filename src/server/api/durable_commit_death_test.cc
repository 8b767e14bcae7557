// A commit that the store cannot make durable ends the server before any
// reply that depends on it is sent: memory already holds the change, and
// answering would show clients state that a restart takes back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json/object.hpp>
#include <cstdio>
#include <optional>
#include <string>

#include "awsjson/commit_tracker.h"
#include "server/api/ecs_api.h"
#include "store/fault_injection_store.h"
#include "store/store.h"
#include "store/store_test_util.h"

namespace berth::server::api {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Runs CreateCluster against an EcsApi whose SQLite store fails every
// commit from then on, and waits for the reply as the HTTP endpoint does
// (CommitTracker::WhenDurable), printing when it would be sent.
void CreateClusterWhileCommitsFail(const std::string& path) {
  auto sqlite = store::OpenSqliteStore(path);
  if (!sqlite.ok()) {
    std::fprintf(stderr, "cannot open the store: %s\n", sqlite.status().ToString().c_str());
    return;
  }
  store::FaultInjectionStore store(std::move(*sqlite));
  awsjson::CommitTracker tracker;
  EcsApi ecs(store, tracker, ArnScope{});
  if (Status loaded = ecs.Load(); !loaded.ok()) {
    std::fprintf(stderr, "cannot load: %s\n", loaded.ToString().c_str());
    return;
  }
  store.FailCommits(Unavailable("disk I/O error: fsync of the write-ahead log failed"));
  boost::json::object input{{"clusterName", "train"}};
  Reply reply = ecs.Call("CreateCluster", input, CallContext{"AKIDEXAMPLE", 1000});
  tracker.WhenDurable(reply.commit_seq, [] { std::fprintf(stderr, "reply acknowledged\n"); });
  store.Close();  // waits for the store's thread, which runs the failed commit's callback
  std::fprintf(stderr, "server still running\n");
}

TEST(DurableCommitDeathTest, AFailedCommitEndsTheServerWithoutAcknowledgingTheReply) {
  // Re-executes the test binary for the dying part: the store has threads.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The re-executed child runs this body too: it takes the parent's folder
  // from the environment instead of making one it could never remove.
  constexpr const char* kDirVariable = "BERTH_DEATH_TEST_DIR";
  std::optional<store::testing::TempDir> made;
  std::string dir;
  if (const char* inherited = std::getenv(kDirVariable)) {
    dir = inherited;
  } else {
    dir = made.emplace().path();
    ::setenv(kDirVariable, dir.c_str(), 1);
  }
  EXPECT_DEATH(CreateClusterWhileCommitsFail(dir + "/berth.db"),
               AllOf(HasSubstr("durable commit failed; stopping"),
                     HasSubstr("fsync of the write-ahead log failed"),
                     Not(HasSubstr("reply acknowledged"))));
  ::unsetenv(kDirVariable);
}

}  // namespace
}  // namespace berth::server::api
