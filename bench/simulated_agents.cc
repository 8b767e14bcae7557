#include "simulated_agents.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <functional>
#include <optional>
#include <unordered_map>

#include "awsjson/client.h"
#include "http/endpoint.h"
#include "http/message.h"
#include "http/query_string.h"
#include "model/json_util.h"

namespace berth::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using model::StringOr;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr int kMaxPrintedErrors = 10;
// A poll or report that fails is tried again after this long.
constexpr auto kRetryDelay = std::chrono::milliseconds(500);
// Beyond the poll's own wait: how long a request may take before the
// connection is given up.
constexpr auto kRequestTimeout = std::chrono::seconds(120);
// An answer lists every task on the instance with its task definition.
constexpr uint64_t kMaxBodyBytes = 64 << 20;

bhttp::request<bhttp::string_body> ToBeast(http::Request&& request) {
  bhttp::request<bhttp::string_body> out;
  out.method_string(request.method);
  out.target(request.target);
  out.version(11);
  for (auto& [name, value] : request.headers) out.set(name, value);
  out.body() = std::move(request.body);
  out.keep_alive(true);
  out.prepare_payload();
  return out;
}

// One keep-alive HTTP/1.1 connection that sends one request at a time and
// reconnects when the server closed it (an idle keep-alive). Its handlers
// run on the owner's strand.
class Connection {
 public:
  using Done = std::function<void(beast::error_code, bhttp::response<bhttp::string_body>)>;

  Connection(Strand& strand, tcp::endpoint endpoint) : stream_(strand), endpoint_(endpoint) {}

  void Send(bhttp::request<bhttp::string_body> request, Done done) {
    request_ = std::move(request);
    done_ = std::move(done);
    retried_ = false;
    if (open_) {
      Write();
    } else {
      Connect();
    }
  }

 private:
  void Connect() {
    stream_.expires_after(kRequestTimeout);
    stream_.async_connect(endpoint_, [this](beast::error_code ec) {
      if (ec) return Finish(ec);
      open_ = true;
      reused_ = false;
      Write();
    });
  }

  void Write() {
    stream_.expires_after(kRequestTimeout);
    bhttp::async_write(stream_, request_, [this](beast::error_code ec, size_t) {
      if (ec) return Failed(ec);
      parser_.emplace();
      parser_->body_limit(kMaxBodyBytes);
      bhttp::async_read(stream_, buffer_, *parser_, [this](beast::error_code ec, size_t) {
        if (ec) return Failed(ec);
        auto response = parser_->release();
        reused_ = true;
        if (!response.keep_alive()) Close();
        Finish({}, std::move(response));
      });
    });
  }

  // A connection the server closed while it sat idle fails on first use:
  // once, connect again and resend (every request here may be repeated).
  void Failed(beast::error_code ec) {
    bool again = reused_ && !retried_;
    Close();
    if (!again) return Finish(ec);
    retried_ = true;
    Connect();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    open_ = false;
  }

  void Finish(beast::error_code ec, bhttp::response<bhttp::string_body> response = {}) {
    Done done = std::move(done_);
    done(ec, std::move(response));
  }

  beast::tcp_stream stream_;
  const tcp::endpoint endpoint_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> request_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  Done done_;
  bool open_ = false;
  bool reused_ = false;   // a response came over this connection before
  bool retried_ = false;  // this request was sent again after a failure
};

}  // namespace

struct SimulatedAgents::Shared {
  std::string cluster;
  int wait_seconds = 20;
  std::atomic<int64_t> instances_answered{0}, polls{0}, poll_bytes{0}, tasks_listed{0},
      running_reports{0}, stopped_reports{0}, errors{0};
  std::mutex mu;
  std::vector<int64_t> report_micros;  // guarded by mu

  void Error(const std::string& what) {
    if (errors.fetch_add(1) < kMaxPrintedErrors) {
      std::fprintf(stderr, "simulated agent: %s\n", what.c_str());
    }
  }
};

class SimulatedAgents::Instance {
 public:
  Instance(asio::io_context& io, tcp::endpoint endpoint, std::string host_header,
           AgentIdentity identity, Shared& shared)
      : strand_(asio::make_strand(io)),
        poll_(strand_, endpoint),
        report_(strand_, endpoint),
        retry_(strand_),
        signer_{std::move(host_header), std::move(identity.credentials),
                awsjson::RegionFromEnvironment()},
        name_(std::move(identity.name)),
        shared_(shared) {}

  void Start() {
    asio::post(strand_, [this] { Poll(); });
  }

  // FailTask: only the instance that reported the task RUNNING acts.
  void Fail(std::string task_arn, std::string container, int exit_code) {
    asio::post(strand_, [this, arn = std::move(task_arn), container = std::move(container),
                         exit_code]() mutable {
      auto it = known_.find(arn);
      if (it == known_.end() || it->second.reported != Reported::kRunning) return;
      it->second.reported = Reported::kStopped;
      Enqueue({std::move(arn), false, std::move(container), exit_code});
    });
  }

 private:
  enum class Reported { kNothing, kRunning, kStopped };
  struct Report {
    std::string task_arn;
    bool running;
    std::string failed_container;  // set: a crash of this container
    int exit_code = 0;
  };

  void Poll() {
    std::string target = "/berth/v1/agent/tasks?version=" + http::EncodeQueryValue(version_) +
                         "&waitSeconds=" + std::to_string(shared_.wait_seconds);
    poll_.Send(ToBeast(signer_.BerthRequest("GET", target, "", std::time(nullptr))),
               [this](beast::error_code ec, bhttp::response<bhttp::string_body> response) {
                 OnPollAnswer(ec, std::move(response));
               });
  }

  void OnPollAnswer(beast::error_code ec, bhttp::response<bhttp::string_body> response) {
    std::string failure;
    json::value body;
    if (ec) {
      failure = ec.message();
    } else if (response.result_int() != 200) {
      failure =
          "HTTP " + std::to_string(response.result_int()) + " " + response.body().substr(0, 300);
    } else {
      json::error_code parse_error;
      body = json::parse(response.body(), parse_error);
      if (parse_error || !body.is_object() || !body.as_object().contains("tasks") ||
          !body.as_object().at("tasks").is_array()) {
        failure = "not an assignment list: " + response.body().substr(0, 300);
      }
    }
    if (!failure.empty()) {
      shared_.Error("poll of " + name_ + ": " + failure);
      retry_.expires_after(kRetryDelay);
      retry_.async_wait([this](beast::error_code) { Poll(); });
      return;
    }
    if (!answered_) {
      answered_ = true;
      ++shared_.instances_answered;
    }
    ++shared_.polls;
    shared_.poll_bytes += static_cast<int64_t>(response.body().size());
    const json::object& answer = body.as_object();
    version_ = std::string(StringOr(answer, "version", ""));
    Reconcile(answer.at("tasks").as_array());
    Poll();
  }

  // What the real agent's Reconcile does, with reports in place of
  // containers: each task is reported once per state.
  void Reconcile(const json::array& tasks) {
    shared_.tasks_listed += static_cast<int64_t>(tasks.size());
    for (auto& [arn, state] : known_) state.listed = false;
    for (const auto& v : tasks) {
      if (!v.is_object()) continue;
      const json::object& task = v.get_object();
      std::string arn(StringOr(task, "taskArn", ""));
      std::string_view last = StringOr(task, "lastStatus", "");
      std::string_view desired = StringOr(task, "desiredStatus", "");
      Known& known = known_[arn];
      known.listed = true;
      if (desired == "STOPPED" && last != "STOPPED" && known.reported != Reported::kStopped) {
        known.reported = Reported::kStopped;
        Enqueue({std::move(arn), false, {}, 0});
      } else if (desired == "RUNNING" && last == "PENDING" &&
                 known.reported == Reported::kNothing) {
        known.reported = Reported::kRunning;
        Enqueue({std::move(arn), true, {}, 0});
      }
    }
    // A task the server no longer lists is stopped and gone for good.
    std::erase_if(known_, [](const auto& entry) { return !entry.second.listed; });
  }

  void Enqueue(Report report) {
    queue_.push_back(std::move(report));
    if (!reporting_) SendNextReport();
  }

  void SendNextReport() {
    if (queue_.empty()) {
      reporting_ = false;
      return;
    }
    reporting_ = true;
    Report report = std::move(queue_.front());
    queue_.pop_front();
    std::string body = R"({"cluster":")" + shared_.cluster + R"(","task":")" + report.task_arn;
    if (report.running) {
      body += R"(","status":"RUNNING"})";
    } else if (report.failed_container.empty()) {
      body += R"(","status":"STOPPED","reason":"stopped"})";
    } else {
      // What the real agent sends when an essential container exits.
      body += R"(","status":"STOPPED","reason":"Essential container in task exited",)"
              R"("containers":[{"containerName":")" +
              report.failed_container + R"(","status":"STOPPED","exitCode":)" +
              std::to_string(report.exit_code) + "}]}";
    }
    auto sent = SteadyClock::now();
    report_.Send(ToBeast(signer_.JsonCall(awsjson::kEcsTargetPrefix, "SubmitTaskStateChange",
                                          std::move(body), std::time(nullptr))),
                 [this, report = std::move(report), sent](
                     beast::error_code ec, bhttp::response<bhttp::string_body> response) {
                   if (!ec && response.result_int() == 200) {
                     auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                         SteadyClock::now() - sent);
                     ++(report.running ? shared_.running_reports : shared_.stopped_reports);
                     std::lock_guard lock(shared_.mu);
                     shared_.report_micros.push_back(micros.count());
                   } else {
                     shared_.Error("report of " + report.task_arn + ": " +
                                   (ec ? ec.message()
                                       : "HTTP " + std::to_string(response.result_int()) + " " +
                                             response.body().substr(0, 300)));
                   }
                   SendNextReport();
                 });
  }

  struct Known {
    Reported reported = Reported::kNothing;
    bool listed = false;
  };

  Strand strand_;
  Connection poll_;
  Connection report_;
  asio::steady_timer retry_;
  const awsjson::Signer signer_;
  const std::string name_;
  Shared& shared_;
  // Everything below: only on strand_.
  std::string version_;
  bool answered_ = false;
  std::unordered_map<std::string, Known> known_;  // task ARN -> what was reported
  std::deque<Report> queue_;
  bool reporting_ = false;
};

std::vector<AgentIdentity> JoinInstances(const std::string& host, uint16_t port, int concurrency,
                                         int64_t count, const RequestFactory& factory,
                                         std::string_view cluster,
                                         const std::function<Call(int64_t)>& register_call,
                                         ErrorLog& errors) {
  std::vector<AgentIdentity> identities(count);
  ForEachOnConnections(host, port, concurrency, count, [&](http::Client& client, int64_t n) {
    auto joined = RegisterAndJoin(client, factory, cluster, register_call(n), errors);
    if (!joined) return;
    json::error_code ec;
    json::value v = json::parse(*joined, ec);
    if (ec || !v.is_object()) {
      errors.Add("join: reply is not a JSON object");
      return;
    }
    const json::object& key = v.as_object();
    identities[n] = {std::string(StringOr(key, "accessKeyId", "")),
                     {std::string(StringOr(key, "accessKeyId", "")),
                      std::string(StringOr(key, "secretAccessKey", ""))}};
  });
  if (errors.count() > 0) return {};
  return identities;
}

SimulatedAgents::SimulatedAgents(SimulatedAgentsOptions options,
                                 std::vector<AgentIdentity> instances)
    : options_(std::move(options)), shared_(std::make_unique<Shared>()) {
  shared_->cluster = options_.cluster;
  shared_->wait_seconds = options_.wait_seconds;
  tcp::endpoint endpoint(asio::ip::make_address(options_.host), options_.port);
  std::string host_header = http::FormatEndpoint(options_.host, options_.port);
  instances_.reserve(instances.size());
  for (AgentIdentity& identity : instances) {
    instances_.push_back(
        std::make_unique<Instance>(io_, endpoint, host_header, std::move(identity), *shared_));
  }
}

SimulatedAgents::~SimulatedAgents() { Stop(); }

void SimulatedAgents::Start() {
  for (auto& instance : instances_) instance->Start();
  for (int t = 0; t < std::max(1, options_.threads); ++t) {
    threads_.emplace_back([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }
}

void SimulatedAgents::Stop() {
  io_.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

void SimulatedAgents::FailTask(const std::string& task_arn, const std::string& container,
                               int exit_code) {
  for (auto& instance : instances_) instance->Fail(task_arn, container, exit_code);
}

AgentStats SimulatedAgents::Stats() const {
  const Shared& s = *shared_;
  return AgentStats{s.instances_answered.load(),
                    s.polls.load(),
                    s.poll_bytes.load(),
                    s.tasks_listed.load(),
                    s.running_reports.load(),
                    s.stopped_reports.load(),
                    s.errors.load()};
}

std::vector<int64_t> SimulatedAgents::TakeReportLatencies() {
  std::vector<int64_t> out;
  {
    std::lock_guard lock(shared_->mu);
    out.swap(shared_->report_micros);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void AddSimulatedClusterOptions(CLI::App& app, SimulatedClusterOptions& o) {
  app.add_option("--host", o.host, "server address")->capture_default_str();
  app.add_option("--port", o.port, "server port")->capture_default_str();
  app.add_option("--credentials", o.credentials_file,
                 "AWS shared-credentials file (berth writes DATA/credentials)")
      ->required();
  app.add_option("--profile", o.profile, "profile in --credentials")->capture_default_str();
  app.add_option("--setup-concurrency", o.setup_concurrency,
                 "connections registering and joining the instances")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--agent-threads", o.agent_threads, "I/O threads of all simulated agents")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--poll-wait", o.poll_wait_seconds, "the agents' long-poll waitSeconds")
      ->check(CLI::Range(1, 25))
      ->capture_default_str();
  app.add_option("--server-pid", o.server_pid, "the server's pid, for its CPU time");
}

}  // namespace berth::bench
