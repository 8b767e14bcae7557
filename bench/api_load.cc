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
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "awsjson/client.h"
#include "common/credentials_file.h"
#include "common/status.h"
#include "http/client.h"
#include "http/endpoint.h"
#include "http/message.h"
#include "http/sigv4.h"

namespace berth::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kClusterName = "bench";
// Registrations of this family pile up revisions across runs; reads ask for
// its latest one, so a growing history is part of what reads are measured on.
constexpr std::string_view kFamily = "bench-api-load";
// Only the first errors are printed in full; the rest are counted.
constexpr int kMaxPrintedErrors = 10;

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

// One ECS call: the X-Amz-Target operation and its JSON body.
struct Call {
  std::string operation;
  std::string body;
  std::string path = "/";  // another path: a berth endpoint, plain JSON
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

// One profile's key from an AWS shared-credentials file (INI).
StatusOr<http::SigV4Credentials> ReadCredentials(const std::string& path,
                                                 const std::string& profile) {
  auto key = ReadCredentialsProfile(path, profile);
  if (!key.ok()) return key.status();
  return http::SigV4Credentials{key->id, key->secret};
}

// Builds and signs requests for one endpoint, as awsjson::Client does, for
// connections the load tool keeps itself (one per thread). Immutable after
// construction, so threads share it.
class RequestFactory {
 public:
  RequestFactory(std::string host_header, http::SigV4Credentials creds)
      : signer_{std::move(host_header), std::move(creds), awsjson::RegionFromEnvironment()} {}

  // Signed with the current time: a signature older than five minutes is
  // refused, and a long run must keep working, as a real client does.
  http::Request Make(const Call& call) const {
    auto now = static_cast<int64_t>(std::time(nullptr));
    if (call.path == "/") {
      return signer_.JsonCall(awsjson::kEcsTargetPrefix, call.operation, call.body, now);
    }
    return signer_.BerthRequest("POST", call.path, call.body, now);
  }

 private:
  awsjson::Signer signer_;
};

// Counts failures from every thread and prints the first few in full.
class ErrorLog {
 public:
  void Add(std::string_view what) {
    int n = count_.fetch_add(1, std::memory_order_relaxed);
    if (n >= kMaxPrintedErrors) return;
    std::lock_guard lock(print_mutex_);
    std::fprintf(stderr, "error: %.*s\n", static_cast<int>(what.size()), what.data());
  }
  int64_t count() const { return count_.load(); }

 private:
  std::atomic<int64_t> count_{0};
  std::mutex print_mutex_;
};

// Sends call once; records a failure in errors and returns false unless the
// response is a 200. body, when given, receives the response's body.
bool SendOnce(http::Client& client, const RequestFactory& factory, const Call& call,
              ErrorLog& errors, std::string* body = nullptr) {
  auto response = client.Do(factory.Make(call));
  if (!response.ok()) {
    errors.Add(call.operation + ": " + response.status().ToString());
    return false;
  }
  if (response->status != 200) {
    std::string body = response->body.substr(0, 300);
    errors.Add(call.operation + ": HTTP " + std::to_string(response->status) + " " + body);
    return false;
  }
  // A RunTask that placed nothing answers 200 with failures; it counts as
  // an error, or an empty cluster would pass for a fast one.
  if (call.operation == "RunTask" && response->body.find(R"("failures":[])") == std::string::npos) {
    errors.Add("RunTask: not placed: " + response->body.substr(0, 300));
    return false;
  }
  if (body != nullptr) *body = std::move(response->body);
  return true;
}

// The agent join of the instance that a RegisterContainerInstance answered
// with reply.
std::optional<Call> JoinAgentCall(std::string_view reply) {
  constexpr std::string_view kArn = R"("containerInstanceArn":")";
  size_t at = reply.find(kArn);
  if (at == std::string_view::npos) return std::nullopt;
  at += kArn.size();
  std::string_view arn = reply.substr(at, reply.find('"', at) - at);
  return Call{"JoinAgent",
              R"({"cluster":")" + std::string(kClusterName) + R"(","containerInstanceArn":")" +
                  std::string(arn) + R"(","agentEndpoint":"127.0.0.1:9"})",
              "/berth/v1/agent/credentials"};
}

// The value below which fraction p of sorted values lie (nearest rank).
int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

int Run(const Options& options) {
  std::optional<Call> call = MeasuredCall(options.operation);
  if (!call) {
    std::fprintf(stderr, "unknown --operation %s\n", options.operation.c_str());
    return 2;
  }

  http::SigV4Credentials creds{options.access_key, options.secret};
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    if (options.credentials_file.empty()) {
      std::fprintf(stderr, "give --credentials FILE or --access-key and --secret\n");
      return 2;
    }
    auto read = ReadCredentials(options.credentials_file, options.profile);
    if (!read.ok()) {
      std::fprintf(stderr, "%s\n", read.status().ToString().c_str());
      return 2;
    }
    creds = std::move(*read);
  }
  RequestFactory factory(http::FormatEndpoint(options.host, options.port), std::move(creds));

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
    std::atomic<int64_t> next{0};
    std::vector<std::thread> registrars;
    auto began = Clock::now();
    for (int t = 0; t < std::max(1, options.concurrency); ++t) {
      registrars.emplace_back([&] {
        auto client = http::Client::Create(options.host, options.port);
        for (int64_t n = next++; n < options.instances; n = next++) {
          std::string reply;
          if (!SendOnce(*client, factory, RegisterInstanceCall(n), setup_errors, &reply) ||
              !options.join_agents) {
            continue;
          }
          std::optional<Call> join = JoinAgentCall(reply);
          if (!join) {
            setup_errors.Add("RegisterContainerInstance: no containerInstanceArn in " +
                             reply.substr(0, 300));
            continue;
          }
          SendOnce(*client, factory, *join, setup_errors);
        }
      });
    }
    for (auto& r : registrars) r.join();
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
