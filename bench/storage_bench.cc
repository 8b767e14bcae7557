// berth_storage_bench: the durable write paths under berth's APIs, each
// beside a floor measured in the same run on the same disk, because these
// machines are noisy:
//
//   blob-upload   a registry blob upload (write + sha256 while streaming,
//                 then CompleteUpload's fsync and rename) against writing
//                 the same bytes to a plain file and fsyncing it;
//   group-commit  durable single-key commits to the SQLite store from 1 and
//                 from 64 committers against a bare write + fdatasync loop
//                 (what one commit per fsync would give).
//
// Run by bench/run_storage.sh; prints one line per figure with its ratio.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "registry/blob_store.h"
#include "registry/digest.h"
#include "store/store.h"

namespace berth::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

[[noreturn]] void Die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "berth_storage_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

std::string RandomBytes(size_t n) {
  std::mt19937_64 random(42);
  std::string out(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = random();
    std::memcpy(&out[i], &v, 8);
  }
  return out;
}

// The floor: the same bytes written to a plain file in the same pieces and
// fsynced once, no hashing.
double PlainWriteMBps(const std::string& dir, const std::string& piece, uint64_t total) {
  std::string path = dir + "/plain";
  SteadyClock::time_point start = SteadyClock::now();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) Die("open " + path, Internal(std::strerror(errno)));
  for (uint64_t done = 0; done < total; done += piece.size()) {
    if (::write(fd, piece.data(), piece.size()) != static_cast<ssize_t>(piece.size())) {
      Die("write " + path, Internal(std::strerror(errno)));
    }
  }
  if (::fsync(fd) != 0) Die("fsync " + path, Internal(std::strerror(errno)));
  ::close(fd);
  double seconds = SecondsSince(start);
  std::filesystem::remove(path);
  return static_cast<double>(total) / 1e6 / seconds;
}

double BlobUploadMBps(registry::BlobStore& blobs, const std::string& piece, uint64_t total) {
  registry::DigestHasher hasher("sha256");
  for (uint64_t done = 0; done < total; done += piece.size()) hasher.Update(piece);
  registry::Digest expected = hasher.Finish();
  SteadyClock::time_point start = SteadyClock::now();
  StatusOr<std::string> id = blobs.StartUpload();
  if (!id.ok()) Die("start upload", id.status());
  StatusOr<std::unique_ptr<registry::UploadWriter>> writer = blobs.OpenUpload(*id, 0);
  if (!writer.ok()) Die("open upload", writer.status());
  for (uint64_t done = 0; done < total; done += piece.size()) {
    if (Status s = (*writer)->Write(piece); !s.ok()) Die("write upload", s);
  }
  if (Status s = (*writer)->Close(); !s.ok()) Die("close upload", s);
  StatusOr<registry::BlobInfo> info = blobs.CompleteUpload(*id, expected);
  if (!info.ok()) Die("complete upload", info.status());
  double seconds = SecondsSince(start);
  (void)blobs.Delete(expected);
  return static_cast<double>(total) / 1e6 / seconds;
}

void BlobUpload(const std::string& dir, uint64_t mib) {
  StatusOr<std::unique_ptr<registry::BlobStore>> blobs = registry::BlobStore::Open(dir + "/blobs");
  if (!blobs.ok()) Die("open blob store", blobs.status());
  const uint64_t total = mib << 20;
  for (size_t piece_size : {size_t{1} << 20, size_t{16} << 10}) {  // 16 KiB: HTTP body pieces
    std::string piece = RandomBytes(piece_size);
    double floor = PlainWriteMBps(dir, piece, total);
    double berth = BlobUploadMBps(**blobs, piece, total);
    std::printf(
        "blob-upload  %4llu MiB in %4zu KiB pieces: %6.0f MB/s  plain write+fsync %6.0f MB/s"
        "  ratio %.2f\n",
        static_cast<unsigned long long>(mib), piece_size >> 10, berth, floor, berth / floor);
  }
}

// fdatasync after each 100-byte append: the rate of commits without grouping.
double FsyncRate(const std::string& dir, double seconds) {
  std::string path = dir + "/fsync";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (fd < 0) Die("open " + path, Internal(std::strerror(errno)));
  std::string record(100, 'v');
  int64_t n = 0;
  SteadyClock::time_point start = SteadyClock::now();
  while (SecondsSince(start) < seconds) {
    if (::write(fd, record.data(), record.size()) < 0 || ::fdatasync(fd) != 0) {
      Die("write+fdatasync " + path, Internal(std::strerror(errno)));
    }
    ++n;
  }
  double rate = static_cast<double>(n) / SecondsSince(start);
  ::close(fd);
  std::filesystem::remove(path);
  return rate;
}

double CommitRate(store::Store& store, int committers, double seconds) {
  std::atomic<int64_t> commits = 0;
  std::atomic<bool> stop = false;
  std::vector<std::thread> threads;
  SteadyClock::time_point start = SteadyClock::now();
  for (int t = 0; t < committers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        std::string key = "bench/" + std::to_string(committers) + "/" + std::to_string(t) + "/" +
                          std::to_string(i);
        Status s =
            store.CommitAndWait({store::Mutation::Put(std::move(key), std::string(100, 'v'))});
        if (!s.ok()) Die("commit", s);
        ++commits;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& thread : threads) thread.join();
  return static_cast<double>(commits) / SecondsSince(start);
}

void GroupCommit(const std::string& dir, double seconds) {
  StatusOr<std::unique_ptr<store::Store>> store = store::OpenSqliteStore(dir + "/store.db");
  if (!store.ok()) Die("open store", store.status());
  double floor = FsyncRate(dir, seconds);
  for (int committers : {1, 64}) {
    double rate = CommitRate(**store, committers, seconds);
    std::printf(
        "group-commit %2d committers: %8.0f durable commits/s  write+fdatasync %6.0f/s"
        "  ratio %.2f\n",
        committers, rate, floor, rate / floor);
  }
  (*store)->Close();
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) {
  CLI::App app{"berth's durable write paths against the disk's own floor"};
  std::string dir;
  uint64_t mib = 256;
  double seconds = 2;
  std::vector<std::string> only;
  app.add_option("--dir", dir, "scratch folder on the disk to measure (emptied)")->required();
  app.add_option("--upload-mib", mib, "size of the blob upload")->capture_default_str();
  app.add_option("--seconds", seconds, "length of each commit-rate run")->capture_default_str();
  app.add_option("--only", only, "blob-upload and/or group-commit (default both)");
  CLI11_PARSE(app, argc, argv);
  auto wanted = [&](const std::string& name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  std::filesystem::create_directories(dir);
  if (wanted("blob-upload")) berth::bench::BlobUpload(dir, mib);
  if (wanted("group-commit")) berth::bench::GroupCommit(dir, seconds);
  return 0;
}
