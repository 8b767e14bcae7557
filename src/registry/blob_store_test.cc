#include "registry/blob_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "common/crypto.h"
#include "common/fault_injection_env.h"

namespace berth::registry {
namespace {

namespace fs = std::filesystem;

// A fresh directory, removed with everything in it when the test ends,
// whether it passed or not.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "berth-blob-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();  // nothing to test without it
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Digest Sha512Of(std::string_view bytes) {
  DigestHasher hasher("sha512");
  hasher.Update(bytes);
  return hasher.Finish();
}

// Regular files anywhere under dir.
size_t CountFiles(const std::string& dir) {
  size_t count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) ++count;
  }
  return count;
}

size_t CountEntries(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

void SetMtimeSecondsAgo(const std::string& path, int64_t seconds) {
  timespec times[2];
  times[0].tv_sec = ::time(nullptr) - seconds;
  times[0].tv_nsec = 0;
  times[1] = times[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

int64_t MtimeSecondsAgo(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<int64_t>(::time(nullptr)) - static_cast<int64_t>(st.st_mtime);
}

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenStore(); }

  std::unique_ptr<BlobStore> OpenStore() {
    StatusOr<std::unique_ptr<BlobStore>> store = BlobStore::Open(root(), &env_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::string root() const { return dir_.path() + "/store"; }
  std::string blobs() const { return root() + "/blobs"; }
  std::string uploads() const { return root() + "/uploads"; }

  // Appends data as one chunk through a writer of its own, in pieces of
  // piece_size bytes.
  Status AppendChunk(BlobStore& store, const std::string& id, std::string_view data,
                     size_t piece_size = 7) {
    StatusOr<uint64_t> size = store.UploadSize(id);
    if (!size.ok()) return size.status();
    StatusOr<std::unique_ptr<UploadWriter>> writer = store.OpenUpload(id, *size);
    if (!writer.ok()) return writer.status();
    for (size_t i = 0; i < data.size(); i += piece_size) {
      BERTH_RETURN_IF_ERROR((*writer)->Write(data.substr(i, piece_size)));
    }
    return (*writer)->Close();
  }

  std::string StartUpload() {
    StatusOr<std::string> id = store_->StartUpload();
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : std::string();
  }

  TempDir dir_;  // declared first: outlives the store
  FaultInjectionEnv env_{Env::Default()};
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, OpenCreatesTheLayout) {
  EXPECT_TRUE(fs::is_directory(blobs()));
  EXPECT_TRUE(fs::is_directory(uploads()));
  EXPECT_TRUE(OpenStore() != nullptr);  // opening again is fine
}

TEST_F(BlobStoreTest, OpenErrorNamesTheStore) {
  std::string file = dir_.path() + "/file";
  std::fclose(std::fopen(file.c_str(), "w"));
  StatusOr<std::unique_ptr<BlobStore>> store = BlobStore::Open(file + "/store");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().message().rfind("blob store " + file + "/store: ", 0), 0u)
      << store.status().message();
}

TEST_F(BlobStoreTest, PutThenStatAndRead) {
  Digest digest = Digest::Sha256Of("hello");
  ASSERT_TRUE(store_->Put(digest, "hello").ok());

  std::optional<BlobInfo> info = store_->Stat(digest);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 5u);
  EXPECT_EQ(info->path, blobs() + "/sha256/" + digest.hex.substr(0, 2) + "/" + digest.hex);

  StatusOr<std::string> bytes = store_->Read(digest, 5);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, "hello");
  EXPECT_EQ(store_->Read(digest, 4).status().code(), StatusCode::kResourceExhausted);

  EXPECT_TRUE(store_->Put(digest, "hello").ok());  // again: nothing changes
  EXPECT_EQ(CountFiles(blobs()), 1u);
  EXPECT_EQ(CountFiles(root() + "/tmp"), 0u);
}

TEST_F(BlobStoreTest, MissingBlobs) {
  Digest digest = Digest::Sha256Of("absent");
  EXPECT_FALSE(store_->Stat(digest));
  EXPECT_EQ(store_->Read(digest, 100).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete(digest).code(), StatusCode::kNotFound);
}

TEST_F(BlobStoreTest, HandMadeDigestCannotEscapeTheStore) {
  Digest evil{"sha256", "../../../../etc/passwd"};
  EXPECT_FALSE(store_->Stat(evil));
  EXPECT_EQ(store_->Read(evil, 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put(evil, "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Delete(evil).code(), StatusCode::kInvalidArgument);
}

TEST_F(BlobStoreTest, DeleteRemovesTheBlob) {
  Digest digest = Digest::Sha256Of("gone soon");
  ASSERT_TRUE(store_->Put(digest, "gone soon").ok());
  ASSERT_TRUE(store_->Delete(digest).ok());
  EXPECT_FALSE(store_->Stat(digest));
  EXPECT_EQ(CountFiles(blobs()), 0u);
}

TEST_F(BlobStoreTest, PutWithWrongDigestLeavesNothing) {
  Digest claimed = Digest::Sha256Of("what the client said");
  Status status = store_->Put(claimed, "what it sent");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "digest mismatch: expected " + claimed.ToString() + ", got " +
                                  Digest::Sha256Of("what it sent").ToString());
  EXPECT_FALSE(store_->Stat(claimed));
  EXPECT_EQ(CountFiles(blobs()), 0u);
  EXPECT_EQ(CountFiles(root() + "/tmp"), 0u);
}

TEST_F(BlobStoreTest, PutSha512) {
  Digest digest = Sha512Of("manifest");
  ASSERT_TRUE(store_->Put(digest, "manifest").ok());
  std::optional<BlobInfo> info = store_->Stat(digest);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->path, blobs() + "/sha512/" + digest.hex.substr(0, 2) + "/" + digest.hex);
}

TEST_F(BlobStoreTest, ChunkedUploadCompletesToTheDigestOfTheConcatenation) {
  std::string id = StartUpload();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(id, StartUpload());  // random

  StatusOr<uint64_t> size = store_->UploadSize(id);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u);

  std::string big(3 << 20, 'b');  // larger than a writer's buffer
  std::string all;
  for (std::string_view chunk : {std::string_view("first chunk, "), std::string_view(big),
                                 std::string_view("and the last")}) {
    ASSERT_TRUE(AppendChunk(*store_, id, chunk, /*piece_size=*/100000).ok());
    all += chunk;
    size = store_->UploadSize(id);
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, all.size());
  }

  StatusOr<BlobInfo> info = store_->CompleteUpload(id, Digest::Sha256Of(all));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, all.size());
  StatusOr<std::string> bytes = store_->Read(Digest::Sha256Of(all), all.size());
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(*bytes == all);

  EXPECT_EQ(store_->UploadSize(id).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(uploads() + "/" + id));
}

TEST_F(BlobStoreTest, EmptyUpload) {
  std::string id = StartUpload();
  StatusOr<BlobInfo> info = store_->CompleteUpload(id, Digest::Sha256Of(""));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 0u);
}

TEST_F(BlobStoreTest, WriterSizeCountsBufferedBytes) {
  std::string id = StartUpload();
  StatusOr<std::unique_ptr<UploadWriter>> writer = store_->OpenUpload(id, 0);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("12345").ok());
  EXPECT_EQ((*writer)->size(), 5u);
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(*store_->UploadSize(id), 5u);
  EXPECT_EQ((*writer)->Write("more").code(), StatusCode::kFailedPrecondition);
}

TEST_F(BlobStoreTest, OutOfOrderChunkIsRefused) {
  std::string id = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, id, "12345").ok());

  StatusOr<std::unique_ptr<UploadWriter>> writer = store_->OpenUpload(id, 3);
  EXPECT_EQ(writer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(writer.status().message(),
            "upload " + id + ": chunk starts at 3 but the upload has 5 bytes");
  EXPECT_EQ(store_->OpenUpload(id, 9).status().code(), StatusCode::kFailedPrecondition);

  // The refusal released the upload.
  EXPECT_TRUE(store_->OpenUpload(id, 5).ok());
}

TEST_F(BlobStoreTest, OneWriterAtATime) {
  std::string id = StartUpload();
  StatusOr<std::unique_ptr<UploadWriter>> first = store_->OpenUpload(id, 0);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Write("abc").ok());

  EXPECT_EQ(store_->OpenUpload(id, 0).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->CompleteUpload(id, Digest::Sha256Of("abc")).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->CancelUpload(id).code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE((*first)->Close().ok());
  StatusOr<std::unique_ptr<UploadWriter>> second = store_->OpenUpload(id, 3);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_TRUE((*second)->Write("def").ok());
  ASSERT_TRUE((*second)->Close().ok());
  EXPECT_TRUE(store_->CompleteUpload(id, Digest::Sha256Of("abcdef")).ok());
}

TEST_F(BlobStoreTest, WriterDroppedWithoutCloseKeepsItsBytes) {
  std::string id = StartUpload();
  {
    StatusOr<std::unique_ptr<UploadWriter>> writer = store_->OpenUpload(id, 0);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write("abandoned ").ok());
  }  // a client that went away mid-chunk
  EXPECT_EQ(*store_->UploadSize(id), 10u);
  ASSERT_TRUE(AppendChunk(*store_, id, "and resumed").ok());
  EXPECT_TRUE(store_->CompleteUpload(id, Digest::Sha256Of("abandoned and resumed")).ok());
}

TEST_F(BlobStoreTest, CompleteWithWrongDigestRemovesTheUpload) {
  std::string id = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, id, "actual bytes").ok());
  Digest claimed = Digest::Sha256Of("other bytes");

  StatusOr<BlobInfo> info = store_->CompleteUpload(id, claimed);
  EXPECT_EQ(info.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(info.status().message(), "digest mismatch: expected " + claimed.ToString() + ", got " +
                                         Digest::Sha256Of("actual bytes").ToString());
  EXPECT_FALSE(store_->Stat(claimed));
  EXPECT_FALSE(store_->Stat(Digest::Sha256Of("actual bytes")));
  EXPECT_EQ(CountFiles(blobs()), 0u);
  EXPECT_EQ(store_->UploadSize(id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(CountEntries(uploads()), 0u);
}

TEST_F(BlobStoreTest, UploadSurvivesReopeningTheStore) {
  std::string id = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, id, "before the restart, ").ok());

  store_ = OpenStore();  // the hash kept in memory is gone
  StatusOr<uint64_t> size = store_->UploadSize(id);
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, 20u);
  EXPECT_EQ(store_->OpenUpload(id, 0).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(AppendChunk(*store_, id, "and after").ok());

  StatusOr<BlobInfo> info =
      store_->CompleteUpload(id, Digest::Sha256Of("before the restart, and after"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 29u);
}

// The file is changed behind the store's back: completing trusts the hash
// computed while writing (no second read), and after a restart rehashes
// the file and notices.
TEST_F(BlobStoreTest, CompleteUsesTheHashKeptWhileWritingUnlessItWasLost) {
  std::string kept = StartUpload();
  std::string lost = StartUpload();
  for (const std::string& id : {kept, lost}) {
    ASSERT_TRUE(AppendChunk(*store_, id, "original").ok());
    int fd = ::open((uploads() + "/" + id + "/data").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "0", 1, 0), 1);
    ::close(fd);
  }
  EXPECT_TRUE(store_->CompleteUpload(kept, Digest::Sha256Of("original")).ok());

  store_ = OpenStore();
  EXPECT_EQ(store_->CompleteUpload(lost, Digest::Sha256Of("original")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(BlobStoreTest, Sha512Upload) {
  std::string id = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, id, "sha512 ").ok());
  ASSERT_TRUE(AppendChunk(*store_, id, "content").ok());
  Digest digest = Sha512Of("sha512 content");

  StatusOr<BlobInfo> info = store_->CompleteUpload(id, digest);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->path, blobs() + "/sha512/" + digest.hex.substr(0, 2) + "/" + digest.hex);
  EXPECT_EQ(*store_->Read(digest, 100), "sha512 content");
}

TEST_F(BlobStoreTest, ConcurrentCompletesOfTheSameContentAllSucceedWithOneBlob) {
  constexpr int kUploads = 8;
  std::string content(1 << 20, 'x');
  content += "same layer pushed by several clients at once";
  Digest digest = Digest::Sha256Of(content);

  std::vector<std::string> ids;
  for (int i = 0; i < kUploads; ++i) {
    ids.push_back(StartUpload());
    ASSERT_TRUE(AppendChunk(*store_, ids.back(), content, 64 << 10).ok());
  }
  std::latch start(kUploads);
  std::vector<Status> results(kUploads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kUploads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      StatusOr<BlobInfo> info = store_->CompleteUpload(ids[i], digest);
      results[i] = info.status();
      if (info.ok() && info->size != content.size()) results[i] = Internal("wrong size");
    });
  }
  for (std::thread& thread : threads) thread.join();

  for (const Status& result : results) EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(CountFiles(blobs()), 1u);
  EXPECT_EQ(CountEntries(uploads()), 0u);
  EXPECT_EQ(*store_->Read(digest, content.size()), content);
}

// What a reply waits for, from the store's sync thread.
template <typename T>
T Await(std::future<T>& future) {
  EXPECT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  return future.get();
}

TEST_F(BlobStoreTest, AsyncStartAndCompleteOfConcurrentUploadsMakeEveryBlobDurable) {
  constexpr int kUploads = 16;
  std::vector<std::promise<StatusOr<std::string>>> started(kUploads);
  std::vector<std::future<StatusOr<std::string>>> ids;
  for (auto& promise : started) {
    ids.push_back(promise.get_future());
    store_->StartUploadAsync([&promise](StatusOr<std::string> id) { promise.set_value(id); });
  }
  std::vector<std::string> contents;
  std::vector<std::promise<StatusOr<BlobInfo>>> completed(kUploads);
  std::vector<std::future<StatusOr<BlobInfo>>> blobs_done;
  for (int i = 0; i < kUploads; ++i) {
    StatusOr<std::string> id = Await(ids[i]);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    // Started means durable: the upload's folder is there for a restart.
    EXPECT_TRUE(fs::is_regular_file(uploads() + "/" + *id + "/data"));
    contents.push_back("layer " + std::to_string(i) + std::string(100000, 'x'));
    ASSERT_TRUE(AppendChunk(*store_, *id, contents.back(), 4096).ok());
    blobs_done.push_back(completed[i].get_future());
    store_->CompleteUploadAsync(
        *id, Digest::Sha256Of(contents.back()),
        [&completed, i](StatusOr<BlobInfo> blob) { completed[i].set_value(std::move(blob)); });
  }
  int syncs_of_data = 0;
  for (int i = 0; i < kUploads; ++i) {
    StatusOr<BlobInfo> blob = Await(blobs_done[i]);
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
    EXPECT_EQ(blob->size, contents[i].size());
    EXPECT_EQ(*store_->Read(Digest::Sha256Of(contents[i]), 1 << 20), contents[i]);
    ++syncs_of_data;
  }
  // Each upload's data was fsynced before it was acknowledged.
  EXPECT_GE(env_.calls(FaultInjectionEnv::Op::kSync), syncs_of_data);
  EXPECT_EQ(CountEntries(uploads()), 0u);
}

TEST_F(BlobStoreTest, AsyncCompleteThatCannotSyncIsNotAcknowledgedAndLeavesNoBlobBehind) {
  std::string id = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, id, "layer").ok());
  Digest digest = Digest::Sha256Of("layer");
  auto complete = [&] {
    std::promise<StatusOr<BlobInfo>> done;
    std::future<StatusOr<BlobInfo>> result = done.get_future();
    store_->CompleteUploadAsync(id, digest,
                                [&done](StatusOr<BlobInfo> blob) { done.set_value(blob); });
    return Await(result);
  };

  env_.Fail(FaultInjectionEnv::Op::kSync, "/uploads/", EIO, 1);
  StatusOr<BlobInfo> unsynced = complete();
  EXPECT_NE(unsynced.status().message().find("complete upload " + id + ": fsync "),
            std::string::npos)
      << unsynced.status().ToString();
  EXPECT_FALSE(store_->Stat(digest));
  EXPECT_EQ(*store_->UploadSize(id), 5u);

  env_.Fail(FaultInjectionEnv::Op::kSyncDir, "/blobs/", EIO, 1);
  StatusOr<BlobInfo> undirsynced = complete();
  EXPECT_NE(undirsynced.status().message().find("complete upload " + id + ": fsync "),
            std::string::npos)
      << undirsynced.status().ToString();

  env_.ClearFaults();
  std::string again = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, again, "layer").ok());
  id = again;
  StatusOr<BlobInfo> blob = complete();
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_EQ(*store_->Read(digest, 100), "layer");
}

TEST_F(BlobStoreTest, AsyncCompleteWithAWrongDigestOrABusyUploadAnswersAtOnce) {
  std::string id = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, id, "layer").ok());
  StatusOr<std::unique_ptr<UploadWriter>> writer = store_->OpenUpload(id, 5);
  ASSERT_TRUE(writer.ok());
  std::optional<StatusOr<BlobInfo>> busy;
  store_->CompleteUploadAsync(id, Digest::Sha256Of("layer"),
                              [&](StatusOr<BlobInfo> blob) { busy = std::move(blob); });
  ASSERT_TRUE(busy.has_value());  // on this thread, before the call returned
  EXPECT_EQ(busy->status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*writer)->Close().ok());

  std::optional<StatusOr<BlobInfo>> wrong;
  store_->CompleteUploadAsync(id, Digest::Sha256Of("other"),
                              [&](StatusOr<BlobInfo> blob) { wrong = std::move(blob); });
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CountFiles(blobs()), 0u);
}

TEST_F(BlobStoreTest, AnInternalUploadSyncsNothingUntilItCompletes) {
  StatusOr<std::string> id = store_->StartInternalUpload();
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(env_.calls(FaultInjectionEnv::Op::kSyncDir), 0);
  ASSERT_TRUE(AppendChunk(*store_, *id, "monolithic").ok());
  ASSERT_TRUE(store_->CompleteUpload(*id, Digest::Sha256Of("monolithic")).ok());
  EXPECT_EQ(*store_->Read(Digest::Sha256Of("monolithic"), 100), "monolithic");
  EXPECT_GE(env_.calls(FaultInjectionEnv::Op::kSyncDir), 1);  // the blob's folder
}

TEST_F(BlobStoreTest, CancelRemovesTheUpload) {
  std::string id = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, id, "never finished").ok());
  ASSERT_TRUE(store_->CancelUpload(id).ok());
  EXPECT_EQ(store_->UploadSize(id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->OpenUpload(id, 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->CancelUpload(id).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->CompleteUpload(id, Digest::Sha256Of("never finished")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(CountEntries(uploads()), 0u);
}

TEST_F(BlobStoreTest, UnknownAndMalformedUploadIdsAreNotFound) {
  for (std::string id :
       {std::string(32, 'a'), std::string("../../blobs"), std::string(), std::string(32, 'A')}) {
    EXPECT_EQ(store_->UploadSize(id).status().code(), StatusCode::kNotFound) << id;
    EXPECT_EQ(store_->OpenUpload(id, 0).status().code(), StatusCode::kNotFound) << id;
    EXPECT_EQ(store_->CompleteUpload(id, Digest::Sha256Of("")).status().code(),
              StatusCode::kNotFound)
        << id;
    EXPECT_EQ(store_->CancelUpload(id).code(), StatusCode::kNotFound) << id;
  }
}

TEST_F(BlobStoreTest, StatTouchesTheBlobSoThatGcKeepsIt) {
  Digest digest = Digest::Sha256Of("about to be referenced");
  ASSERT_TRUE(store_->Put(digest, "about to be referenced").ok());
  std::string path = store_->Stat(digest)->path;
  SetMtimeSecondsAgo(path, 7200);

  ASSERT_TRUE(store_->Stat(digest));  // a HEAD from a client about to push its manifest
  EXPECT_LT(MtimeSecondsAgo(path), 60);

  StatusOr<GcStats> stats = store_->CollectGarbage([](const Digest&) { return false; },
                                                   /*min_age_seconds=*/3600,
                                                   /*upload_max_age_seconds=*/86400);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->blobs_removed, 0u);
  EXPECT_TRUE(store_->Stat(digest));
}

TEST_F(BlobStoreTest, GcRemovesOldUnreferencedBlobsAndStaleUploads) {
  Digest referenced = Digest::Sha256Of("referenced");
  Digest garbage = Digest::Sha256Of("garbage");
  Digest young = Digest::Sha256Of("young");
  for (const auto& [digest, bytes] : {std::pair(referenced, "referenced"),
                                      std::pair(garbage, "garbage"), std::pair(young, "young")}) {
    ASSERT_TRUE(store_->Put(digest, bytes).ok());
  }
  // Not through Stat, which would touch them.
  auto path_of = [&](const Digest& d) {
    return blobs() + "/sha256/" + d.hex.substr(0, 2) + "/" + d.hex;
  };
  SetMtimeSecondsAgo(path_of(referenced), 7200);
  SetMtimeSecondsAgo(path_of(garbage), 7200);

  std::string stale = StartUpload();
  std::string active = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, stale, "abandoned push").ok());
  SetMtimeSecondsAgo(uploads() + "/" + stale + "/data", 2 * 86400);

  StatusOr<GcStats> stats = store_->CollectGarbage([&](const Digest& d) { return d == referenced; },
                                                   /*min_age_seconds=*/3600,
                                                   /*upload_max_age_seconds=*/86400);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->blobs_removed, 1u);
  EXPECT_EQ(stats->bytes_removed, std::string("garbage").size());
  EXPECT_EQ(stats->blobs_kept, 2u);
  EXPECT_EQ(stats->uploads_removed, 1u);

  EXPECT_FALSE(fs::exists(path_of(garbage)));
  EXPECT_TRUE(store_->Stat(referenced));
  EXPECT_TRUE(store_->Stat(young));
  EXPECT_EQ(store_->UploadSize(stale).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->UploadSize(active).ok());
}

TEST_F(BlobStoreTest, BlobFromALongIdleUploadStartsYoung) {
  std::string id = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, id, "written yesterday").ok());
  SetMtimeSecondsAgo(uploads() + "/" + id + "/data", 86400);
  StatusOr<BlobInfo> info = store_->CompleteUpload(id, Digest::Sha256Of("written yesterday"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_LT(MtimeSecondsAgo(info->path), 60);
}

TEST_F(BlobStoreTest, GcLeavesAnUploadThatIsBeingWritten) {
  std::string id = StartUpload();
  StatusOr<std::unique_ptr<UploadWriter>> writer = store_->OpenUpload(id, 0);
  ASSERT_TRUE(writer.ok());
  SetMtimeSecondsAgo(uploads() + "/" + id + "/data", 2 * 86400);  // a very slow client

  StatusOr<GcStats> stats =
      store_->CollectGarbage([](const Digest&) { return false; }, 3600, 86400);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->uploads_removed, 0u);
  ASSERT_TRUE((*writer)->Write("still here").ok());
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_TRUE(store_->CompleteUpload(id, Digest::Sha256Of("still here")).ok());
}

TEST_F(BlobStoreTest, AFullDiskFailsTheChunkAndTheUploadResumesFromWhereItWas) {
  std::string id = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, id, "first").ok());
  env_.SetFreeSpace(3);
  Status full = AppendChunk(*store_, id, "second chunk");
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(), "blob store " + root() + ": write upload " + id + ": write " +
                                uploads() + "/" + id + "/data: No space left on device");
  // The bytes that fitted were cut off again: the upload holds what was
  // acknowledged, and its hash still matches it.
  EXPECT_EQ(*store_->UploadSize(id), 5u);
  env_.ClearFaults();
  ASSERT_TRUE(AppendChunk(*store_, id, "second chunk").ok());
  StatusOr<BlobInfo> info = store_->CompleteUpload(id, Digest::Sha256Of("firstsecond chunk"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
}

TEST_F(BlobStoreTest, APutThatCannotSyncLeavesNoBlobAndNoTemporaryFile) {
  Digest digest = Digest::Sha256Of("manifest");
  env_.Fail(FaultInjectionEnv::Op::kSync, "/blobs/", EIO, 1);
  Status put = store_->Put(digest, "manifest");
  EXPECT_EQ(put.code(), StatusCode::kInternal);
  EXPECT_EQ(put.message().rfind(
                "blob store " + root() + ": put blob " + digest.ToString() + ": fsync ", 0),
            0u)
      << put.message();
  EXPECT_NE(put.message().find("Input/output error"), std::string::npos);
  EXPECT_FALSE(store_->Stat(digest));
  EXPECT_EQ(CountFiles(blobs()), 0u);
  // Once the disk behaves the same Put succeeds.
  ASSERT_TRUE(store_->Put(digest, "manifest").ok());
  EXPECT_EQ(*store_->Read(digest, 100), "manifest");
}

TEST_F(BlobStoreTest, AFailedSyncOrRenameAtCompletionLeavesNoBlobAndKeepsTheUpload) {
  std::string id = StartUpload();
  ASSERT_TRUE(AppendChunk(*store_, id, "layer").ok());
  Digest digest = Digest::Sha256Of("layer");

  env_.Fail(FaultInjectionEnv::Op::kSync, "/uploads/", EIO, 1);
  StatusOr<BlobInfo> unsynced = store_->CompleteUpload(id, digest);
  EXPECT_EQ(unsynced.status().code(), StatusCode::kInternal);
  EXPECT_NE(unsynced.status().message().find("complete upload " + id + ": fsync "),
            std::string::npos)
      << unsynced.status().message();
  EXPECT_FALSE(store_->Stat(digest));

  env_.Fail(FaultInjectionEnv::Op::kRename, digest.hex, EIO, 1);
  StatusOr<BlobInfo> unrenamed = store_->CompleteUpload(id, digest);
  EXPECT_NE(unrenamed.status().message().find("complete upload " + id + ": rename "),
            std::string::npos)
      << unrenamed.status().message();
  EXPECT_FALSE(store_->Stat(digest));
  EXPECT_EQ(CountFiles(blobs()), 0u);
  EXPECT_EQ(*store_->UploadSize(id), 5u);

  ASSERT_TRUE(store_->CompleteUpload(id, digest).ok());
  EXPECT_EQ(*store_->Read(digest, 100), "layer");
}

TEST_F(BlobStoreTest, GcRemovesWhatACrashedPutLeftBesideTheBlobs) {
  Digest digest = Digest::Sha256Of("kept");
  ASSERT_TRUE(store_->Put(digest, "kept").ok());
  std::string shard = blobs() + "/sha256/" + digest.hex.substr(0, 2);
  std::string leftover = shard + "/" + digest.hex + ".tmp-0123456789abcdef";
  std::fclose(std::fopen(leftover.c_str(), "w"));
  SetMtimeSecondsAgo(leftover, 7200);
  StatusOr<GcStats> stats = store_->CollectGarbage([](const Digest&) { return true; }, 3600, 86400);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_TRUE(store_->Stat(digest));
}

}  // namespace
}  // namespace berth::registry
