#include "ecs_calls.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/credentials_file.h"

namespace berth::bench {

namespace {

// Only the first errors are printed in full; the rest are counted.
constexpr int kMaxPrintedErrors = 10;

// The agent join (POST /berth/v1/agent/credentials) of the instance that a
// RegisterContainerInstance answered with reply; nullopt when the reply has
// no containerInstanceArn.
std::optional<Call> JoinAgentCall(std::string_view cluster, std::string_view reply) {
  constexpr std::string_view kArn = R"("containerInstanceArn":")";
  size_t at = reply.find(kArn);
  if (at == std::string_view::npos) return std::nullopt;
  at += kArn.size();
  std::string_view arn = reply.substr(at, reply.find('"', at) - at);
  return Call{"JoinAgent",
              R"({"cluster":")" + std::string(cluster) + R"(","containerInstanceArn":")" +
                  std::string(arn) + R"(","agentEndpoint":"127.0.0.1:9"})",
              "/berth/v1/agent/credentials"};
}

}  // namespace

StatusOr<http::SigV4Credentials> ResolveCredentials(const std::string& credentials_file,
                                                    const std::string& profile,
                                                    const std::string& access_key,
                                                    const std::string& secret) {
  if (!access_key.empty() && !secret.empty()) return http::SigV4Credentials{access_key, secret};
  if (credentials_file.empty()) {
    return InvalidArgument("give --credentials FILE or --access-key and --secret");
  }
  auto key = ReadCredentialsProfile(credentials_file, profile);
  if (!key.ok()) return key.status();
  return http::SigV4Credentials{key->id, key->secret};
}

http::Request RequestFactory::Make(const Call& call) const {
  auto now = static_cast<int64_t>(std::time(nullptr));
  if (call.path == "/") {
    return signer_.JsonCall(awsjson::kEcsTargetPrefix, call.operation, call.body, now);
  }
  return signer_.BerthRequest("POST", call.path, call.body, now);
}

void ErrorLog::Add(std::string_view what) {
  int64_t n = count_.fetch_add(1, std::memory_order_relaxed);
  if (n >= kMaxPrintedErrors) return;
  std::lock_guard lock(print_mutex_);
  std::fprintf(stderr, "error: %.*s\n", static_cast<int>(what.size()), what.data());
}

bool SendOnce(http::Client& client, const RequestFactory& factory, const Call& call,
              ErrorLog& errors, std::string* body) {
  auto response = client.Do(factory.Make(call));
  if (!response.ok()) {
    errors.Add(call.operation + ": " + response.status().ToString());
    return false;
  }
  if (response->status != 200) {
    std::string shown = response->body.substr(0, 300);
    errors.Add(call.operation + ": HTTP " + std::to_string(response->status) + " " + shown);
    return false;
  }
  if (call.operation == "RunTask" && response->body.find(R"("failures":[])") == std::string::npos) {
    errors.Add("RunTask: not placed: " + response->body.substr(0, 300));
    return false;
  }
  if (body != nullptr) *body = std::move(response->body);
  return true;
}

std::optional<boost::json::object> AskJson(http::Client& client, const RequestFactory& factory,
                                           const Call& call, ErrorLog& errors, size_t* bytes) {
  std::string body;
  if (!SendOnce(client, factory, call, errors, &body)) return std::nullopt;
  if (bytes != nullptr) *bytes = body.size();
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    errors.Add(call.operation + ": reply is not a JSON object");
    return std::nullopt;
  }
  return std::move(v.as_object());
}

std::optional<std::string> RegisterAndJoin(http::Client& client, const RequestFactory& factory,
                                           std::string_view cluster, const Call& register_call,
                                           ErrorLog& errors) {
  std::string reply;
  if (!SendOnce(client, factory, register_call, errors, &reply)) return std::nullopt;
  std::optional<Call> join = JoinAgentCall(cluster, reply);
  if (!join) {
    errors.Add("RegisterContainerInstance: no containerInstanceArn in " + reply.substr(0, 300));
    return std::nullopt;
  }
  if (!SendOnce(client, factory, *join, errors, &reply)) return std::nullopt;
  return reply;
}

void ForEachOnConnections(const std::string& host, uint16_t port, int threads, int64_t count,
                          const std::function<void(http::Client&, int64_t)>& fn) {
  std::atomic<int64_t> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < std::max(1, threads); ++t) {
    workers.emplace_back([&] {
      auto client = http::Client::Create(host, port);
      for (int64_t n = next++; n < count; n = next++) fn(*client, n);
    });
  }
  for (auto& worker : workers) worker.join();
}

double ProcessCpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  // After "pid (comm) ": state is field 3; utime and stime are 14 and 15.
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace berth::bench
