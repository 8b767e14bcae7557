// berth_gang_bench: a gang (multi-node training job) on simulated nodes,
// beside plain tasks on the same server and nodes in the same run.
//
// Registers --ranks container instances through the API, each like a
// trn1.32xlarge (128 vCPU, 512 GiB, 16 Neuron devices on a 4x4 torus, one
// zone, a berth.address), joins an agent to each and runs SimulatedAgents
// for all of them (a long poll per instance, every task reported RUNNING,
// or STOPPED, as soon as the server lists it). Every task asks for all 16
// Neuron devices, so each instance holds one rank (or one plain task).
// Then, --repeats times, one after another so that gang and baseline see
// the same machine:
//
//   baseline start    --ranks plain tasks (no gang tag) by RunTask, 10 per
//                     call, all calls at once, until the agents' last
//                     RUNNING report is acknowledged;
//   baseline failure  one of them fails (its agent reports it STOPPED, exit
//                     code 1); as soon as that report is acknowledged, the
//                     client stops the others (StopTask, concurrently) and,
//                     once all are STOPPED, runs --ranks new ones until all
//                     are RUNNING: what a client that reacts at once can get
//                     from the server, the floor for the gang controller;
//   gang start        RunTask of one gang of --ranks (tags berth:gang,
//                     berth:gang-max-restarts=1) until every rank is RUNNING;
//   gang failure      one rank fails the same way; the gang controller stops
//                     the others, waits its restart backoff (2 s) and places
//                     attempt 1: until every other rank is STOPPED, and until
//                     the new attempt's ranks are all RUNNING. The server's
//                     own timestamps (the failed rank's stoppedAt, the other
//                     ranks' stoppingAt and stoppedAt, the attempts' endedAt
//                     and startedAt, the new ranks' startedAt) split that
//                     time into controller passes and agent work.
//
// Between steps everything is stopped (untimed). Prints one line per repeat
// and one per figure (medians), key=value; exits 1 on any error (a failed
// call, poll or report) or when a step does not end within --step-timeout.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "awsjson/client.h"
#include "ecs_calls.h"
#include "http/client.h"
#include "http/endpoint.h"
#include "model/json_util.h"
#include "simulated_agents.h"

namespace berth::bench {
namespace {

namespace json = boost::json;
using model::ArrayOr;
using model::StringOr;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kCluster = "bench-gang";
constexpr std::string_view kFamily = "bench-gang";
constexpr std::string_view kContainer = "train";
constexpr int64_t kPerCall = 10;      // RunTask's count limit for plain tasks
constexpr int kNeuronDevices = 16;    // per instance, and per task
constexpr int kFailExitCode = 1;      // the failed rank's essential container
constexpr int kStopConcurrency = 16;  // StopTask connections
constexpr int64_t kDescribeLimit = 100;

struct Options : SimulatedClusterOptions {
  int64_t ranks = 64;
  int repeats = 5;
  int baseline_concurrency = 0;  // 0: every RunTask call at once
  int64_t restart_backoff_ms = 2000;
  int step_timeout_seconds = 60;
};

// An epoch-seconds timestamp of the server (a number); 0 when absent.
double EpochOr0(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<double>() : 0.0;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// What one repeat measured, in seconds.
struct Repeat {
  double base_start = 0, base_placed = 0;    // plain: all RUNNING; RunTask calls answered
  double base_stop = 0, base_replace = 0;    // plain failure: others STOPPED; new RUNNING
  double gang_start = 0, gang_placed = 0;    // gang: all RUNNING; RunTask answered
  double gang_stop = 0, gang_replace = 0;    // gang failure: others STOPPED; attempt 1 RUNNING
  double stop_request = 0, stop_agents = 0;  // server: failure -> stops asked -> all STOPPED
  double decide = 0, place = 0,
         run_agents = 0;                // all STOPPED -> attempt ended -> placed -> RUNNING
  double server_cpu = 0, tool_cpu = 0;  // the whole repeat
};

class GangBench {
 public:
  GangBench(const Options& options, http::SigV4Credentials creds)
      : o_(options),
        signer_{http::FormatEndpoint(options.host, options.port), creds,
                awsjson::RegionFromEnvironment()},
        factory_(http::FormatEndpoint(options.host, options.port), std::move(creds)),
        client_(http::Client::Create(options.host, options.port, 120)) {}

  int Run() {
    if (!SetUp()) return 1;
    std::vector<Repeat> repeats;
    bool ok = true;
    for (int r = 0; r < o_.repeats && ok; ++r) {
      Repeat one;
      ok = RunRepeat(r, one);
      if (ok) {
        PrintRepeat(r, one);
        repeats.push_back(one);
      }
    }
    agents_->Stop();
    if (ok) PrintSummary(repeats);
    AgentStats s = agents_->Stats();
    std::printf(
        "agents instances=%lld polls=%lld running_reports=%lld stopped_reports=%lld "
        "errors=%lld\n",
        static_cast<long long>(o_.ranks), static_cast<long long>(s.polls),
        static_cast<long long>(s.running_reports), static_cast<long long>(s.stopped_reports),
        static_cast<long long>(s.errors + errors_.count()));
    return ok && errors_.count() == 0 && s.errors == 0 ? 0 : 1;
  }

 private:
  std::optional<json::object> AskOn(http::Client& client, const Call& call) {
    return AskJson(client, factory_, call, errors_);
  }
  std::optional<json::object> Ask(const Call& call) { return AskOn(*client_, call); }

  // GET /berth/v1/gangs?cluster=...&gang=NAME: the gang with its attempts.
  std::optional<json::object> DescribeGang(const std::string& name) {
    auto response = client_->Do(signer_.BerthRequest(
        "GET", "/berth/v1/gangs?cluster=" + std::string(kCluster) + "&gang=" + name, "",
        std::time(nullptr)));
    if (!response.ok() || response->status != 200) {
      errors_.Add("GET /berth/v1/gangs: " + (response.ok()
                                                 ? "HTTP " + std::to_string(response->status) +
                                                       " " + response->body.substr(0, 300)
                                                 : response.status().ToString()));
      return std::nullopt;
    }
    json::error_code ec;
    json::value v = json::parse(response->body, ec);
    if (ec || !v.is_object() || model::ObjectAt(v.as_object(), "gang") == nullptr) {
      errors_.Add("GET /berth/v1/gangs: no gang in the reply");
      return std::nullopt;
    }
    return *model::ObjectAt(v.as_object(), "gang");
  }

  // DescribeTasks of arns (any number, 100 per call): taskArn -> task.
  std::optional<std::map<std::string, json::object>> DescribeTasks(
      const std::vector<std::string>& arns) {
    std::map<std::string, json::object> out;
    for (size_t at = 0; at < arns.size(); at += kDescribeLimit) {
      std::string list;
      for (size_t n = at; n < std::min(arns.size(), at + kDescribeLimit); ++n) {
        list += (n > at ? ",\"" : "\"") + arns[n] + "\"";
      }
      auto reply = Ask({"DescribeTasks", R"({"cluster":")" + std::string(kCluster) +
                                             R"(","tasks":[)" + list + "]}"});
      if (!reply) return std::nullopt;
      for (const auto& t : ArrayOr(*reply, "tasks")) {
        out[std::string(StringOr(t.as_object(), "taskArn", ""))] = t.as_object();
      }
    }
    return out;
  }

  Call RegisterInstanceCall(int64_t n) const {
    // trn1.32xlarge: 16 devices on a 2D torus (4x4), each linked to 4 others.
    std::string devices;
    for (int i = 0; i < kNeuronDevices; ++i) {
      int row = i / 4 * 4;
      int links[] = {(i + 1) % 4 + row, (i + 3) % 4 + row, (i + 4) % 16, (i + 12) % 16};
      std::sort(std::begin(links), std::end(links));
      devices += std::string(i ? "," : "") + R"({"id":")" + std::to_string(i) +
                 R"(","type":"NEURON_DEVICE","connectedTo":[)";
      for (int l = 0; l < 4; ++l) {
        devices += std::string(l ? "," : "") + "\"" + std::to_string(links[l]) + "\"";
      }
      devices += "]}";
    }
    // A loopback address per node: only an attribute, nothing connects to it.
    std::string address =
        "127.0." + std::to_string(1 + n / 250) + "." + std::to_string(1 + n % 250);
    return {"RegisterContainerInstance",
            R"({"cluster":")" + std::string(kCluster) +
                R"(","totalResources":[{"name":"CPU","type":"INTEGER","integerValue":131072},)"
                R"({"name":"MEMORY","type":"INTEGER","integerValue":524288}],)"
                R"("platformDevices":[)" +
                devices +
                R"(],"attributes":[{"name":"ecs.instance-type","value":"trn1.32xlarge"},)"
                R"({"name":"ecs.availability-zone","value":"us-east-1a"},)"
                R"({"name":"berth.address","value":")" +
                address + R"("}]})"};
  }

  bool SetUp() {
    if (!Ask({"CreateCluster", R"({"clusterName":")" + std::string(kCluster) + R"("})"})) {
      return false;
    }
    auto td = Ask({"RegisterTaskDefinition",
                   R"({"family":")" + std::string(kFamily) +
                       R"(","networkMode":"host","containerDefinitions":[{"name":")" +
                       std::string(kContainer) +
                       R"(","image":"public.ecr.aws/docker/library/busybox:latest",)"
                       R"("essential":true,"cpu":8192,"memory":65536,)"
                       R"("resourceRequirements":[{"type":"NeuronDevice","value":")" +
                       std::to_string(kNeuronDevices) + R"("}]}]})"});
    if (!td) return false;
    const json::object* def = model::ObjectAt(*td, "taskDefinition");
    td_arn_ = def != nullptr ? std::string(StringOr(*def, "taskDefinitionArn", "")) : "";
    if (td_arn_.empty()) return false;

    auto began = Clock::now();
    std::vector<AgentIdentity> identities = JoinInstances(
        o_.host, o_.port, o_.setup_concurrency, o_.ranks, factory_, kCluster,
        [&](int64_t n) { return RegisterInstanceCall(n); }, errors_);
    if (errors_.count() > 0) return false;
    agents_ = std::make_unique<SimulatedAgents>(AgentsOptions(o_, std::string(kCluster)),
                                                std::move(identities));
    agents_->Start();
    if (!WaitUntil("agents polling",
                   [&] { return agents_->Stats().instances_answered == o_.ranks; })) {
      return false;
    }
    std::fprintf(stderr,
                 "registered, joined and started %lld simulated trn1.32xlarge agents in %.1f s\n",
                 static_cast<long long>(o_.ranks), SecondsSince(began));
    return true;
  }

  // Polls done() every millisecond (it reads counters in memory) until it
  // holds; false after --step-timeout or when an agent failed.
  bool WaitUntil(std::string_view what, const std::function<bool()>& done) {
    auto began = Clock::now();
    while (!done()) {
      if (agents_ && agents_->Stats().errors > 0) {
        std::fprintf(stderr, "%.*s: a simulated agent failed\n", static_cast<int>(what.size()),
                     what.data());
        return false;
      }
      if (errors_.count() > 0) return false;
      if (SecondsSince(began) > o_.step_timeout_seconds) {
        AgentStats s = agents_ ? agents_->Stats() : AgentStats{};
        std::fprintf(stderr, "%.*s: not done after %d s (reports: %lld RUNNING, %lld STOPPED)\n",
                     static_cast<int>(what.size()), what.data(), o_.step_timeout_seconds,
                     static_cast<long long>(s.running_reports),
                     static_cast<long long>(s.stopped_reports));
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  // Waits for `count` more RUNNING (or STOPPED) reports than `before` had.
  bool WaitReports(std::string_view what, const AgentStats& before, bool running, int64_t count) {
    return WaitUntil(what, [&] {
      AgentStats s = agents_->Stats();
      return running ? s.running_reports - before.running_reports >= count
                     : s.stopped_reports - before.stopped_reports >= count;
    });
  }

  // --ranks plain tasks, 10 per RunTask call, the calls from
  // --baseline-concurrency connections; their ARNs.
  std::vector<std::string> RunPlain() {
    const int64_t calls = (o_.ranks + kPerCall - 1) / kPerCall;
    std::mutex mu;
    std::vector<std::string> arns;
    ForEachOnConnections(
        o_.host, o_.port, o_.baseline_concurrency > 0 ? o_.baseline_concurrency : calls, calls,
        [&](http::Client& client, int64_t n) {
          int64_t count = std::min(kPerCall, o_.ranks - n * kPerCall);
          auto reply =
              AskOn(client, {"RunTask", R"({"cluster":")" + std::string(kCluster) +
                                            R"(","taskDefinition":")" + td_arn_ + R"(","count":)" +
                                            std::to_string(count) + "}"});
          if (!reply) return;
          std::lock_guard lock(mu);
          for (const auto& t : ArrayOr(*reply, "tasks")) {
            arns.emplace_back(StringOr(t.as_object(), "taskArn", ""));
          }
        });
    return arns;
  }

  // RunTask of the gang `name`; its ranks' ARNs in rank order.
  std::vector<std::string> RunGang(const std::string& name) {
    auto reply =
        Ask({"RunTask", R"({"cluster":")" + std::string(kCluster) + R"(","taskDefinition":")" +
                            td_arn_ + R"(","count":)" + std::to_string(o_.ranks) +
                            R"(,"tags":[{"key":"berth:gang","value":")" + name +
                            R"("},{"key":"berth:gang-max-restarts","value":"1"}]})"});
    std::vector<std::string> arns(o_.ranks);
    if (!reply) return {};
    for (const auto& t : ArrayOr(*reply, "tasks")) {
      const json::object& task = t.as_object();
      for (const auto& tag : ArrayOr(task, "tags")) {
        if (StringOr(tag.as_object(), "key", "") != "berth:gang-rank") continue;
        size_t rank = std::stoul(std::string(StringOr(tag.as_object(), "value", "")));
        if (rank < arns.size()) arns[rank] = std::string(StringOr(task, "taskArn", ""));
      }
    }
    if (std::count(arns.begin(), arns.end(), "") > 0) {
      errors_.Add("RunTask of gang " + name + ": not every rank has a berth:gang-rank");
      return {};
    }
    return arns;
  }

  // StopTask of each (untimed use) or of all but `except`; concurrent.
  void StopTasks(const std::vector<std::string>& arns, const std::string& except = "") {
    ForEachOnConnections(
        o_.host, o_.port, kStopConcurrency, static_cast<int64_t>(arns.size()),
        [&](http::Client& client, int64_t n) {
          if (arns[n] == except) return;
          SendOnce(client, factory_,
                   {"StopTask", R"({"cluster":")" + std::string(kCluster) + R"(","task":")" +
                                    arns[n] + R"(","reason":"bench"})"},
                   errors_);
        });
  }

  // Stops arns (none STOPPED yet) and waits for their reports; untimed.
  bool StopAndWait(std::string_view what, const std::vector<std::string>& arns) {
    const AgentStats before = agents_->Stats();
    StopTasks(arns);
    return errors_.count() == 0 &&
           WaitReports(what, before, false, static_cast<int64_t>(arns.size()));
  }

  bool RunRepeat(int r, Repeat& out) {
    const double server_cpu = o_.server_pid > 0 ? ProcessCpuSeconds(o_.server_pid) : 0;
    const double tool_cpu = OwnCpuSeconds();
    const int64_t fail_rank = r % o_.ranks;

    // Baseline start: plain tasks.
    AgentStats before = agents_->Stats();
    auto began = Clock::now();
    std::vector<std::string> plain = RunPlain();
    out.base_placed = SecondsSince(began);
    if (errors_.count() > 0 || !WaitReports("baseline start", before, true, o_.ranks)) return false;
    out.base_start = SecondsSince(began);

    // Baseline failure: the client reacts at once, by hand.
    before = agents_->Stats();
    began = Clock::now();
    agents_->FailTask(plain[fail_rank], std::string(kContainer), kFailExitCode);
    if (!WaitReports("baseline failure report", before, false, 1)) return false;
    StopTasks(plain, plain[fail_rank]);
    if (errors_.count() > 0 || !WaitReports("baseline stop", before, false, o_.ranks)) {
      return false;
    }
    out.base_stop = SecondsSince(began);
    before = agents_->Stats();
    std::vector<std::string> replaced = RunPlain();
    if (errors_.count() > 0 || !WaitReports("baseline re-place", before, true, o_.ranks)) {
      return false;
    }
    out.base_replace = SecondsSince(began);
    if (!StopAndWait("baseline cleanup", replaced)) return false;

    // The gang.
    const std::string name = "bench-gang-" + std::to_string(r);
    before = agents_->Stats();
    began = Clock::now();
    std::vector<std::string> ranks = RunGang(name);
    out.gang_placed = SecondsSince(began);
    if (ranks.empty() || !WaitReports("gang start", before, true, o_.ranks)) return false;
    out.gang_start = SecondsSince(began);

    // A rank fails; the gang controller does the rest.
    before = agents_->Stats();
    began = Clock::now();
    agents_->FailTask(ranks[fail_rank], std::string(kContainer), kFailExitCode);
    if (!WaitReports("gang stop", before, false, o_.ranks)) return false;
    out.gang_stop = SecondsSince(began);
    if (!WaitReports("gang re-place", before, true, o_.ranks)) return false;
    out.gang_replace = SecondsSince(began);

    // The server's timestamps of what happened in between.
    auto gang = DescribeGang(name);
    auto old_tasks = DescribeTasks(ranks);
    if (!gang || !old_tasks) return false;
    const json::array& attempts = ArrayOr(*gang, "attempts");
    if (attempts.size() != 2 || model::OptInt(*gang, "attempt").value_or(0) != 1) {
      errors_.Add("gang " + name + ": want attempt 1 of 2, got " + std::to_string(attempts.size()) +
                  " attempts");
      return false;
    }
    const json::object& first = attempts[0].as_object();
    const json::object& second = attempts[1].as_object();
    double failed_at = 0, stop_requested = 1e18, all_stopped = 0, all_running = 0;
    for (const auto& [arn, task] : *old_tasks) {
      if (arn == ranks[fail_rank]) {
        failed_at = EpochOr0(task, "stoppedAt");
      } else {
        stop_requested = std::min(stop_requested, EpochOr0(task, "stoppingAt"));
      }
      all_stopped = std::max(all_stopped, EpochOr0(task, "stoppedAt"));
    }
    std::vector<std::string> next;
    for (const auto& rank : ArrayOr(second, "ranks")) {
      next.emplace_back(StringOr(rank.as_object(), "taskArn", ""));
      all_running = std::max(all_running, EpochOr0(rank.as_object(), "startedAt"));
    }
    const double ended = EpochOr0(first, "endedAt");
    const double placed = EpochOr0(second, "startedAt");
    out.stop_request = stop_requested - failed_at;
    out.stop_agents = all_stopped - stop_requested;
    out.decide = ended - all_stopped;
    out.place = placed - ended;
    out.run_agents = all_running - placed;
    if (!StopAndWait("gang cleanup", next)) return false;
    out.server_cpu = (o_.server_pid > 0 ? ProcessCpuSeconds(o_.server_pid) : 0) - server_cpu;
    out.tool_cpu = OwnCpuSeconds() - tool_cpu;
    return true;
  }

  void PrintRepeat(int r, const Repeat& x) {
    std::printf(
        "repeat=%d failed_rank=%lld base_start_s=%.3f base_placed_s=%.3f gang_start_s=%.3f "
        "gang_placed_s=%.3f base_stop_s=%.3f gang_stop_s=%.3f base_replace_s=%.3f "
        "gang_replace_s=%.3f stop_request_s=%.3f stop_agents_s=%.3f decide_s=%.3f place_s=%.3f "
        "run_agents_s=%.3f server_cpu_s=%.2f tool_cpu_s=%.2f\n",
        r, static_cast<long long>(r % o_.ranks), x.base_start, x.base_placed, x.gang_start,
        x.gang_placed, x.base_stop, x.gang_stop, x.base_replace, x.gang_replace, x.stop_request,
        x.stop_agents, x.decide, x.place, x.run_agents, x.server_cpu, x.tool_cpu);
    std::fflush(stdout);
  }

  // One line per figure: the medians of the gang's and the baseline's
  // values and every repeat's own ratio.
  void PrintSummary(const std::vector<Repeat>& repeats) {
    auto figure = [&](std::string_view name, auto gang, auto base) {
      std::vector<double> g, b;
      std::string ratios;
      for (const Repeat& x : repeats) {
        g.push_back(gang(x));
        b.push_back(base(x));
        char text[32];
        std::snprintf(text, sizeof text, "%s%.2f", ratios.empty() ? "" : ",",
                      b.back() > 0 ? g.back() / b.back() : 0.0);
        ratios += text;
      }
      std::printf("figure=%.*s gang_s=%.3f base_s=%.3f ratios=%s\n", static_cast<int>(name.size()),
                  name.data(), Median(g), Median(b), ratios.c_str());
    };
    const double backoff = static_cast<double>(o_.restart_backoff_ms) / 1000.0;
    figure(
        "start", [](const Repeat& x) { return x.gang_start; },
        [](const Repeat& x) { return x.base_start; });
    figure(
        "placed", [](const Repeat& x) { return x.gang_placed; },
        [](const Repeat& x) { return x.base_placed; });
    figure(
        "stop", [](const Repeat& x) { return x.gang_stop; },
        [](const Repeat& x) { return x.base_stop; });
    figure(
        "replace", [](const Repeat& x) { return x.gang_replace; },
        [](const Repeat& x) { return x.base_replace; });
    figure(
        "replace_minus_backoff", [&](const Repeat& x) { return x.gang_replace - backoff; },
        [](const Repeat& x) { return x.base_replace; });
    // The split (server timestamps) has no baseline of its own: medians.
    auto median = [&](std::string_view name, double Repeat::*field) {
      std::vector<double> v;
      for (const Repeat& x : repeats) v.push_back(x.*field);
      std::printf("split=%.*s median_s=%.3f max_s=%.3f\n", static_cast<int>(name.size()),
                  name.data(), Median(v), *std::max_element(v.begin(), v.end()));
    };
    median("stop_request", &Repeat::stop_request);
    median("stop_agents", &Repeat::stop_agents);
    median("decide", &Repeat::decide);
    median("place", &Repeat::place);
    median("run_agents", &Repeat::run_agents);
    std::vector<double> ticks;
    for (const Repeat& x : repeats) ticks.push_back(x.stop_request + x.decide + x.place - backoff);
    std::printf("split=controller_waits median_s=%.3f max_s=%.3f backoff_s=%.3f\n", Median(ticks),
                *std::max_element(ticks.begin(), ticks.end()), backoff);
    std::fflush(stdout);
  }

  const Options& o_;
  const awsjson::Signer signer_;
  RequestFactory factory_;
  std::unique_ptr<http::Client> client_;
  ErrorLog errors_;
  std::unique_ptr<SimulatedAgents> agents_;
  std::string td_arn_;
};

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) {
  berth::bench::Options o;
  CLI::App app{"a gang of ranks on simulated trn1.32xlarge nodes beside plain tasks"};
  berth::bench::AddSimulatedClusterOptions(app, o);
  app.add_option("--ranks", o.ranks, "ranks of the gang, and instances (one rank each)")
      ->check(CLI::Range(int64_t{2}, int64_t{1000}))
      ->capture_default_str();
  app.add_option("--repeats", o.repeats, "rounds of baseline and gang")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--baseline-concurrency", o.baseline_concurrency,
                 "connections for the baseline's RunTask calls (0: all calls at once)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_option("--restart-backoff-ms", o.restart_backoff_ms,
                 "the server's wait before a gang's first restart, taken off 'minus backoff'")
      ->check(CLI::Range(int64_t{0}, int64_t{60000}))
      ->capture_default_str();
  app.add_option("--step-timeout", o.step_timeout_seconds, "seconds one step may take")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  auto creds = berth::bench::ResolveCredentials(o.credentials_file, o.profile, "", "");
  if (!creds.ok()) {
    std::fprintf(stderr, "%s\n", creds.status().ToString().c_str());
    return 2;
  }
  return berth::bench::GangBench(o, std::move(*creds)).Run();
}
