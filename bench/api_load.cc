// berth_api_load: a closed-loop load generator for the ECS API.
//
// N threads each keep one keep-alive connection and send the next request as
// soon as the previous response is read, so the offered load adapts to the
// server and the figures are "throughput at N requests in flight" and the
// latency each of them saw. Every request is SigV4-signed when it is sent, as
// an AWS SDK does, so signing and verification are part of what is measured.
//
// Prints one machine-readable line per run:
//   op=... concurrency=... requests=... seconds=... rps=... p50_us=... p99_us=... errors=...
// and exits non-zero when any request failed (transport error or status other
// than 200), so that a broken server cannot pass for a fast one.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ecs_calls.h"
#include "http/client.h"
#include "http/endpoint.h"

namespace berth::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kClusterName = "bench";
// Registrations of this family pile up revisions across runs; reads ask for
// its latest one, so a growing history is part of what reads are measured on.
constexpr std::string_view kFamily = "bench-api-load";

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string credentials_file;
  std::string profile = "default";
  std::string access_key;
  std::string secret;
  std::string operation = "DescribeTaskDefinition";
  int concurrency = 1;
  int64_t requests = 10000;
  int64_t warmup = 1000;
  bool setup = true;
  // RunTask: container instances registered (through the API, in parallel,
  // not timed) before the run; 0: none.
  int64_t instances = 0;
  // Each registered instance also joins as a node agent, as `berth agent`
  // does; it counts as connected for the server's heartbeat timeout after
  // the join (start the server with a long --agent-heartbeat-timeout and
  // --agent-lost-after 0, so that their tasks are never stopped as lost).
  bool join_agents = false;
};

Call CreateClusterCall() {
  return {"CreateCluster", R"({"clusterName":")" + std::string(kClusterName) + R"("})"};
}

Call RegisterTaskDefinitionCall() {
  return {"RegisterTaskDefinition",
          R"({"family":")" + std::string(kFamily) +
              R"(","containerDefinitions":[{"name":"app",)"
              R"("image":"public.ecr.aws/docker/library/busybox:latest","memory":512}]})"};
}

Call DescribeTaskDefinitionCall() {
  return {"DescribeTaskDefinition", R"({"taskDefinition":")" + std::string(kFamily) + R"("})"};
}

Call DescribeClustersCall() {
  return {"DescribeClusters", R"({"clusters":[")" + std::string(kClusterName) + R"("]})"};
}

// RunTask's task definition: small enough that 10,000 instances take every
// task of a long run.
constexpr std::string_view kRunTaskFamily = "bench-runtask";

Call RegisterRunTaskDefinitionCall() {
  return {
      "RegisterTaskDefinition",
      R"({"family":")" + std::string(kRunTaskFamily) +
          R"(","containerDefinitions":[{"name":"app",)"
          R"("image":"public.ecr.aws/docker/library/busybox:latest","cpu":256,"memory":512}]})"};
}

// RunTask as a training cluster's scheduler sees it: a memberOf constraint,
// spread over zones, then binpack on memory.
Call RunTaskCall() {
  return {"RunTask",
          R"({"cluster":")" + std::string(kClusterName) + R"(","taskDefinition":")" +
              std::string(kRunTaskFamily) +
              R"(","placementConstraints":[{"type":"memberOf","expression":)"
              R"("attribute:ecs.instance-type != m5.8xlarge or runningTasksCount < 50"}],)"
              R"("placementStrategy":[{"type":"spread","field":"attribute:ecs.availability-zone"},)"
              R"({"type":"binpack","field":"memory"}]})"};
}

// Instance n of the simulated cluster: 20% trn1.32xlarge (128 vCPU, 512 GiB,
// 16 Neuron devices), 30% trn1.2xlarge (8 vCPU, 32 GiB, 1 device), 50%
// m5.8xlarge (32 vCPU, 128 GiB), over three zones.
Call RegisterInstanceCall(int64_t n) {
  static constexpr const char* kZones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};
  int kind = static_cast<int>(n % 10);
  std::string type = kind < 2 ? "trn1.32xlarge" : kind < 5 ? "trn1.2xlarge" : "m5.8xlarge";
  int64_t cpu = kind < 2 ? 131072 : kind < 5 ? 8192 : 32768;
  int64_t memory = kind < 2 ? 524288 : kind < 5 ? 32768 : 131072;
  int devices = kind < 2 ? 16 : kind < 5 ? 1 : 0;
  std::string platform;
  for (int d = 0; d < devices; ++d) {
    platform += std::string(d ? "," : "") + R"({"id":")" + std::to_string(d) +
                R"(","type":"NEURON_DEVICE"})";
  }
  return {"RegisterContainerInstance",
          R"({"cluster":")" + std::string(kClusterName) +
              R"(","totalResources":[{"name":"CPU","type":"INTEGER","integerValue":)" +
              std::to_string(cpu) + R"(},{"name":"MEMORY","type":"INTEGER","integerValue":)" +
              std::to_string(memory) + R"(}],"platformDevices":[)" + platform +
              R"(],"attributes":[{"name":"ecs.instance-type","value":")" + type +
              R"("},{"name":"ecs.availability-zone","value":")" + kZones[n % 3] + R"("}]})"};
}

// The measured call for --operation. Floor sends the DescribeTaskDefinition
// request, byte for byte what a read costs on the wire, to a server that
// answers without looking at it.
std::optional<Call> MeasuredCall(std::string_view operation) {
  if (operation == "DescribeTaskDefinition" || operation == "Floor") {
    return DescribeTaskDefinitionCall();
  }
  if (operation == "DescribeClusters") return DescribeClustersCall();
  if (operation == "RegisterTaskDefinition") return RegisterTaskDefinitionCall();
  if (operation == "RunTask") return RunTaskCall();
  return std::nullopt;
}

int Run(const Options& options) {
  std::optional<Call> call = MeasuredCall(options.operation);
  if (!call) {
    std::fprintf(stderr, "unknown --operation %s\n", options.operation.c_str());
    return 2;
  }

  auto creds = ResolveCredentials(options.credentials_file, options.profile, options.access_key,
                                  options.secret);
  if (!creds.ok()) {
    std::fprintf(stderr, "%s\n", creds.status().ToString().c_str());
    return 2;
  }
  RequestFactory factory(http::FormatEndpoint(options.host, options.port), std::move(*creds));

  // The reads need something to read; the floor answers anything.
  if (options.setup && options.operation != "Floor") {
    auto client = http::Client::Create(options.host, options.port);
    ErrorLog setup_errors;
    // CreateCluster of an existing cluster returns it again, so a second run
    // against the same server sets up as well as the first.
    if (!SendOnce(*client, factory, CreateClusterCall(), setup_errors) ||
        !SendOnce(*client, factory, RegisterTaskDefinitionCall(), setup_errors)) {
      std::fprintf(stderr, "setup failed\n");
      return 1;
    }
    if (options.operation == "RunTask" &&
        !SendOnce(*client, factory, RegisterRunTaskDefinitionCall(), setup_errors)) {
      std::fprintf(stderr, "setup failed\n");
      return 1;
    }
  }
  if (options.instances > 0) {
    // Registered in parallel, one connection per thread; not timed.
    ErrorLog setup_errors;
    auto began = Clock::now();
    ForEachOnConnections(options.host, options.port, options.concurrency, options.instances,
                         [&](http::Client& client, int64_t n) {
                           if (options.join_agents) {
                             RegisterAndJoin(client, factory, kClusterName, RegisterInstanceCall(n),
                                             setup_errors);
                           } else {
                             SendOnce(client, factory, RegisterInstanceCall(n), setup_errors);
                           }
                         });
    if (setup_errors.count() > 0) {
      std::fprintf(stderr, "registering instances failed\n");
      return 1;
    }
    std::fprintf(stderr, "registered %lld instances%s in %.1f s\n",
                 static_cast<long long>(options.instances),
                 options.join_agents ? " (each joined by an agent)" : "",
                 std::chrono::duration<double>(Clock::now() - began).count());
  }

  const int threads = options.concurrency;
  ErrorLog errors;
  std::vector<std::vector<int64_t>> latencies(threads);
  std::latch warmed_up(threads + 1);
  std::latch start(1);
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    // Spread the remainder so the total is exactly what was asked for.
    int64_t count = options.requests / threads + (t < options.requests % threads ? 1 : 0);
    int64_t warmup = options.warmup / threads + (t < options.warmup % threads ? 1 : 0);
    workers.emplace_back([&, t, count, warmup] {
      auto client = http::Client::Create(options.host, options.port);
      // Warm-up opens the connection and fills the server's caches; its
      // failures count as errors too, but its latencies are not kept.
      for (int64_t i = 0; i < warmup; ++i) SendOnce(*client, factory, *call, errors);
      std::vector<int64_t>& mine = latencies[t];
      mine.reserve(count);
      warmed_up.count_down();
      start.wait();
      for (int64_t i = 0; i < count; ++i) {
        auto sent = Clock::now();
        SendOnce(*client, factory, *call, errors);
        auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent);
        mine.push_back(took.count());
      }
    });
  }
  // Every thread starts measuring at once, with its connection open, so the
  // run measures N requests in flight from its first request to its last.
  warmed_up.arrive_and_wait();
  auto begin = Clock::now();
  start.count_down();
  for (auto& worker : workers) worker.join();
  double seconds = std::chrono::duration<double>(Clock::now() - begin).count();

  std::vector<int64_t> all;
  all.reserve(options.requests);
  for (auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
  std::sort(all.begin(), all.end());
  double rps = seconds > 0 ? static_cast<double>(all.size()) / seconds : 0;
  std::printf(
      "op=%s concurrency=%d requests=%zu seconds=%.3f rps=%.1f p50_us=%lld p99_us=%lld "
      "errors=%lld\n",
      options.operation.c_str(), threads, all.size(), seconds, rps,
      static_cast<long long>(Percentile(all, 0.50)), static_cast<long long>(Percentile(all, 0.99)),
      static_cast<long long>(errors.count()));
  std::fflush(stdout);
  return errors.count() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) {
  berth::bench::Options options;
  CLI::App app{"closed-loop load generator for berth's ECS API"};
  app.add_option("--host", options.host, "server address")->capture_default_str();
  app.add_option("--port", options.port, "server port")->capture_default_str();
  app.add_option("--credentials", options.credentials_file,
                 "AWS shared-credentials file (berth writes DATA/credentials)");
  app.add_option("--profile", options.profile, "profile in --credentials")->capture_default_str();
  app.add_option("--access-key", options.access_key, "access key id (instead of --credentials)");
  app.add_option("--secret", options.secret, "secret access key (instead of --credentials)");
  app.add_option("--operation", options.operation, "what to send")
      ->check(CLI::IsMember({"DescribeTaskDefinition", "DescribeClusters", "RegisterTaskDefinition",
                             "RunTask", "Floor"}))
      ->capture_default_str();
  app.add_option("--concurrency", options.concurrency, "threads, one connection each")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--requests", options.requests, "measured requests, all threads together")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--warmup", options.warmup, "unmeasured requests sent first, all threads together")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  app.add_flag("!--no-setup", options.setup,
               "skip CreateCluster and the first RegisterTaskDefinition");
  app.add_option("--instances", options.instances,
                 "container instances to register before the run (not timed)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}))
      ->capture_default_str();
  app.add_flag("--join-agents", options.join_agents,
               "each instance registered also joins as a node agent (no agent runs: the server "
               "counts it connected for its heartbeat timeout)");
  CLI11_PARSE(app, argc, argv);
  return berth::bench::Run(options);
}
