// Placement-engine benchmark: the pure scheduler (src/scheduler/placement.h)
// over a simulated cluster, single-threaded, no server, no store.
//
//   build/bench/berth_scheduler_bench                 # 10,000 instances, 100,000 placements
//   build/bench/berth_scheduler_bench --quick         # 1,000 instances, 5,000 placements
//
// The cluster: instances across us-east-1a/b/c, 20% trn1.32xlarge (128 vCPU,
// 512 GiB, 16 Neuron devices linked in a ring), 30% trn1.2xlarge (8 vCPU,
// 32 GiB, 1 Neuron device), 50% m5.8xlarge (32 vCPU, 128 GiB, no devices).
// Tasks: 256 CPU units, 512 MiB; every tenth also asks for 1 Neuron device.
// Every request has the memberOf constraint kConstraint and the strategies
// spread(attribute:ecs.availability-zone), binpack(memory).
//
// The engine measured is the long-lived Placer (placement.h): it keeps the
// snapshot, reserves what it places, and is told runningTasksCount after
// each call, as the server would after committing a plan ("apply").
// The baseline, measured in the same run on the same cluster, is the
// reference engine (ReferencePlaceTasks: the engine as first written, a
// snapshot copy, every filter and a full sort per task), kept current with
// ApplyPlacement.
//
// Figures, one line each, with the goal where there is one:
//   copy      the cost of copying the snapshot once (the reference works on a copy)
//   baseline  the reference engine, one task per call (capped: it is slow)
//   count=1   one Placer::PlaceTasks call per task: placements/s, p50/p99 per call
//   count=10  ten tasks per call: placements/s, per-task and per-call p99
//   gang      Placer::PlaceGang of 16 on trn1.32xlarge, same ecs.availability-zone
// Each count line ends with "vs baseline": how many times the reference's
// rate, and the reference's p99 over this p99.
// Each phase stops early at --max-seconds and says how many it did.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/placement.h"
#include "scheduler/placement_step.h"

namespace {

using berth::scheduler::ApplyPlacement;
using berth::scheduler::ClusterSnapshot;
using berth::scheduler::GangPlacement;
using berth::scheduler::PlaceGang;
using berth::scheduler::PlacementRequest;
using berth::scheduler::PlacementResult;
using berth::scheduler::Placer;
using berth::scheduler::PlaceTasks;
using berth::scheduler::ReferencePlaceTasks;
using berth::scheduler::SnapshotInstance;
using berth::scheduler::TaskPlacement;
using Clock = std::chrono::steady_clock;

constexpr double kGoalPlacementsPerSecond = 50000;
constexpr const char* kConstraint =
    "attribute:ecs.instance-type != m5.8xlarge or runningTasksCount < 50";
const char* const kZones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

struct Kind {
  const char* type;
  int vcpu;
  int memory_gib;
  int neuron_devices;
};

ClusterSnapshot BuildCluster(int n) {
  // 20% / 30% / 50%, interleaved so that every zone gets every kind.
  const Kind kinds[] = {
      {"trn1.32xlarge", 128, 512, 16}, {"trn1.2xlarge", 8, 32, 1}, {"m5.8xlarge", 32, 128, 0}};
  ClusterSnapshot snapshot;
  snapshot.instances.reserve(n);
  for (int i = 0; i < n; ++i) {
    const int slot = i % 10;
    const Kind& kind = slot < 2 ? kinds[0] : slot < 5 ? kinds[1] : kinds[2];
    SnapshotInstance inst;
    char id[32];
    std::snprintf(id, sizeof id, "ci-%08d", i);
    inst.facts.id = id;
    inst.facts.arn =
        std::string("arn:aws:ecs:us-east-1:000000000000:container-instance/bench/") + id;
    char ec2[32];
    std::snprintf(ec2, sizeof ec2, "i-%017x", i);
    inst.facts.ec2_instance_id = ec2;
    inst.facts.agent_version = "1.0.0";
    inst.facts.registered_at_millis = 1700000000000LL + i;
    inst.facts.attributes["ecs.availability-zone"] = kZones[(i / 10 + i) % 3];
    inst.facts.attributes["ecs.instance-type"] = kind.type;
    inst.facts.attributes["ecs.os-type"] = "linux";
    inst.facts.attributes["ecs.cpu-architecture"] = "x86_64";
    auto& r = inst.resources;
    r.cpu_registered = r.cpu_remaining = int64_t{kind.vcpu} * 1024;
    r.memory_registered_mib = r.memory_remaining_mib = int64_t{kind.memory_gib} * 1024 - 512;
    r.ports_reserved.tcp = {22, 2375, 2376, 51678, 51679};
    r.neuron.count = kind.neuron_devices;
    if (kind.neuron_devices > 1) {
      const int d = kind.neuron_devices;
      for (int k = 0; k < d; ++k) r.neuron.links[k] = {(k + d - 1) % d, (k + 1) % d};
    }
    snapshot.instances.push_back(std::move(inst));
  }
  return snapshot;
}

PlacementRequest Request(std::string group, int64_t cpu, int64_t memory_mib, int neuron) {
  PlacementRequest r;
  r.cpu = cpu;
  r.memory_mib = memory_mib;
  r.neuron_device_count = neuron;
  r.group = std::move(group);
  r.constraints.push_back({"memberOf", kConstraint});
  r.strategies.push_back({"spread", "attribute:ecs.availability-zone"});
  r.strategies.push_back({"binpack", "memory"});
  return r;
}

// The server's side of a committed plan: reserve on the snapshot and count
// the task on its instance. Apply time is measured apart from decision time.
struct Applier {
  explicit Applier(ClusterSnapshot& s) : snapshot(s) {
    for (size_t i = 0; i < s.instances.size(); ++i) index[s.instances[i].facts.id] = i;
  }
  bool Apply(const PlacementRequest& request, const TaskPlacement& p) {
    berth::Status st = ApplyPlacement(snapshot, request, p);
    if (!st.ok()) {
      std::fprintf(stderr, "ApplyPlacement: %s\n", st.ToString().c_str());
      return false;
    }
    snapshot.instances[index.at(p.instance_id)].facts.running_tasks_count++;
    return true;
  }
  ClusterSnapshot& snapshot;
  std::unordered_map<std::string, size_t> index;
};

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t k = static_cast<size_t>(q * (v.size() - 1) + 0.5);
  return v[std::min(k, v.size() - 1)];
}

const char* Mark(bool met) { return met ? "met" : "MISSED"; }

struct TaskRun {
  long tasks = 0, calls = 0, failures = 0;
  double decide_s = 0, apply_s = 0;
  double neuron_s = 0;  // of decide_s, the calls that ask for a Neuron device
  long neuron_calls = 0;
  std::vector<double> call_us;
  bool stopped_early = false;
};

// `total` tasks in calls of `per_call`; every tenth call (--neuron-every)
// asks for a Neuron device.
int g_neuron_every = 10;  // --neuron-every: every Nth call asks for a Neuron device; 0: none

// With `reference`, the reference engine over a snapshot kept current with
// ApplyPlacement; otherwise one Placer, told runningTasksCount after each call.
TaskRun RunTasks(const ClusterSnapshot& base, long total, int per_call, double max_seconds,
                 uint64_t seed, bool reference = false) {
  ClusterSnapshot snapshot;
  if (reference) snapshot = base;
  Applier applier(snapshot);
  Placer placer(reference ? ClusterSnapshot{} : base);
  std::unordered_map<std::string, int> running;
  const PlacementRequest small = Request("service:web", 256, 512, 0);
  const PlacementRequest neuron = Request("service:neuron-infer", 256, 512, 1);
  std::mt19937_64 rng(seed);
  TaskRun run;
  run.call_us.reserve(total / per_call + 1);
  const auto start = Clock::now();
  while (run.tasks < total) {
    const PlacementRequest& req =
        (g_neuron_every > 0 && run.calls % g_neuron_every == g_neuron_every - 1) ? neuron : small;
    const int count = static_cast<int>(std::min<long>(per_call, total - run.tasks));
    const auto t0 = Clock::now();
    auto result = reference ? ReferencePlaceTasks(snapshot, req, count, rng)
                            : placer.PlaceTasks(req, count, rng);
    const auto t1 = Clock::now();
    if (!result.ok()) {
      std::fprintf(stderr, "PlaceTasks: %s\n", result.status().ToString().c_str());
      std::exit(2);
    }
    for (const TaskPlacement& p : result.value().placements) {
      if (reference) {
        if (!applier.Apply(req, p)) std::exit(2);
      } else if (!placer.SetRunningTasksCount(p.instance_id, ++running[p.instance_id]).ok()) {
        std::exit(2);
      }
    }
    const auto t2 = Clock::now();
    run.decide_s += Seconds(t1 - t0);
    run.apply_s += Seconds(t2 - t1);
    run.call_us.push_back(Micros(t1 - t0));
    if (&req == &neuron) {
      run.neuron_s += Seconds(t1 - t0);
      run.neuron_calls++;
    }
    run.failures += static_cast<long>(result.value().failures.size());
    if (!result.value().failures.empty() && run.failures <= 3) {
      std::fprintf(stderr, "placement failed: %s %s\n", result.value().failures[0].reason.c_str(),
                   result.value().failures[0].detail.c_str());
    }
    run.tasks += count;
    run.calls++;
    if (Seconds(Clock::now() - start) > max_seconds) {
      run.stopped_early = run.tasks < total;
      break;
    }
  }
  return run;
}

void ReportTasks(const char* name, const TaskRun& run, long asked, int per_call, double copy_us,
                 const TaskRun* baseline = nullptr) {
  const double placed = static_cast<double>(run.tasks - run.failures);
  const double rate = placed / (run.decide_s + run.apply_s);
  const double decide_rate = placed / run.decide_s;
  const double p50 = Percentile(run.call_us, 0.50), p99 = Percentile(run.call_us, 0.99);
  const double mean_call = run.decide_s * 1e6 / run.calls;
  std::printf("%s count=%d tasks=%ld/%ld%s calls=%ld failures=%ld decide_s=%.3f apply_s=%.3f\n",
              name, per_call, run.tasks, asked,
              run.stopped_early ? " (stopped at --max-seconds)" : "", run.calls, run.failures,
              run.decide_s, run.apply_s);
  std::printf("  placements_per_s=%.0f (decide+apply)   goal>=%.0f on 2 cores: %s\n", rate,
              kGoalPlacementsPerSecond, Mark(rate >= kGoalPlacementsPerSecond));
  std::printf("  placements_per_s=%.0f (PlaceTasks alone)\n", decide_rate);
  std::printf(
      "  per_call_us p50=%.1f p99=%.1f mean=%.1f   per_task_us p99=%.1f mean=%.1f"
      "   goal p99 per task<=%.1f (1/goal): %s\n",
      p50, p99, mean_call, p99 / per_call, mean_call / per_call, 1e6 / kGoalPlacementsPerSecond,
      Mark(p99 / per_call <= 1e6 / kGoalPlacementsPerSecond));
  std::printf("  mean call / snapshot copy = %.4f (the reference costs at least one copy a call)\n",
              mean_call / copy_us);
  if (baseline != nullptr && baseline->calls > 0) {
    const double base_rate =
        static_cast<double>(baseline->tasks - baseline->failures) / baseline->decide_s;
    const double base_p99_task = Percentile(baseline->call_us, 0.99);  // one task per call
    std::printf(
        "  vs baseline (reference engine, count=1, same run): placements_per_s %.0f vs %.0f"
        " = %.0fx   p99 per task %.1f us vs %.1f us = %.0fx\n",
        decide_rate, base_rate, decide_rate / base_rate, p99 / per_call, base_p99_task,
        base_p99_task / (p99 / per_call));
  }
  const long plain_calls = run.calls - run.neuron_calls;
  if (plain_calls > 0 && run.neuron_calls > 0) {
    const double plain_us = (run.decide_s - run.neuron_s) * 1e6 / plain_calls;
    const double neuron_us = run.neuron_s * 1e6 / run.neuron_calls;
    std::printf(
        "  by request: no devices mean_call_us=%.1f (%.2f copies)   1 Neuron device"
        " mean_call_us=%.1f (%.2f copies); Neuron calls are %ld of %ld and %.0f%% of the time\n",
        plain_us, plain_us / copy_us, neuron_us, neuron_us / copy_us, run.neuron_calls, run.calls,
        100 * run.neuron_s / run.decide_s);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berth placement-engine benchmark"};
  bool quick = false;
  int instances = 10000;
  long placements = 100000;
  int gangs = 1000;
  int gang_size = 16;
  double max_seconds = 60;
  uint64_t seed = 42;
  long baseline_placements = 500;
  double baseline_seconds = 15;
  app.add_flag("--quick", quick, "1,000 instances, 5,000 placements, 50 gangs");
  app.add_option("--instances", instances, "instances in the cluster");
  app.add_option("--placements", placements,
                 "tasks placed in each of the count=1 and count=10 runs");
  app.add_option("--gangs", gangs, "gangs placed");
  app.add_option("--gang-size", gang_size, "tasks per gang");
  app.add_option("--max-seconds", max_seconds, "each phase stops after this long");
  app.add_option("--seed", seed, "generator seed");
  app.add_option("--baseline-placements", baseline_placements,
                 "tasks placed by the reference engine for the baseline (count=1)");
  app.add_option("--baseline-seconds", baseline_seconds, "the baseline stops after this long");
  app.add_option("--neuron-every", g_neuron_every,
                 "every Nth PlaceTasks call asks for 1 Neuron device (0: none), default 10");
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when piped to a file
  if (quick) {
    if (app.count("--instances") == 0) instances = 1000;
    if (app.count("--placements") == 0) placements = 5000;
    if (app.count("--gangs") == 0) gangs = 50;
  }

  const auto b0 = Clock::now();
  const ClusterSnapshot base = BuildCluster(instances);
  std::printf(
      "cluster instances=%d (20%% trn1.32xlarge, 30%% trn1.2xlarge, 50%% m5.8xlarge; 3 zones)"
      " built_s=%.3f\n",
      instances, Seconds(Clock::now() - b0));
  std::printf(
      "constraint memberOf(%s); strategies spread(attribute:ecs.availability-zone), "
      "binpack(memory)\n",
      kConstraint);

  // Baseline: one copy of the snapshot, as PlaceTasks makes per call.
  double copy_us;
  {
    std::vector<double> us;
    for (int i = 0; i < 50; ++i) {
      const auto t0 = Clock::now();
      ClusterSnapshot copy = base;
      const auto t1 = Clock::now();
      us.push_back(Micros(t1 - t0));
      if (copy.instances.size() != base.instances.size()) return 3;
    }
    copy_us = Percentile(us, 0.5);
    std::printf(
        "copy snapshot_copy_us median=%.1f min=%.1f p99=%.1f (%d instances, 50 copies;"
        " copies/s=%.0f at the median)\n",
        copy_us, Percentile(us, 0.0), Percentile(us, 0.99), instances, 1e6 / copy_us);
  }

  // The baseline: the reference engine, one task per call, on the same
  // cluster and requests; capped, since it is about 1,000 times slower.
  const TaskRun baseline =
      RunTasks(base, baseline_placements, 1, std::min(max_seconds, baseline_seconds), seed, true);
  ReportTasks("baseline", baseline, baseline_placements, 1, copy_us);

  // Warm-up: a few calls, unmeasured.
  RunTasks(base, 20, 1, max_seconds, seed);

  const TaskRun one = RunTasks(base, placements, 1, max_seconds, seed);
  ReportTasks("count1", one, placements, 1, copy_us, &baseline);
  const TaskRun ten = RunTasks(base, placements, 10, max_seconds, seed);
  ReportTasks("count10", ten, placements, 10, copy_us, &baseline);

  // Gangs: size ranks on distinct trn1.32xlarge instances of one zone, one
  // Neuron device each (1,000 x 16 ranks fit the 2,000 trn1.32xlarge twice over).
  {
    Placer placer(base);
    std::unordered_map<std::string, int> running;
    PlacementRequest req;
    req.cpu = 4096;
    req.memory_mib = 16384;
    req.neuron_device_count = 1;
    // One training job per gang: its own group, so that distinctInstance
    // (which PlaceGang applies within the group) does not refuse instances
    // that run ranks of earlier gangs.
    req.constraints.push_back({"memberOf", "attribute:ecs.instance-type == trn1.32xlarge"});
    req.strategies.push_back({"spread", "attribute:ecs.availability-zone"});
    req.strategies.push_back({"binpack", "memory"});
    const std::optional<std::string> same = std::string("ecs.availability-zone");
    std::mt19937_64 rng(seed);
    std::vector<double> us;
    double decide_s = 0, apply_s = 0;
    long done = 0, failed = 0;
    bool early = false;
    const auto start = Clock::now();
    for (int g = 0; g < gangs; ++g) {
      req.group = "family:trainer-" + std::to_string(g);
      const auto t0 = Clock::now();
      auto result = placer.PlaceGang(req, gang_size, same, rng);
      const auto t1 = Clock::now();
      if (!result.ok()) {
        std::fprintf(stderr, "PlaceGang: %s\n", result.status().ToString().c_str());
        return 2;
      }
      const GangPlacement& gang = result.value();
      if (gang.failure) {
        if (++failed <= 3) {
          std::fprintf(stderr, "gang failed: %s %s\n", gang.failure->reason.c_str(),
                       gang.failure->detail.c_str());
        }
      }
      for (const TaskPlacement& p : gang.ranks) {
        if (!placer.SetRunningTasksCount(p.instance_id, ++running[p.instance_id]).ok()) return 2;
      }
      const auto t2 = Clock::now();
      decide_s += Seconds(t1 - t0);
      apply_s += Seconds(t2 - t1);
      us.push_back(Micros(t1 - t0));
      ++done;
      if (Seconds(Clock::now() - start) > max_seconds) {
        early = done < gangs;
        break;
      }
    }
    const double rate = (done - failed) / (decide_s + apply_s);
    std::printf("gang size=%d gangs=%ld/%d%s failures=%ld decide_s=%.3f apply_s=%.3f\n", gang_size,
                done, gangs, early ? " (stopped at --max-seconds)" : "", failed, decide_s, apply_s);
    std::printf("  gangs_per_s=%.1f (decide+apply)  ranks_per_s=%.0f   goal>=%.0f ranks/s: %s\n",
                rate, rate * gang_size, kGoalPlacementsPerSecond,
                Mark(rate * gang_size >= kGoalPlacementsPerSecond));
    const double mean = decide_s * 1e6 / std::max<long>(done, 1);
    std::printf("  per_gang_us p50=%.1f p99=%.1f mean=%.1f   mean gang / snapshot copy = %.4f\n",
                Percentile(us, 0.5), Percentile(us, 0.99), mean, mean / copy_us);
  }
  return 0;
}
