// What the ECS load tools (berth_api_load, berth_service_bench) share: a call
// as an operation and its body, requests signed as an AWS SDK signs them,
// failure counting, the agent join and percentiles.
//
// Each tool keeps its own connections (one blocking http::Client per thread);
// everything here is immutable after construction or thread-safe.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "awsjson/client.h"
#include "common/status.h"
#include "http/client.h"
#include "http/message.h"
#include "http/sigv4.h"

namespace berth::bench {

// One ECS call: the X-Amz-Target operation and its JSON body.
struct Call {
  std::string operation;
  std::string body;
  std::string path = "/";  // another path: a berth endpoint, plain JSON
};

// The key to sign with: access_key and secret when both are given, else the
// profile's key from an AWS shared-credentials file (berth writes
// DATA/credentials).
StatusOr<http::SigV4Credentials> ResolveCredentials(const std::string& credentials_file,
                                                    const std::string& profile,
                                                    const std::string& access_key,
                                                    const std::string& secret);

// Builds and signs requests for one endpoint, as awsjson::Client does, for
// connections a load tool keeps itself (one per thread). Immutable after
// construction, so threads share it.
class RequestFactory {
 public:
  RequestFactory(std::string host_header, http::SigV4Credentials creds)
      : signer_{std::move(host_header), std::move(creds), awsjson::RegionFromEnvironment()} {}

  // Signed with the current time: a signature older than five minutes is
  // refused, and a long run must keep working, as a real client does.
  http::Request Make(const Call& call) const;

 private:
  awsjson::Signer signer_;
};

// Counts failures from every thread and prints the first few in full.
class ErrorLog {
 public:
  void Add(std::string_view what);
  int64_t count() const { return count_.load(); }

 private:
  std::atomic<int64_t> count_{0};
  std::mutex print_mutex_;
};

// Sends call once; records a failure in errors and returns false unless the
// response is a 200. A RunTask whose reply has failures is a failure too, or
// a full cluster would pass for a fast one. body, when given, receives the
// response's body.
bool SendOnce(http::Client& client, const RequestFactory& factory, const Call& call,
              ErrorLog& errors, std::string* body = nullptr);

// SendOnce, and the reply parsed: a JSON object, or nullopt (the failure
// recorded). bytes, when given, receives the reply's size.
std::optional<boost::json::object> AskJson(http::Client& client, const RequestFactory& factory,
                                           const Call& call, ErrorLog& errors,
                                           size_t* bytes = nullptr);

// Registers an instance with register_call (RegisterContainerInstance) and
// joins it as a node agent; the join's reply (the instance credential:
// accessKeyId, secretAccessKey), or nullopt after recording the failure.
std::optional<std::string> RegisterAndJoin(http::Client& client, const RequestFactory& factory,
                                           std::string_view cluster, const Call& register_call,
                                           ErrorLog& errors);

// Calls fn(client, n) for every n in [0, count) from `threads` threads, each
// with its own keep-alive connection to host:port; returns when all are done.
void ForEachOnConnections(const std::string& host, uint16_t port, int threads, int64_t count,
                          const std::function<void(http::Client&, int64_t)>& fn);

// CPU seconds (user + system) a process has used, from /proc (0 when it
// cannot be read); OwnCpuSeconds: this process's, from getrusage.
double ProcessCpuSeconds(int pid);
double OwnCpuSeconds();

// Seconds from t until now, on the steady clock.
double SecondsSince(std::chrono::steady_clock::time_point t);

// The value below which fraction p of sorted values lie (nearest rank).
int64_t Percentile(const std::vector<int64_t>& sorted, double p);

}  // namespace berth::bench
