// Kills a process that is committing and checks what survives: every
// acknowledged commit, and every batch whole or not at all.
//
// SIGKILL loses what the process had not handed to the kernel; it does not
// lose the page cache, so this tests the store's own write ordering and
// acknowledgements, not the disk's fsync (a power loss would).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "store/store_test_util.h"

namespace berth::store {
namespace {

using testing::TempDir;

constexpr int kCommitterThreads = 8;
constexpr int kMaxAcksPerRound = 20000;
constexpr auto kRoundDuration = std::chrono::milliseconds(300);

// One acknowledgement on the pipe: kind ('k' single key, 'b' three-key batch),
// eight digits, newline. Ten bytes, below PIPE_BUF, so concurrent writes do
// not interleave.
constexpr size_t kAckSize = 10;

std::string KeyNumber(int64_t n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08lld", static_cast<long long>(n));
  return buf;
}

void WriteAck(int fd, char kind, int64_t n) {
  std::string ack = kind + KeyNumber(n) + "\n";
  // A failed write means the parent is gone; the parent judges from what it
  // read, so there is nothing useful to do about it here.
  (void)!write(fd, ack.data(), ack.size());
}

// The child: commits until killed. first numbers this round's keys so that
// rounds on the same database do not overwrite each other.
[[noreturn]] void RunChild(const std::string& path, int ack_fd, int64_t first) {
  StatusOr<std::unique_ptr<Store>> opened = OpenSqliteStore(path);
  if (!opened.ok()) {
    std::fprintf(stderr, "child: %s\n", opened.status().ToString().c_str());
    _exit(2);
  }
  Store& store = **opened;
  std::atomic<int64_t> next = first;
  std::vector<std::thread> threads;
  for (int t = 0; t < kCommitterThreads; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        int64_t n = next++;
        Batch batch;
        char kind;
        if (t % 2 == 0) {
          kind = 'k';
          batch = {Mutation::Put("k/" + KeyNumber(n), "v")};
        } else {
          kind = 'b';
          std::string base = "b/" + KeyNumber(n) + "/";
          batch = {Mutation::Put(base + "x", "v"), Mutation::Put(base + "y", "v"),
                   Mutation::Put(base + "z", "v")};
        }
        // The acknowledgement is written from done, as a server would reply.
        store.Commit(std::move(batch), [ack_fd, kind, n](Status s) {
          if (s.ok()) WriteAck(ack_fd, kind, n);
        });
        // Keep a few commits in flight per thread, not an unbounded queue.
        if (n % 4 == 0) (void)store.CommitAndWait({});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();  // never: killed first
  _exit(3);
}

// Kills and reaps the child however the test ends.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (pid_ > 0) KillAndWait();
  }
  // The wait status.
  int KillAndWait() {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

struct Acks {
  std::set<int64_t> keys;
  std::set<int64_t> batches;
};

void ParseAcks(const std::string& bytes, Acks* acks) {
  for (size_t at = 0; at + kAckSize <= bytes.size(); at += kAckSize) {
    int64_t n = std::strtoll(bytes.substr(at + 1, 8).c_str(), nullptr, 10);
    (bytes[at] == 'k' ? acks->keys : acks->batches).insert(n);
  }
}

// One round: a child commits for a while and is killed mid-commit.
void CrashRound(const std::string& path, int64_t first, Acks* acks) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    RunChild(path, fds[1], first);
  }
  close(fds[1]);
  Child child(pid);

  std::string bytes;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + kRoundDuration;
  while (bytes.size() / kAckSize < kMaxAcksPerRound) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd = {fds[0], POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;  // the child died early; its status says why
    bytes.append(buf, n);
  }
  int status = child.KillAndWait();
  // Acknowledgements written before the kill are still in the pipe: they
  // count too.
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) bytes.append(buf, n);
  close(fds[0]);

  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child ended by itself, status " << status;
  ParseAcks(bytes, acks);
}

TEST(SqliteCrashTest, AcknowledgedCommitsSurviveKill) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  Acks acks;
  // Several rounds, so that later ones also recover a database a kill left.
  for (int round = 0; round < 3; ++round) {
    const size_t before = acks.keys.size() + acks.batches.size();
    CrashRound(path, int64_t{round} * 10'000'000, &acks);
    if (HasFatalFailure()) return;
    ASSERT_GT(acks.keys.size() + acks.batches.size(), before) << "round " << round;
  }
  std::printf("[ CRASH    ] %zu single-key and %zu batch commits acknowledged before kills\n",
              acks.keys.size(), acks.batches.size());

  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::set<int64_t> keys;
  ASSERT_TRUE((*store)
                  ->Scan("k/",
                         [&](std::string_view key, std::string_view) {
                           keys.insert(
                               std::strtoll(std::string(key.substr(2)).c_str(), nullptr, 10));
                         })
                  .ok());
  std::map<int64_t, std::string> batch_parts;  // number -> the x/y/z seen
  ASSERT_TRUE((*store)
                  ->Scan("b/",
                         [&](std::string_view key, std::string_view) {
                           int64_t n =
                               std::strtoll(std::string(key.substr(2, 8)).c_str(), nullptr, 10);
                           batch_parts[n] += key.back();
                         })
                  .ok());

  int lost = 0;
  for (int64_t n : acks.keys) {
    if (!keys.count(n) && ++lost <= 5)
      ADD_FAILURE() << "acknowledged k/" << KeyNumber(n) << " lost";
  }
  for (int64_t n : acks.batches) {
    if (!batch_parts.count(n) && ++lost <= 5) {
      ADD_FAILURE() << "acknowledged batch b/" << KeyNumber(n) << " lost";
    }
  }
  EXPECT_EQ(lost, 0);
  for (const auto& [n, parts] : batch_parts) {
    EXPECT_EQ(parts, "xyz") << "batch b/" << KeyNumber(n) << " partly applied";
  }
}

}  // namespace
}  // namespace berth::store
