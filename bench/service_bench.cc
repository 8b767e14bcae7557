// berth_service_bench: the service scheduler on a simulated cluster, beside
// RunTask on the same server in the same run.
//
// Registers --instances container instances through the API and joins an
// agent to each, then runs SimulatedAgents for all of them (a long poll per
// instance, every task reported RUNNING, or STOPPED, as soon as the server
// lists it), and measures, one after another:
//
//   runtask  --tasks tasks started with RunTask (count 10 per call, the
//            service scheduler's plan size) from --runtask-concurrency
//            connections, from the first call until the agents' last RUNNING
//            report is acknowledged; then all are stopped (StopTask, the
//            agents report STOPPED), untimed, so the cluster is empty again.
//   create   CreateService of --services services that together want --tasks
//            tasks (ECS allows 5,000 per service), from the first
//            CreateService until DescribeServices shows every service steady:
//            runningCount = desiredCount, one deployment, COMPLETED, and the
//            "has reached a steady state." event.
//   rolling  UpdateService of each to a new task definition revision (a
//            rolling deployment within maximumPercent / minimumHealthyPercent),
//            until every service is steady again on its new deployment alone.
//
// RunTask and the services use the same task definition, placement strategy
// and agents, so the tasks per second compare. Prints one line per phase,
// key=value, and exits 1 on any error (a failed call, poll or report) or
// when a phase does not end within --phase-timeout.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ecs_calls.h"
#include "http/client.h"
#include "http/endpoint.h"
#include "model/json_util.h"
#include "simulated_agents.h"

namespace berth::bench {
namespace {

namespace json = boost::json;
using model::ArrayOr;
using model::OptInt;
using model::StringOr;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kCluster = "bench-service";
constexpr std::string_view kFamily = "bench-service";
constexpr std::string_view kServicePrefix = "bench-service-";
// The service scheduler plans at most this many tasks at a time (RunTask's
// count limit), so RunTask is called with the same batch.
constexpr int64_t kPerCall = 10;
// ECS allows at most this many tasks per service, and berth with it.
constexpr int64_t kMaxPerService = 5000;
constexpr int kCpuPerTask = 256;
constexpr int kMemoryPerTask = 512;
// Spread over zones, then over instances: the ECS console's default for a
// service ("AZ balanced spread"), used for RunTask too.
constexpr std::string_view kPlacementStrategy =
    R"([{"type":"spread","field":"attribute:ecs.availability-zone"},)"
    R"({"type":"spread","field":"instanceId"}])";
constexpr std::string_view kSteadyEvent = "has reached a steady state.";

struct Options : SimulatedClusterOptions {
  int64_t instances = 1000;
  int64_t tasks = 10000;
  int services = 0;  // 0: as few as hold --tasks
  int runtask_concurrency = 16;
  int maximum_percent = 200;
  int minimum_healthy_percent = 100;
  int describe_interval_ms = 200;
  int idle_seconds = 20;
  int phase_timeout_seconds = 1800;
  std::string phases = "runtask,create,rolling";
};

std::string Quoted(std::string_view s) { return json::serialize(json::string(s)); }

class ServiceBench {
 public:
  ServiceBench(const Options& options, http::SigV4Credentials creds)
      : o_(options),
        factory_(http::FormatEndpoint(options.host, options.port), std::move(creds)),
        client_(http::Client::Create(options.host, options.port, 120)) {}

  int Run() {
    if (!SetUp()) return 1;
    auto has = [&](std::string_view phase) { return o_.phases.find(phase) != std::string::npos; };
    bool ok = (!has("runtask") || RunTaskPhase()) && (!has("create") || CreatePhase()) &&
              (!has("rolling") || RollingPhase());
    agents_->Stop();
    PrintAgentStats();
    return ok && errors_.count() == 0 && agents_->Stats().errors == 0 ? 0 : 1;
  }

 private:
  // Sends call on the driver's connection; its reply, or nullopt (the
  // failure is counted and printed).
  std::optional<json::object> Ask(const Call& call, size_t* bytes = nullptr) {
    return AskOn(*client_, call, bytes);
  }

  std::optional<json::object> AskOn(http::Client& client, const Call& call,
                                    size_t* bytes = nullptr) {
    return AskJson(client, factory_, call, errors_, bytes);
  }

  std::string RegisterTaskDefinition(int revision_marker) {
    auto reply = Ask(
        {"RegisterTaskDefinition",
         R"({"family":")" + std::string(kFamily) +
             R"(","containerDefinitions":[{"name":"app",)"
             R"("image":"public.ecr.aws/docker/library/busybox:latest","essential":true,"cpu":)" +
             std::to_string(kCpuPerTask) + R"(,"memory":)" + std::to_string(kMemoryPerTask) +
             R"(,"environment":[{"name":"BENCH_REVISION","value":")" +
             std::to_string(revision_marker) + R"("}]}]})"});
    if (!reply) return "";
    const json::value* td = reply->if_contains("taskDefinition");
    return td != nullptr && td->is_object()
               ? std::string(StringOr(td->get_object(), "taskDefinitionArn", ""))
               : "";
  }

  // Instance n: room for four times its share of --tasks (a rolling
  // deployment at maximumPercent 200 needs twice), over three zones.
  Call RegisterInstanceCall(int64_t n) const {
    static constexpr const char* kZones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};
    int64_t slots = std::max<int64_t>(4, 4 * ((o_.tasks + o_.instances - 1) / o_.instances));
    return {"RegisterContainerInstance",
            R"({"cluster":")" + std::string(kCluster) +
                R"(","totalResources":[{"name":"CPU","type":"INTEGER","integerValue":)" +
                std::to_string(slots * kCpuPerTask) +
                R"(},{"name":"MEMORY","type":"INTEGER","integerValue":)" +
                std::to_string(slots * kMemoryPerTask) +
                R"(}],"attributes":[{"name":"ecs.instance-type","value":"m5.4xlarge"},)"
                R"({"name":"ecs.availability-zone","value":")" +
                kZones[n % 3] + R"("}]})"};
  }

  bool SetUp() {
    services_ = o_.services > 0
                    ? o_.services
                    : static_cast<int>((o_.tasks + kMaxPerService - 1) / kMaxPerService);
    if (o_.tasks % services_ != 0) {
      std::fprintf(stderr, "--tasks %lld does not divide into %d services\n",
                   static_cast<long long>(o_.tasks), services_);
      return false;
    }
    if (!Ask({"CreateCluster", R"({"clusterName":")" + std::string(kCluster) + R"("})"})) {
      return false;
    }
    td_old_ = RegisterTaskDefinition(1);
    td_new_ = RegisterTaskDefinition(2);
    if (td_old_.empty() || td_new_.empty()) return false;

    auto began = Clock::now();
    std::vector<AgentIdentity> identities = JoinInstances(
        o_.host, o_.port, o_.setup_concurrency, o_.instances, factory_, kCluster,
        [&](int64_t n) { return RegisterInstanceCall(n); }, errors_);
    if (errors_.count() > 0) return false;
    std::fprintf(stderr, "registered and joined %lld instances in %.1f s\n",
                 static_cast<long long>(o_.instances), SecondsSince(began));

    began = Clock::now();
    agents_ = std::make_unique<SimulatedAgents>(AgentsOptions(o_, std::string(kCluster)),
                                                std::move(identities));
    agents_->Start();
    if (!WaitUntil("agents polling",
                   [&] { return agents_->Stats().instances_answered == o_.instances; })) {
      return false;
    }
    std::fprintf(stderr, "%lld simulated agents polling after %.1f s\n",
                 static_cast<long long>(o_.instances), SecondsSince(began));
    return IdlePhase();
  }

  // What the held polls of idle agents cost the server: nothing is placed
  // for --idle-seconds while every agent long-polls.
  bool IdlePhase() {
    if (o_.idle_seconds == 0) return true;
    const AgentStats before = agents_->Stats();
    const CpuMark cpu = CpuNow();
    std::this_thread::sleep_for(std::chrono::seconds(o_.idle_seconds));
    std::printf("phase=idle instances=%lld seconds=%d polls=%lld %s\n",
                static_cast<long long>(o_.instances), o_.idle_seconds,
                static_cast<long long>(agents_->Stats().polls - before.polls),
                CpuSince(cpu).c_str());
    std::fflush(stdout);
    return agents_->Stats().errors == 0;
  }

  // Polls done() every 5 ms (what it looks at is in memory) until it holds;
  // false after --phase-timeout or when an agent failed.
  bool WaitUntil(std::string_view what, const std::function<bool()>& done) {
    auto began = Clock::now();
    auto progress = began;
    while (!done()) {
      if (agents_ && agents_->Stats().errors > 0) {
        std::fprintf(stderr, "%.*s: a simulated agent failed\n", static_cast<int>(what.size()),
                     what.data());
        return false;
      }
      if (SecondsSince(began) > o_.phase_timeout_seconds) {
        std::fprintf(stderr, "%.*s: not done after %d s\n", static_cast<int>(what.size()),
                     what.data(), o_.phase_timeout_seconds);
        return false;
      }
      if (SecondsSince(progress) >= 10) {
        progress = Clock::now();
        AgentStats s = agents_ ? agents_->Stats() : AgentStats{};
        std::fprintf(stderr, "  %.*s: %.0f s, reports: %lld RUNNING, %lld STOPPED\n",
                     static_cast<int>(what.size()), what.data(), SecondsSince(began),
                     static_cast<long long>(s.running_reports),
                     static_cast<long long>(s.stopped_reports));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  // What one phase cost the server and this tool (driver and agents), and
  // when it ran on CLOCK_MONOTONIC (steady_clock), to match a profile taken
  // with `perf record -k CLOCK_MONOTONIC`.
  struct CpuMark {
    double server = 0, tool = 0;
    Clock::time_point at;
  };
  CpuMark CpuNow() const {
    return {o_.server_pid > 0 ? ProcessCpuSeconds(o_.server_pid) : 0, OwnCpuSeconds(),
            Clock::now()};
  }
  std::string CpuSince(const CpuMark& before) const {
    CpuMark now = CpuNow();
    auto seconds = [](Clock::time_point t) {
      return std::chrono::duration<double>(t.time_since_epoch()).count();
    };
    char text[160];
    std::snprintf(text, sizeof text, "server_cpu_s=%.1f tool_cpu_s=%.1f monotonic=%.3f,%.3f",
                  now.server - before.server, now.tool - before.tool, seconds(before.at),
                  seconds(now.at));
    return text;
  }

  bool RunTaskPhase() {
    const int64_t calls = (o_.tasks + kPerCall - 1) / kPerCall;
    std::mutex mu;
    std::vector<std::string> arns;
    std::vector<int64_t> latencies;
    const AgentStats before = agents_->Stats();
    const CpuMark cpu = CpuNow();
    auto began = Clock::now();
    ForEachOnConnections(
        o_.host, o_.port, o_.runtask_concurrency, calls, [&](http::Client& client, int64_t n) {
          int64_t count = std::min(kPerCall, o_.tasks - n * kPerCall);
          auto sent = Clock::now();
          auto reply =
              AskOn(client, {"RunTask", R"({"cluster":")" + std::string(kCluster) +
                                            R"(","taskDefinition":")" + td_old_ + R"(","count":)" +
                                            std::to_string(count) + R"(,"placementStrategy":)" +
                                            std::string(kPlacementStrategy) + "}"});
          auto micros =
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count();
          std::lock_guard lock(mu);
          latencies.push_back(micros);
          if (!reply) return;
          for (const auto& t : ArrayOr(*reply, "tasks")) {
            arns.emplace_back(StringOr(t.as_object(), "taskArn", ""));
          }
        });
    const double placed = SecondsSince(began);
    if (errors_.count() > 0) return false;
    if (!WaitUntil("runtask", [&] {
          return agents_->Stats().running_reports - before.running_reports >= o_.tasks;
        })) {
      return false;
    }
    const double seconds = SecondsSince(began);
    std::sort(latencies.begin(), latencies.end());
    std::printf(
        "phase=runtask tasks=%lld concurrency=%d per_call=%lld seconds=%.2f tasks_per_s=%.1f "
        "placed_seconds=%.2f placed_per_s=%.1f call_p50_us=%lld call_p99_us=%lld %s\n",
        static_cast<long long>(o_.tasks), o_.runtask_concurrency, static_cast<long long>(kPerCall),
        seconds, o_.tasks / seconds, placed, o_.tasks / placed,
        static_cast<long long>(Percentile(latencies, 0.5)),
        static_cast<long long>(Percentile(latencies, 0.99)), CpuSince(cpu).c_str());
    std::fflush(stdout);
    PrintReportLatencies("runtask");

    // Empty the cluster again for the services; untimed.
    began = Clock::now();
    const AgentStats running = agents_->Stats();
    ForEachOnConnections(
        o_.host, o_.port, o_.runtask_concurrency, static_cast<int64_t>(arns.size()),
        [&](http::Client& client, int64_t n) {
          SendOnce(client, factory_,
                   {"StopTask", R"({"cluster":")" + std::string(kCluster) + R"(","task":")" +
                                    arns[n] + R"(","reason":"bench"})"},
                   errors_);
        });
    if (errors_.count() > 0 || !WaitUntil("runtask stop", [&] {
          return agents_->Stats().stopped_reports - running.stopped_reports >= o_.tasks;
        })) {
      return false;
    }
    std::fprintf(stderr, "stopped the %lld RunTask tasks in %.1f s (not measured)\n",
                 static_cast<long long>(o_.tasks), SecondsSince(began));
    agents_->TakeReportLatencies();  // the stops' reports are not a phase's
    return true;
  }

  std::string ServiceName(int n) const { return std::string(kServicePrefix) + std::to_string(n); }

  // PRIMARY deployment id of the service a CreateService or UpdateService
  // answered with.
  static std::string PrimaryDeployment(const json::object& reply) {
    const json::value* service = reply.if_contains("service");
    if (service == nullptr || !service->is_object()) return "";
    for (const auto& d : ArrayOr(service->get_object(), "deployments")) {
      if (d.is_object() && StringOr(d.get_object(), "status", "") == "PRIMARY") {
        return std::string(StringOr(d.get_object(), "id", ""));
      }
    }
    return "";
  }

  std::string DeploymentConfiguration() const {
    return R"({"maximumPercent":)" + std::to_string(o_.maximum_percent) +
           R"(,"minimumHealthyPercent":)" + std::to_string(o_.minimum_healthy_percent) + "}";
  }

  // DescribeServices of all of them every --describe-interval-ms until
  // each is steady on deployment primaries[n] alone; the latency of every
  // DescribeServices goes into describe_micros, the largest reply's size
  // into describe_bytes.
  bool WaitSteady(std::string_view what, const std::vector<std::string>& primaries,
                  std::vector<int64_t>& describe_micros, size_t& describe_bytes) {
    std::string names;
    for (int n = 0; n < services_; ++n) names += (n ? "," : "") + Quoted(ServiceName(n));
    const Call describe{"DescribeServices", R"({"cluster":")" + std::string(kCluster) +
                                                R"(","services":[)" + names + "]}"};
    const int64_t desired = o_.tasks / services_;
    auto last = Clock::now() - std::chrono::hours(1);
    bool steady = false;
    return WaitUntil(what, [&] {
      if (steady) return true;
      if (Clock::now() - last < std::chrono::milliseconds(o_.describe_interval_ms)) return false;
      last = Clock::now();
      size_t bytes = 0;
      auto reply = Ask(describe, &bytes);
      describe_bytes = std::max(describe_bytes, bytes);
      describe_micros.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - last).count());
      if (!reply) return steady = true;  // the error ends the run
      const json::array& services = ArrayOr(*reply, "services");
      if (static_cast<int>(services.size()) != services_) return false;
      for (int n = 0; n < services_; ++n) {
        const json::object& s = services[n].as_object();
        const json::array& deployments = ArrayOr(s, "deployments");
        const json::array& events = ArrayOr(s, "events");
        if (OptInt(s, "runningCount").value_or(-1) != desired ||
            OptInt(s, "pendingCount").value_or(-1) != 0 || deployments.size() != 1 ||
            events.empty()) {
          return false;
        }
        const json::object& d = deployments[0].as_object();
        const auto& name = StringOr(s, "serviceName", "");
        int index = std::stoi(std::string(name.substr(kServicePrefix.size())));
        if (StringOr(d, "id", "") != primaries[index] ||
            StringOr(d, "rolloutState", "") != "COMPLETED" ||
            StringOr(events[0].as_object(), "message", "").find(kSteadyEvent) ==
                std::string_view::npos) {
          return false;
        }
      }
      return steady = true;
    });
  }

  bool CreatePhase() {
    return ServicePhase("create", [&](int n) -> Call {
      return {"CreateService", R"({"cluster":")" + std::string(kCluster) + R"(","serviceName":")" +
                                   ServiceName(n) + R"(","taskDefinition":")" + td_old_ +
                                   R"(","desiredCount":)" + std::to_string(o_.tasks / services_) +
                                   R"(,"deploymentConfiguration":)" + DeploymentConfiguration() +
                                   R"(,"placementStrategy":)" + std::string(kPlacementStrategy) +
                                   "}"};
    });
  }

  bool RollingPhase() {
    return ServicePhase("rolling", [&](int n) -> Call {
      return {"UpdateService", R"({"cluster":")" + std::string(kCluster) + R"(","service":")" +
                                   ServiceName(n) + R"(","taskDefinition":")" + td_new_ +
                                   R"(","deploymentConfiguration":)" + DeploymentConfiguration() +
                                   "}"};
    });
  }

  // Sends call(n) for every service, then waits until each is steady on the
  // deployment that call made. Measured: until every service is steady, and
  // until the agents acknowledged --tasks RUNNING reports (and, in a
  // rolling deployment, --tasks STOPPED ones).
  bool ServicePhase(std::string_view phase, const std::function<Call(int)>& call) {
    const AgentStats before = agents_->Stats();
    const CpuMark cpu = CpuNow();
    auto began = Clock::now();
    std::vector<std::string> primaries;
    for (int n = 0; n < services_; ++n) {
      auto reply = Ask(call(n));
      if (!reply) return false;
      primaries.push_back(PrimaryDeployment(*reply));
    }
    const bool replacing = phase == "rolling";
    double running = 0, stopped = 0;
    std::atomic<bool> abandoned{false};
    std::vector<int64_t> describe_micros;
    size_t describe_bytes = 0;
    std::thread watcher([&] {
      // The agents' side, on its own thread: the steady wait polls slower.
      WaitUntil(std::string(phase) + " reports", [&] {
        if (abandoned) return true;
        AgentStats s = agents_->Stats();
        if (running == 0 && s.running_reports - before.running_reports >= o_.tasks) {
          running = SecondsSince(began);
        }
        if (stopped == 0 && s.stopped_reports - before.stopped_reports >= o_.tasks) {
          stopped = SecondsSince(began);
        }
        return running > 0 && (!replacing || stopped > 0);
      });
    });
    bool steady = WaitSteady(phase, primaries, describe_micros, describe_bytes);
    const double seconds = SecondsSince(began);
    if (!steady) abandoned = true;
    watcher.join();
    if (!steady || errors_.count() > 0) return false;
    std::sort(describe_micros.begin(), describe_micros.end());
    std::printf(
        "phase=%.*s services=%d tasks=%lld seconds=%.2f tasks_per_s=%.1f running_seconds=%.2f "
        "stopped_seconds=%.2f describe_calls=%zu describe_p50_us=%lld describe_max_us=%lld "
        "describe_max_kib=%zu %s\n",
        static_cast<int>(phase.size()), phase.data(), services_, static_cast<long long>(o_.tasks),
        seconds, o_.tasks / seconds, running, stopped, describe_micros.size(),
        static_cast<long long>(Percentile(describe_micros, 0.5)),
        static_cast<long long>(describe_micros.empty() ? 0 : describe_micros.back()),
        describe_bytes / 1024, CpuSince(cpu).c_str());
    std::fflush(stdout);
    PrintReportLatencies(phase);
    return true;
  }

  void PrintReportLatencies(std::string_view phase) {
    std::vector<int64_t> micros = agents_->TakeReportLatencies();
    std::printf("reports phase=%.*s count=%zu p50_us=%lld p99_us=%lld\n",
                static_cast<int>(phase.size()), phase.data(), micros.size(),
                static_cast<long long>(Percentile(micros, 0.5)),
                static_cast<long long>(Percentile(micros, 0.99)));
    std::fflush(stdout);
  }

  void PrintAgentStats() {
    AgentStats s = agents_->Stats();
    std::printf(
        "agents instances=%lld threads=%d polls=%lld poll_mib=%.1f tasks_listed=%lld "
        "running_reports=%lld stopped_reports=%lld errors=%lld\n",
        static_cast<long long>(o_.instances), o_.agent_threads, static_cast<long long>(s.polls),
        s.poll_bytes / 1048576.0, static_cast<long long>(s.tasks_listed),
        static_cast<long long>(s.running_reports), static_cast<long long>(s.stopped_reports),
        static_cast<long long>(s.errors + errors_.count()));
    std::fflush(stdout);
  }

  const Options& o_;
  RequestFactory factory_;
  std::unique_ptr<http::Client> client_;
  ErrorLog errors_;
  std::unique_ptr<SimulatedAgents> agents_;
  int services_ = 1;
  std::string td_old_, td_new_;
};

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) {
  berth::bench::Options o;
  CLI::App app{"the service scheduler beside RunTask, on simulated instances and agents"};
  berth::bench::AddSimulatedClusterOptions(app, o);
  app.add_option("--instances", o.instances, "container instances, each with a simulated agent")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}))
      ->capture_default_str();
  app.add_option("--tasks", o.tasks, "tasks started by RunTask, and wanted by the services")
      ->check(CLI::Range(int64_t{1}, int64_t{10} * berth::bench::kMaxPerService))
      ->capture_default_str();
  app.add_option("--services", o.services,
                 "services sharing --tasks (0: as few as hold them, 5,000 tasks each)")
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
  app.add_option("--runtask-concurrency", o.runtask_concurrency,
                 "RunTask (and StopTask) connections, one thread each")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--maximum-percent", o.maximum_percent, "deploymentConfiguration.maximumPercent")
      ->check(CLI::Range(100, 200))
      ->capture_default_str();
  app.add_option("--minimum-healthy-percent", o.minimum_healthy_percent,
                 "deploymentConfiguration.minimumHealthyPercent")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  app.add_option("--describe-interval-ms", o.describe_interval_ms,
                 "how often DescribeServices looks for the steady state")
      ->check(CLI::Range(10, 10000))
      ->capture_default_str();
  app.add_option("--idle-seconds", o.idle_seconds,
                 "seconds of idle agents measured before the phases (0: none)")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  app.add_option("--phase-timeout", o.phase_timeout_seconds, "seconds a phase may take")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--phases", o.phases, "which of runtask,create,rolling to run, in that order")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  auto creds = berth::bench::ResolveCredentials(o.credentials_file, o.profile, "", "");
  if (!creds.ok()) {
    std::fprintf(stderr, "%s\n", creds.status().ToString().c_str());
    return 2;
  }
  return berth::bench::ServiceBench(o, std::move(*creds)).Run();
}
