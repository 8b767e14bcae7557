// The behaviour every Store backend shares, as a type-parameterized suite:
// a test binary instantiates it for its backends with
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, StoreTest, ::testing::Types<...>);
// where each type has `static std::unique_ptr<Store> Open(const TempDir&)`
// (store_test.cc: memory and SQLite; etcd/etcd_store_test.cc: etcd).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/store.h"
#include "store/store_test_util.h"

namespace berth::store {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using testing::ScanAll;
using testing::TempDir;

template <typename Backend>
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Backend::Open(dir_);
    ASSERT_NE(store_, nullptr);
  }

  // Keys and values under prefix, in the order Scan gave them.
  std::vector<std::pair<std::string, std::string>> Rows(std::string_view prefix) {
    std::vector<std::pair<std::string, std::string>> rows;
    Status s = store_->Scan(prefix, [&](std::string_view key, std::string_view value) {
      rows.emplace_back(key, value);
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return rows;
  }

  void Put(std::string key, std::string value) {
    Status s = store_->CommitAndWait({Mutation::Put(std::move(key), std::move(value))});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TYPED_TEST_SUITE_P(StoreTest);

TYPED_TEST_P(StoreTest, PutIsVisibleToScan) {
  this->Put("clusters/trn1", R"({"clusterName":"trn1"})");
  EXPECT_THAT(this->Rows("clusters/"),
              ElementsAre(Pair("clusters/trn1", R"({"clusterName":"trn1"})")));
}

TYPED_TEST_P(StoreTest, PutReplacesValue) {
  this->Put("k", "old");
  this->Put("k", "new");
  EXPECT_THAT(this->Rows(""), ElementsAre(Pair("k", "new")));
}

TYPED_TEST_P(StoreTest, EmptyAndBinaryValuesRoundTrip) {
  const std::string binary("\0\xff\x01 \n\0", 6);
  this->Put("empty", "");
  this->Put("binary", binary);
  EXPECT_THAT(this->Rows(""), ElementsAre(Pair("binary", binary), Pair("empty", "")));
}

TYPED_TEST_P(StoreTest, DeleteRemovesKey) {
  this->Put("a/1", "x");
  this->Put("a/2", "y");
  ASSERT_TRUE(this->store_->CommitAndWait({Mutation::Delete("a/1")}).ok());
  EXPECT_THAT(this->Rows("a/"), ElementsAre(Pair("a/2", "y")));
}

TYPED_TEST_P(StoreTest, DeleteOfMissingKeySucceeds) {
  Status s = this->store_->CommitAndWait({Mutation::Delete("never/written")});
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TYPED_TEST_P(StoreTest, PrefixScanStopsAtItsBoundaries) {
  // "a0" and "a." sort right after and before "a/..." ('.' < '/' < '0').
  for (const char* key : {"a", "a.", "a/", "a/1", "a/2/x", "a0", "b/", "a/\xff"})
    this->Put(key, "v");
  std::vector<std::string> keys;
  for (const auto& [key, value] : this->Rows("a/")) keys.push_back(key);
  EXPECT_THAT(keys, ElementsAre("a/", "a/1", "a/2/x", "a/\xff"));
}

TYPED_TEST_P(StoreTest, PrefixIsNotAPattern) {
  this->Put("a_b", "v");
  this->Put("a%b", "v");
  this->Put("axb", "v");
  EXPECT_THAT(this->Rows("a_"), ElementsAre(Pair("a_b", "v")));
  EXPECT_THAT(this->Rows("a%"), ElementsAre(Pair("a%b", "v")));
}

TYPED_TEST_P(StoreTest, ScanOrdersBytesAsUnsigned) {
  // 0xff would sort first as a signed char; etcd and SQLite put it last.
  this->Put("k\xff", "3");
  this->Put("k\x7f", "2");
  this->Put("k", "1");
  this->Put("\xff\xff", "4");
  std::vector<std::string> keys;
  for (const auto& [key, value] : this->Rows("")) keys.push_back(key);
  EXPECT_THAT(keys, ElementsAre("k", "k\x7f", "k\xff", "\xff\xff"));
  // A prefix of only 0xff bytes has no end key; the scan runs to the end.
  EXPECT_THAT(this->Rows("\xff"), ElementsAre(Pair("\xff\xff", "4")));
}

TYPED_TEST_P(StoreTest, ScanOfEmptyRangeCallsNothing) {
  this->Put("b/1", "v");
  EXPECT_THAT(this->Rows("a/"), IsEmpty());
}

TYPED_TEST_P(StoreTest, BatchWithEmptyKeyFailsAndChangesNothing) {
  Status s = this->store_->CommitAndWait({Mutation::Put("ok/1", "v"), Mutation::Put("", "v")});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("empty key"));
  EXPECT_THAT(this->Rows(""), IsEmpty());
}

TYPED_TEST_P(StoreTest, EmptyBatchSucceeds) { EXPECT_TRUE(this->store_->CommitAndWait({}).ok()); }

TYPED_TEST_P(StoreTest, BatchIsSeenWholeOrNotAtAll) {
  // A writer moves three keys to the same value in each batch (and deletes
  // one of them on the way); a concurrent reader must never see a mix.
  std::atomic<bool> stop = false;
  std::atomic<int> scans = 0;
  std::thread writer([&] {
    // Start once the reader runs, so that the two overlap even on a loaded
    // machine where the memory store could finish before the reader starts.
    while (scans == 0) std::this_thread::yield();
    for (int i = 0; i < 300; ++i) {
      std::string v = std::to_string(i);
      Batch batch = {Mutation::Put("t/x", v), Mutation::Delete("t/y"), Mutation::Put("t/y", v),
                     Mutation::Put("t/z", v)};
      Status s = this->store_->CommitAndWait(std::move(batch));
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    stop = true;
  });
  while (!stop) {
    std::map<std::string, std::string> rows;
    ASSERT_TRUE(ScanAll(*this->store_, "t/", &rows).ok());
    ++scans;
    if (rows.empty()) continue;
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows["t/x"], rows["t/y"]);
    EXPECT_EQ(rows["t/x"], rows["t/z"]);
  }
  writer.join();
  EXPECT_GT(scans, 0);
  EXPECT_THAT(this->Rows("t/"),
              ElementsAre(Pair("t/x", "299"), Pair("t/y", "299"), Pair("t/z", "299")));
}

TYPED_TEST_P(StoreTest, ConcurrentCommitsApplyInQueueOrder) {
  // Each thread queues increasing values for its own key without waiting, so
  // many of them share a group; the last one queued must be the one kept, and
  // each thread's callbacks must run in the order it queued.
  constexpr int kThreads = 8;
  constexpr int kCommits = 500;
  std::mutex mu;
  std::condition_variable all_done;
  int pending = kThreads * kCommits;
  std::vector<std::vector<int>> acked(kThreads);  // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 1; i <= kCommits; ++i) {
        char value[16];
        std::snprintf(value, sizeof value, "%06d", i);
        this->store_->Commit({Mutation::Put("order/" + std::to_string(t), value)},
                             [&, t, i](Status s) {
                               EXPECT_TRUE(s.ok()) << s.ToString();
                               std::lock_guard lock(mu);
                               acked[t].push_back(i);
                               if (--pending == 0) all_done.notify_all();
                             });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  {
    std::unique_lock lock(mu);
    all_done.wait(lock, [&] { return pending == 0; });
  }
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(acked[t].size(), size_t{kCommits});
    for (int i = 0; i < kCommits; ++i) ASSERT_EQ(acked[t][i], i + 1) << "thread " << t;
  }
  std::map<std::string, std::string> rows;
  ASSERT_TRUE(ScanAll(*this->store_, "order/", &rows).ok());
  ASSERT_EQ(rows.size(), size_t{kThreads});
  for (const auto& [key, value] : rows) EXPECT_EQ(value, "000500") << key;
}

TYPED_TEST_P(StoreTest, CloseCommitsWhatIsQueued) {
  std::atomic<int> ok = 0;
  for (int i = 0; i < 100; ++i) {
    this->store_->Commit({Mutation::Put("q/" + std::to_string(i), "v")}, [&](Status s) {
      if (s.ok()) ++ok;
    });
  }
  this->store_->Close();
  EXPECT_EQ(ok.load(), 100);
}

TYPED_TEST_P(StoreTest, CallsAfterCloseFail) {
  this->store_->Close();
  this->store_->Close();  // idempotent
  Status s = this->store_->CommitAndWait({Mutation::Put("k", "v")});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("closed"));
  Status scan = this->store_->Scan("", [](std::string_view, std::string_view) {});
  EXPECT_EQ(scan.code(), StatusCode::kUnavailable) << scan.ToString();
}

REGISTER_TYPED_TEST_SUITE_P(StoreTest, PutIsVisibleToScan, PutReplacesValue,
                            EmptyAndBinaryValuesRoundTrip, DeleteRemovesKey,
                            DeleteOfMissingKeySucceeds, PrefixScanStopsAtItsBoundaries,
                            PrefixIsNotAPattern, ScanOrdersBytesAsUnsigned,
                            ScanOfEmptyRangeCallsNothing, BatchWithEmptyKeyFailsAndChangesNothing,
                            EmptyBatchSucceeds, BatchIsSeenWholeOrNotAtAll,
                            ConcurrentCommitsApplyInQueueOrder, CloseCommitsWhatIsQueued,
                            CallsAfterCloseFail);

}  // namespace berth::store
