// berth_scale_bench: the control plane at cluster scale, through the real
// agent channel.
//
// Thousands of simulated nodes (SimulatedAgents, one process) join one
// server with the join key as `berth agent` does, each with the
// RegisterContainerInstance body the real agent builds (agent/registration.h),
// long-poll their assignments and report every task RUNNING and STOPPED.
// Then, one after another:
//
//   join      --nodes nodes join (at most --max-joining at once) until each
//             has its first poll answered: joins/s, join latency.
//   idle      --idle-seconds with every node holding its poll: the server's
//             memory per connected node (VmRSS after, less VmRSS before the
//             joins, over the nodes) and CPU per heartbeat (a poll answered
//             with nothing new).
//   baseline  --baseline-tasks tasks by RunTask (count 10) on a cluster of one
//             node, until all are RUNNING: the rate the server reaches when
//             it has one node to tell.
//   gangs     for each of --gang-sizes, --gang-repeats gangs (one RunTask
//             tagged berth:gang) until every rank is RUNNING.
//   runtask   --tasks tasks by RunTask (count 10) from --runtask-concurrency
//             connections on the --nodes cluster until all are RUNNING; and
//             each task's delivery latency (createdAt to the poll answer that
//             lists it to its node).
//   service   services wanting --tasks tasks together (5,000 each, as ECS
//             allows) until the agents have reported them all RUNNING.
//
// Between phases everything is stopped again (StopTask, the agents report
// STOPPED), untimed. Prints one line per phase, key=value; exits 1 on any
// failed call, join, poll or report, or a phase that runs past
// --phase-timeout.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/registration.h"
#include "common/open_file_limit.h"
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

constexpr std::string_view kCluster = "bench-scale";
constexpr std::string_view kOneNodeCluster = "bench-scale-one";
constexpr std::string_view kFamily = "bench-scale";
constexpr std::string_view kGangFamily = "bench-scale-gang";
constexpr std::string_view kServicePrefix = "bench-scale-";
constexpr int64_t kPerCall = 10;          // RunTask's count limit, and the service planner's
constexpr int64_t kMaxPerService = 5000;  // ECS's limit of tasks per service
constexpr int kCpuPerTask = 16;
constexpr int kMemoryPerTask = 16;
// A node: an m5.8xlarge, room for 2,048 tasks of the size above.
constexpr int64_t kNodeCpuUnits = 32 * 1024;
constexpr int64_t kNodeMemoryMib = 32 * 1024;

struct Options : SimulatedClusterOptions {
  int64_t nodes = 5000;
  int64_t tasks = 100000;
  int64_t baseline_tasks = 2000;
  std::vector<int64_t> gang_sizes{64, 512};
  int gang_repeats = 3;
  int runtask_concurrency = 16;
  int idle_seconds = 35;
  int start_delay_ms = 0;
  int max_joining = 256;
  int phase_timeout_seconds = 1800;
  std::string phases = "join,idle,baseline,gangs,runtask,service";
};

// VmRSS (KiB) of a process, from /proc; 0 when it cannot be read.
int64_t RssKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::stoll(line.substr(6));
  }
  return 0;
}

int64_t OpenFiles(int pid) {
  std::error_code ec;
  int64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    ++n;
  }
  return n;
}

std::string Micros(const std::vector<int64_t>& sorted, std::string_view name) {
  std::ostringstream out;
  out << name << "_p50_us=" << Percentile(sorted, 0.5) << ' ' << name
      << "_p99_us=" << Percentile(sorted, 0.99);
  return out.str();
}

class ScaleBench {
 public:
  ScaleBench(const Options& options, http::SigV4Credentials creds)
      : o_(options),
        creds_(creds),
        factory_(http::FormatEndpoint(options.host, options.port), std::move(creds)),
        client_(http::Client::Create(options.host, options.port, 120)) {}

  int Run() {
    auto has = [&](std::string_view phase) { return o_.phases.find(phase) != std::string::npos; };
    bool ok = SetUp() && JoinPhase() && (!has("idle") || IdlePhase()) &&
              (!has("baseline") || BaselinePhase()) && (!has("gangs") || GangPhase()) &&
              (!has("runtask") || RunTaskPhase()) && (!has("service") || ServicePhase());
    if (agents_) {
      agents_->Stop();
      AgentStats s = agents_->Stats();
      std::printf(
          "agents nodes=%lld threads=%d joined=%lld polls=%lld heartbeats=%lld poll_mib=%.1f "
          "tasks_listed=%lld running_reports=%lld stopped_reports=%lld errors=%lld\n",
          static_cast<long long>(o_.nodes + 1), o_.agent_threads, static_cast<long long>(s.joined),
          static_cast<long long>(s.polls), static_cast<long long>(s.heartbeats),
          s.poll_bytes / 1048576.0, static_cast<long long>(s.tasks_listed),
          static_cast<long long>(s.running_reports), static_cast<long long>(s.stopped_reports),
          static_cast<long long>(s.errors + errors_.count()));
    }
    return ok && errors_.count() == 0 && (!agents_ || agents_->Stats().errors == 0) ? 0 : 1;
  }

 private:
  std::optional<json::object> Ask(const Call& call) {
    return AskJson(*client_, factory_, call, errors_);
  }

  std::string RegisterTaskDefinition(std::string_view family, bool host_network) {
    auto reply = Ask(
        {"RegisterTaskDefinition",
         R"({"family":")" + std::string(family) + R"(",)" +
             (host_network ? R"("networkMode":"host",)" : "") +
             R"("containerDefinitions":[{"name":"app",)"
             R"("image":"public.ecr.aws/docker/library/busybox:latest","essential":true,"cpu":)" +
             std::to_string(kCpuPerTask) + R"(,"memory":)" + std::to_string(kMemoryPerTask) +
             "}]}"});
    const json::value* td = reply ? reply->if_contains("taskDefinition") : nullptr;
    return td != nullptr && td->is_object()
               ? std::string(StringOr(td->get_object(), "taskDefinitionArn", ""))
               : "";
  }

  // Node n as `berth agent` registers an m5.8xlarge: the body the real
  // agent builds (agent::RegistrationRequest), over three zones, with a
  // node address of its own in 127.0.0.0/8.
  JoiningNode Node(int64_t n, std::string_view cluster) const {
    static constexpr const char* kZones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};
    agent::AgentConfig config;
    config.cluster = std::string(cluster);
    config.instance_type = "m5.8xlarge";
    config.availability_zone = kZones[n % 3];
    agent::NodeDevices devices;
    devices.cpu_count = static_cast<int>(kNodeCpuUnits / 1024);
    devices.cpu_units = kNodeCpuUnits;
    devices.memory_mib = kNodeMemoryMib;
    std::string address = "127." + std::to_string(1 + n / 65536 % 254) + "." +
                          std::to_string(n / 256 % 256) + "." + std::to_string(n % 256);
    const uint16_t agent_port = 51680;  // berth agent's listener on each node
    auto request = agent::RegistrationRequest(config, devices, "", agent_port, address);
    return {"node " + std::to_string(n), std::string(cluster), json::serialize(*request),
            address + ":" + std::to_string(agent_port)};
  }

  bool SetUp() {
    RaiseOpenFileLimit();  // thousands of nodes hold two sockets each
    for (std::string_view cluster : {kCluster, kOneNodeCluster}) {
      if (!Ask({"CreateCluster", R"({"clusterName":")" + std::string(cluster) + R"("})"})) {
        return false;
      }
    }
    td_ = RegisterTaskDefinition(kFamily, false);
    gang_td_ = RegisterTaskDefinition(kGangFamily, true);
    return !td_.empty() && !gang_td_.empty();
  }

  // The server's CPU, this tool's and the clock at a moment; and what
  // happened since, as key=value.
  struct Mark {
    double server = 0, tool = 0;
    Clock::time_point at;
    AgentStats agents;
  };
  Mark Now() const {
    return {o_.server_pid > 0 ? ProcessCpuSeconds(o_.server_pid) : 0, OwnCpuSeconds(), Clock::now(),
            agents_ ? agents_->Stats() : AgentStats{}};
  }
  std::string Since(const Mark& before) const {
    Mark now = Now();
    auto seconds = [](Clock::time_point t) {
      return std::chrono::duration<double>(t.time_since_epoch()).count();
    };
    char text[200];
    std::snprintf(text, sizeof text,
                  "server_cpu_s=%.2f tool_cpu_s=%.2f polls=%lld monotonic=%.3f,%.3f",
                  now.server - before.server, now.tool - before.tool,
                  static_cast<long long>(now.agents.polls - before.agents.polls),
                  seconds(before.at), seconds(now.at));
    return text;
  }

  // Polls done() every 2 ms (it reads counters in memory) until it holds;
  // false after --phase-timeout or on a failure.
  bool WaitUntil(std::string_view what, const std::function<bool()>& done) {
    auto began = Clock::now();
    auto progress = began;
    while (!done()) {
      AgentStats s = agents_ ? agents_->Stats() : AgentStats{};
      if (s.errors > 0 || errors_.count() > 0) {
        std::fprintf(stderr, "%.*s: failed\n", static_cast<int>(what.size()), what.data());
        return false;
      }
      if (SecondsSince(began) > o_.phase_timeout_seconds) {
        std::fprintf(stderr, "%.*s: not done after %d s\n", static_cast<int>(what.size()),
                     what.data(), o_.phase_timeout_seconds);
        return false;
      }
      if (SecondsSince(progress) >= 10) {
        progress = Clock::now();
        std::fprintf(stderr, "  %.*s: %.0f s, joined %lld, reports: %lld RUNNING, %lld STOPPED\n",
                     static_cast<int>(what.size()), what.data(), SecondsSince(began),
                     static_cast<long long>(s.joined), static_cast<long long>(s.running_reports),
                     static_cast<long long>(s.stopped_reports));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  bool WaitReports(std::string_view what, const AgentStats& before, bool running, int64_t count) {
    return WaitUntil(what, [&] {
      AgentStats s = agents_->Stats();
      return running ? s.running_reports - before.running_reports >= count
                     : s.stopped_reports - before.stopped_reports >= count;
    });
  }

  bool JoinPhase() {
    rss_before_kib_ = o_.server_pid > 0 ? RssKib(o_.server_pid) : 0;
    const int64_t fds_before = o_.server_pid > 0 ? OpenFiles(o_.server_pid) : 0;
    std::vector<JoiningNode> nodes;
    nodes.reserve(o_.nodes + 1);
    for (int64_t n = 0; n < o_.nodes; ++n) nodes.push_back(Node(n, kCluster));
    nodes.push_back(Node(o_.nodes, kOneNodeCluster));
    SimulatedAgentsOptions options = AgentsOptions(o_, std::string(kCluster));
    options.start_delay_ms = o_.start_delay_ms;
    options.join_key = creds_;
    options.max_joining = o_.max_joining;
    agents_ = std::make_unique<SimulatedAgents>(options, std::move(nodes));
    const Mark mark = Now();
    agents_->Start();
    const int64_t all = o_.nodes + 1;
    if (!WaitUntil("join", [&] { return agents_->Stats().instances_answered == all; })) {
      return false;
    }
    const double seconds = SecondsSince(mark.at);
    std::vector<int64_t> joins = agents_->TakeJoinLatencies();
    std::printf(
        "phase=join nodes=%lld max_joining=%d seconds=%.2f joins_per_s=%.1f %s "
        "server_fds_added=%lld %s\n",
        static_cast<long long>(all), o_.max_joining, seconds, all / seconds,
        Micros(joins, "join").c_str(),
        static_cast<long long>(o_.server_pid > 0 ? OpenFiles(o_.server_pid) - fds_before : 0),
        Since(mark).c_str());
    std::fflush(stdout);
    agents_->TakeDeliveryLatencies();
    return true;
  }

  // Nothing placed while every node holds its poll: what connected nodes
  // cost the server in memory and in CPU per heartbeat.
  bool IdlePhase() {
    const Mark mark = Now();
    std::this_thread::sleep_for(std::chrono::seconds(o_.idle_seconds));
    const AgentStats s = agents_->Stats();
    const int64_t heartbeats = s.heartbeats - mark.agents.heartbeats;
    const double cpu = (o_.server_pid > 0 ? ProcessCpuSeconds(o_.server_pid) : 0) - mark.server;
    const int64_t rss = o_.server_pid > 0 ? RssKib(o_.server_pid) : 0;
    std::printf(
        "phase=idle nodes=%lld seconds=%d heartbeats=%lld server_cpu_us_per_heartbeat=%.1f "
        "rss_before_kib=%lld rss_kib=%lld rss_per_node_kib=%.2f %s\n",
        static_cast<long long>(o_.nodes + 1), o_.idle_seconds, static_cast<long long>(heartbeats),
        heartbeats > 0 ? cpu * 1e6 / static_cast<double>(heartbeats) : 0.0,
        static_cast<long long>(rss_before_kib_), static_cast<long long>(rss),
        static_cast<double>(rss - rss_before_kib_) / static_cast<double>(o_.nodes + 1),
        Since(mark).c_str());
    std::fflush(stdout);
    return s.errors == 0;
  }

  // RunTask of `tasks` tasks, count 10 per call, from --runtask-concurrency
  // connections, until all are RUNNING; prints the phase's line and returns
  // the tasks' ARNs (empty on a failure).
  std::vector<std::string> RunTasks(std::string_view phase, std::string_view cluster,
                                    int64_t tasks) {
    const int64_t calls = (tasks + kPerCall - 1) / kPerCall;
    std::mutex mu;
    std::vector<std::string> arns;
    std::vector<int64_t> call_micros;
    agents_->TakeDeliveryLatencies();
    const Mark mark = Now();
    ForEachOnConnections(
        o_.host, o_.port, o_.runtask_concurrency, calls, [&](http::Client& client, int64_t n) {
          int64_t count = std::min(kPerCall, tasks - n * kPerCall);
          auto sent = Clock::now();
          auto reply = AskJson(
              client, factory_,
              {"RunTask", R"({"cluster":")" + std::string(cluster) + R"(","taskDefinition":")" +
                              td_ + R"(","count":)" + std::to_string(count) + "}"},
              errors_);
          auto micros =
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count();
          std::lock_guard lock(mu);
          call_micros.push_back(micros);
          if (!reply) return;
          for (const auto& t : ArrayOr(*reply, "tasks")) {
            arns.emplace_back(StringOr(t.as_object(), "taskArn", ""));
          }
        });
    const double placed = SecondsSince(mark.at);
    if (errors_.count() > 0 || !WaitReports(phase, mark.agents, true, tasks)) return {};
    const double seconds = SecondsSince(mark.at);
    std::sort(call_micros.begin(), call_micros.end());
    std::printf(
        "phase=%.*s tasks=%lld concurrency=%d seconds=%.3f tasks_per_s=%.1f placed_seconds=%.3f "
        "%s %s %s\n",
        static_cast<int>(phase.size()), phase.data(), static_cast<long long>(tasks),
        o_.runtask_concurrency, seconds, tasks / seconds, placed,
        Micros(call_micros, "call").c_str(),
        Micros(agents_->TakeDeliveryLatencies(), "delivery").c_str(), Since(mark).c_str());
    std::fflush(stdout);
    return arns;
  }

  // StopTask of every task in arns until the agents reported them STOPPED;
  // untimed.
  bool StopAll(std::string_view what, std::string_view cluster,
               const std::vector<std::string>& arns) {
    auto began = Clock::now();
    const AgentStats before = agents_->Stats();
    ForEachOnConnections(
        o_.host, o_.port, o_.runtask_concurrency, static_cast<int64_t>(arns.size()),
        [&](http::Client& client, int64_t n) {
          SendOnce(client, factory_,
                   {"StopTask", R"({"cluster":")" + std::string(cluster) + R"(","task":")" +
                                    arns[n] + R"(","reason":"bench"})"},
                   errors_);
        });
    if (errors_.count() > 0 ||
        !WaitReports(what, before, false, static_cast<int64_t>(arns.size()))) {
      return false;
    }
    std::fprintf(stderr, "stopped %zu tasks (%.*s) in %.1f s, not measured\n", arns.size(),
                 static_cast<int>(what.size()), what.data(), SecondsSince(began));
    agents_->TakeDeliveryLatencies();
    return true;
  }

  bool BaselinePhase() {
    std::vector<std::string> arns = RunTasks("baseline", kOneNodeCluster, o_.baseline_tasks);
    return !arns.empty() && StopAll("baseline stop", kOneNodeCluster, arns);
  }

  bool GangPhase() {
    for (int64_t size : o_.gang_sizes) {
      for (int repeat = 0; repeat < o_.gang_repeats; ++repeat) {
        std::string gang = "bench-gang-" + std::to_string(size) + "-" + std::to_string(repeat);
        agents_->TakeDeliveryLatencies();
        const Mark mark = Now();
        auto reply =
            Ask({"RunTask", R"({"cluster":")" + std::string(kCluster) + R"(","taskDefinition":")" +
                                gang_td_ + R"(","count":)" + std::to_string(size) +
                                R"(,"tags":[{"key":"berth:gang","value":")" + gang + R"("}]})"});
        if (!reply) return false;
        const double placed = SecondsSince(mark.at);
        std::vector<std::string> arns;
        for (const auto& t : ArrayOr(*reply, "tasks")) {
          arns.emplace_back(StringOr(t.as_object(), "taskArn", ""));
        }
        if (static_cast<int64_t>(arns.size()) != size) {
          errors_.Add("RunTask of gang " + gang + ": " + std::to_string(arns.size()) + " ranks");
          return false;
        }
        if (!WaitReports(gang, mark.agents, true, size)) return false;
        const double seconds = SecondsSince(mark.at);
        std::printf("phase=gang ranks=%lld repeat=%d seconds=%.3f placed_seconds=%.3f %s %s\n",
                    static_cast<long long>(size), repeat, seconds, placed,
                    Micros(agents_->TakeDeliveryLatencies(), "delivery").c_str(),
                    Since(mark).c_str());
        std::fflush(stdout);
        if (!StopAll(gang, kCluster, arns)) return false;
      }
    }
    return true;
  }

  bool RunTaskPhase() {
    std::vector<std::string> arns = RunTasks("runtask", kCluster, o_.tasks);
    return !arns.empty() && StopAll("runtask stop", kCluster, arns);
  }

  bool ServicePhase() {
    const int64_t services = (o_.tasks + kMaxPerService - 1) / kMaxPerService;
    agents_->TakeDeliveryLatencies();
    const Mark mark = Now();
    for (int64_t n = 0; n < services; ++n) {
      int64_t desired = std::min(kMaxPerService, o_.tasks - n * kMaxPerService);
      if (!Ask({"CreateService", R"({"cluster":")" + std::string(kCluster) +
                                     R"(","serviceName":")" + std::string(kServicePrefix) +
                                     std::to_string(n) + R"(","taskDefinition":")" + td_ +
                                     R"(","desiredCount":)" + std::to_string(desired) + "}"})) {
        return false;
      }
    }
    const double created = SecondsSince(mark.at);
    if (!WaitReports("service", mark.agents, true, o_.tasks)) return false;
    const double seconds = SecondsSince(mark.at);
    std::printf(
        "phase=service services=%lld tasks=%lld seconds=%.3f tasks_per_s=%.1f "
        "created_seconds=%.3f %s %s\n",
        static_cast<long long>(services), static_cast<long long>(o_.tasks), seconds,
        o_.tasks / seconds, created, Micros(agents_->TakeDeliveryLatencies(), "delivery").c_str(),
        Since(mark).c_str());
    std::fflush(stdout);
    return true;
  }

  const Options& o_;
  const http::SigV4Credentials creds_;  // the join key too, as `berth agent --join-key` uses it
  RequestFactory factory_;
  std::unique_ptr<http::Client> client_;
  ErrorLog errors_;
  std::unique_ptr<SimulatedAgents> agents_;
  std::string td_, gang_td_;
  int64_t rss_before_kib_ = 0;
};

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) {
  berth::bench::Options o;
  CLI::App app{"the control plane at cluster scale: simulated nodes on the real agent channel"};
  berth::bench::AddSimulatedClusterOptions(app, o);
  app.add_option("--nodes", o.nodes, "simulated nodes in the large cluster")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}))
      ->capture_default_str();
  app.add_option("--tasks", o.tasks, "tasks by RunTask, and wanted by the services")
      ->check(CLI::Range(int64_t{1}, int64_t{10000000}))
      ->capture_default_str();
  app.add_option("--baseline-tasks", o.baseline_tasks, "tasks by RunTask on the one-node cluster")
      ->check(CLI::Range(int64_t{1}, int64_t{2048}))
      ->capture_default_str();
  app.add_option("--gang-sizes", o.gang_sizes, "ranks of the gangs (each up to --nodes)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--gang-repeats", o.gang_repeats, "gangs of each size")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--runtask-concurrency", o.runtask_concurrency,
                 "RunTask and StopTask connections, one thread each")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--idle-seconds", o.idle_seconds, "seconds of idle connected nodes")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--start-delay-ms", o.start_delay_ms,
                 "a node's time from a task listed to its RUNNING report")
      ->check(CLI::Range(0, 600000))
      ->capture_default_str();
  app.add_option("--max-joining", o.max_joining, "nodes joining at once")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--phase-timeout", o.phase_timeout_seconds, "seconds a phase may take")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--phases", o.phases,
                 "which of idle,baseline,gangs,runtask,service to run after the join, in that "
                 "order")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  for (int64_t size : o.gang_sizes) {
    if (size < 1 || size > o.nodes) {
      std::fprintf(stderr, "--gang-sizes: %lld ranks do not fit on %lld nodes\n",
                   static_cast<long long>(size), static_cast<long long>(o.nodes));
      return 2;
    }
  }
  auto creds = berth::bench::ResolveCredentials(o.credentials_file, o.profile, "", "");
  if (!creds.ok()) {
    std::fprintf(stderr, "%s\n", creds.status().ToString().c_str());
    return 2;
  }
  return berth::bench::ScaleBench(o, std::move(*creds)).Run();
}
