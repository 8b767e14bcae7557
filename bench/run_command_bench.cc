// What running a program costs the agent (agent::RunCommand: runc state,
// kill, delete, exec, health checks) beside the floor, a bare posix_spawn
// and waitpid of the same program, in a process shaped like the agent: a
// heap of --rss-mib MiB, touched, and six idle threads. Prints p50 and p90
// of each and their ratio.
//
//   build/bench/berth_run_command_bench [--runs 300] [--rss-mib 20,200]
#include <spawn.h>
#include <sys/wait.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "agent/runtime/run_command.h"

namespace {

constexpr const char* kProgram = "/bin/true";

struct Millis {
  double p50 = 0, p90 = 0;
};

Millis Time(int runs, const std::function<bool()>& once) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (!once()) {
      std::fprintf(stderr, "run_command_bench: %s failed\n", kProgram);
      std::exit(1);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[ms.size() * 9 / 10]};
}

bool BareSpawn() {
  char* argv[] = {const_cast<char*>(kProgram), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, kProgram, nullptr, nullptr, argv, environ) != 0) return false;
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool AgentRun() {
  auto r = berth::agent::RunCommand({kProgram});
  return r.ok() && r->exit_code == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"agent::RunCommand beside a bare posix_spawn"};
  int runs = 300;
  std::vector<int> rss_mib = {20, 200};
  app.add_option("--runs", runs, "runs of each: all of RunCommand's, then the floor's")
      ->check(CLI::Range(10, 100000));
  app.add_option("--rss-mib", rss_mib, "heap sizes to measure at")->delimiter(',');
  CLI11_PARSE(app, argc, argv);

  std::atomic<bool> stop{false};
  std::vector<std::thread> idle;
  for (int i = 0; i < 6; ++i) {
    idle.emplace_back([&stop] {
      while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    });
  }
  std::printf("%-10s %12s %12s %12s %12s %8s\n", "rss MiB", "run p50 ms", "run p90 ms", "floor p50",
              "floor p90", "x_floor");
  for (int mib : rss_mib) {
    std::vector<char> heap(static_cast<size_t>(mib) << 20);
    std::memset(heap.data(), 1, heap.size());
    Millis run = Time(runs, AgentRun);
    Millis floor = Time(runs, BareSpawn);
    std::printf("%-10d %12.3f %12.3f %12.3f %12.3f %8.2f\n", mib, run.p50, run.p90, floor.p50,
                floor.p90, run.p50 / floor.p50);
  }
  stop = true;
  for (std::thread& t : idle) t.join();
}
