#include "registry/blob_sync_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/fault_injection_env.h"

namespace berth::registry {
namespace {

namespace fs = std::filesystem;

class BlobSyncQueueTest : public ::testing::Test {
 protected:
  BlobSyncQueueTest() {
    std::string pattern = (fs::temp_directory_path() / "berth-sync-queue-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();  // nothing to test without it
    root_ = pattern;
    for (const char* dir : {"a", "b", "c"}) fs::create_directories(root_ + "/" + dir);
  }
  ~BlobSyncQueueTest() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  std::string Dir(const char* name) const { return root_ + "/" + name; }

  // A change listing dirs whose outcome lands in *outcome.
  DurableChange Change(std::vector<std::string> dirs, Status* outcome,
                       std::function<Status()> apply = nullptr) {
    return {std::move(apply), std::move(dirs), [outcome](Status s) { *outcome = std::move(s); }};
  }

  std::string root_;
  FaultInjectionEnv env_{Env::Default()};
};

TEST_F(BlobSyncQueueTest, AGroupSyncsEachDirectoryOnceAfterEveryApply) {
  std::mutex mu;
  std::vector<std::string> seen;  // what each apply saw, in any order (they run at once)
  auto apply = [&](std::string name) {
    return [&, name] {
      std::lock_guard lock(mu);
      seen.push_back(name + " with " + std::to_string(env_.calls(FaultInjectionEnv::Op::kSyncDir)) +
                     " syncs");
      return Status::Ok();
    };
  };
  Status first = Internal("not called"), second = first, third = first;
  std::vector<DurableChange> group;
  group.push_back(Change({Dir("a"), Dir("b")}, &first, apply("apply 1")));
  group.push_back(Change({Dir("a")}, &second, apply("apply 2")));
  group.push_back(Change({Dir("b")}, &third));

  BlobSyncQueue::CommitGroup(env_, group);

  // Both applies ran before any directory sync; a and b were synced once
  // each although three changes listed them.
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"apply 1 with 0 syncs", "apply 2 with 0 syncs"}));
  EXPECT_EQ(env_.calls(FaultInjectionEnv::Op::kSyncDir), 2);
  EXPECT_TRUE(first.ok()) << first.ToString();
  EXPECT_TRUE(second.ok()) << second.ToString();
  EXPECT_TRUE(third.ok()) << third.ToString();
}

TEST_F(BlobSyncQueueTest, AFailedDirectorySyncFailsExactlyTheChangesThatListedIt) {
  env_.Fail(FaultInjectionEnv::Op::kSyncDir, Dir("b"), EIO, 1);
  Status on_a = Internal("not called"), on_b = on_a, on_both = on_a;
  std::vector<DurableChange> group;
  group.push_back(Change({Dir("a")}, &on_a));
  group.push_back(Change({Dir("b")}, &on_b));
  group.push_back(Change({Dir("a"), Dir("b")}, &on_both));

  BlobSyncQueue::CommitGroup(env_, group);

  EXPECT_TRUE(on_a.ok()) << on_a.ToString();
  EXPECT_FALSE(on_b.ok());
  EXPECT_NE(on_b.message().find(Dir("b")), std::string::npos) << on_b.ToString();
  EXPECT_EQ(on_both.message(), on_b.message());
}

TEST_F(BlobSyncQueueTest, AFailedApplyFailsItsChangeAloneAndSyncsNothingForIt) {
  Status failed = Internal("not called"), fine = failed;
  std::vector<DurableChange> group;
  group.push_back(Change({Dir("c")}, &failed, [] { return Internal("fsync data: EIO"); }));
  group.push_back(Change({Dir("a")}, &fine));

  BlobSyncQueue::CommitGroup(env_, group);

  EXPECT_EQ(failed.message(), "fsync data: EIO");
  EXPECT_TRUE(fine.ok()) << fine.ToString();
  EXPECT_EQ(env_.calls(FaultInjectionEnv::Op::kSyncDir), 1);  // a, not c
}

TEST_F(BlobSyncQueueTest, QueuedChangesAreDoneOnTheQueueThreadAndDestructionFinishesThem) {
  constexpr int kChanges = 50;
  std::vector<std::promise<std::thread::id>> done(kChanges);
  std::vector<std::future<std::thread::id>> on(kChanges);
  for (int i = 0; i < kChanges; ++i) on[i] = done[i].get_future();
  {
    BlobSyncQueue queue(&env_);
    for (int i = 0; i < kChanges; ++i) {
      queue.Push({nullptr, {Dir(i % 2 ? "a" : "b")}, [&done, i](Status s) {
                    EXPECT_TRUE(s.ok()) << s.ToString();
                    done[i].set_value(std::this_thread::get_id());
                  }});
    }
  }  // destroyed with changes possibly still queued
  for (auto& future : on) {
    ASSERT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    EXPECT_NE(future.get(), std::this_thread::get_id());
  }
}

}  // namespace
}  // namespace berth::registry
