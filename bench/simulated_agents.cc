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
#include <boost/json/serialize.hpp>
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
  std::chrono::milliseconds start_delay{0}, stop_delay{0};
  std::optional<awsjson::Signer> join_signer;  // for JoiningNodes
  std::atomic<int64_t> joined{0}, instances_answered{0}, polls{0}, heartbeats{0}, poll_bytes{0},
      tasks_listed{0}, running_reports{0}, stopped_reports{0}, errors{0};
  std::mutex mu;
  // Guarded by mu.
  std::vector<int64_t> report_micros, delivery_micros, join_micros;
  // Starts the next JoiningNode's join, if one waits (set by SimulatedAgents).
  std::function<void()> join_next;

  void Error(const std::string& what) {
    if (errors.fetch_add(1) < kMaxPrintedErrors) {
      std::fprintf(stderr, "simulated agent: %s\n", what.c_str());
    }
  }
  void Record(std::vector<int64_t> Shared::*list, int64_t micros) {
    std::lock_guard lock(mu);
    (this->*list).push_back(micros);
  }
};

namespace {

int64_t EpochMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t MicrosSince(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t).count();
}

// "HTTP 403 {...}" or the transport error, for the printed failures.
std::string Failure(beast::error_code ec, const bhttp::response<bhttp::string_body>& response) {
  if (ec) return ec.message();
  return "HTTP " + std::to_string(response.result_int()) + " " + response.body().substr(0, 300);
}

}  // namespace

class SimulatedAgents::Instance {
 public:
  // A node that has joined: identity holds its instance credential.
  Instance(asio::io_context& io, tcp::endpoint endpoint, std::string host_header,
           AgentIdentity identity, Shared& shared)
      : Instance(io, endpoint, host_header, std::move(identity.name), shared) {
    signer_.emplace(awsjson::Signer{host_header_, std::move(identity.credentials),
                                    awsjson::RegionFromEnvironment()});
  }
  // A node that joins when started.
  Instance(asio::io_context& io, tcp::endpoint endpoint, std::string host_header, JoiningNode node,
           Shared& shared)
      : Instance(io, endpoint, std::move(host_header), std::move(node.name), shared) {
    if (!node.cluster.empty()) cluster_ = std::move(node.cluster);
    registration_ = std::move(node.registration);
    agent_endpoint_ = std::move(node.agent_endpoint);
  }

  bool joined() const { return signer_.has_value(); }

  // Polls when joined, else joins first.
  void Start() {
    asio::post(strand_, [this] { joined() ? Poll() : Join(); });
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
  struct Known {
    Reported reported = Reported::kNothing;
    bool listed = false;
    std::vector<std::string> containers;  // names, for the reports
    int64_t pull_started_millis = 0;      // when it was first listed (the pull starts)
  };

  Instance(asio::io_context& io, tcp::endpoint endpoint, std::string host_header, std::string name,
           Shared& shared)
      : strand_(asio::make_strand(io)),
        poll_(strand_, endpoint),
        calls_(strand_, endpoint),
        retry_(strand_),
        host_header_(std::move(host_header)),
        name_(std::move(name)),
        shared_(shared),
        cluster_(shared.cluster) {}

  // What `berth agent` does first (Agent::Join): registers the node with
  // the join key, then trades it for the instance credential. A failure is
  // tried again after kRetryDelay, as the agent retries its join.
  void Join() {
    join_began_ = SteadyClock::now();
    const awsjson::Signer& signer = *shared_.join_signer;
    calls_.Send(ToBeast(signer.JsonCall(awsjson::kEcsTargetPrefix, "RegisterContainerInstance",
                                        registration_, std::time(nullptr))),
                [this](beast::error_code ec, bhttp::response<bhttp::string_body> response) {
                  OnRegistered(ec, std::move(response));
                });
  }

  void OnRegistered(beast::error_code ec, bhttp::response<bhttp::string_body> response) {
    json::error_code parse_error;
    json::value reply;
    if (!ec && response.result_int() == 200) reply = json::parse(response.body(), parse_error);
    const json::value* instance =
        reply.is_object() ? reply.as_object().if_contains("containerInstance") : nullptr;
    std::string arn = instance != nullptr && instance->is_object()
                          ? std::string(StringOr(instance->as_object(), "containerInstanceArn", ""))
                          : "";
    if (arn.empty()) return JoinFailed("register: " + Failure(ec, response));
    json::object join{
        {"cluster", cluster_}, {"containerInstanceArn", arn}, {"agentEndpoint", agent_endpoint_}};
    calls_.Send(
        ToBeast(shared_.join_signer->BerthRequest("POST", "/berth/v1/agent/credentials",
                                                  json::serialize(join), std::time(nullptr))),
        [this](beast::error_code ec, bhttp::response<bhttp::string_body> response) {
          OnCredentials(ec, std::move(response));
        });
  }

  void OnCredentials(beast::error_code ec, bhttp::response<bhttp::string_body> response) {
    json::error_code parse_error;
    json::value reply;
    if (!ec && response.result_int() == 200) reply = json::parse(response.body(), parse_error);
    std::string key_id, secret;
    if (reply.is_object()) {
      key_id = StringOr(reply.as_object(), "accessKeyId", "");
      secret = StringOr(reply.as_object(), "secretAccessKey", "");
    }
    if (key_id.empty() || secret.empty()) {
      return JoinFailed("agent credentials: " + Failure(ec, response));
    }
    signer_.emplace(awsjson::Signer{
        host_header_, {std::move(key_id), std::move(secret)}, awsjson::RegionFromEnvironment()});
    registration_ = std::string();
    ++shared_.joined;
    shared_.Record(&Shared::join_micros, MicrosSince(join_began_));
    if (shared_.join_next) shared_.join_next();
    Poll();
  }

  void JoinFailed(const std::string& why) {
    shared_.Error("join of " + name_ + ": " + why);
    retry_.expires_after(kRetryDelay);
    retry_.async_wait([this](beast::error_code) { Join(); });
  }

  void Poll() {
    std::string target = "/berth/v1/agent/tasks?version=" + http::EncodeQueryValue(version_) +
                         "&waitSeconds=" + std::to_string(shared_.wait_seconds) + "&delta=1";
    poll_.Send(ToBeast(signer_->BerthRequest("GET", target, "", std::time(nullptr))),
               [this](beast::error_code ec, bhttp::response<bhttp::string_body> response) {
                 OnPollAnswer(ec, std::move(response));
               });
  }

  void OnPollAnswer(beast::error_code ec, bhttp::response<bhttp::string_body> response) {
    std::string failure;
    json::value body;
    if (ec || response.result_int() != 200) {
      failure = Failure(ec, response);
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
    std::string version(StringOr(answer, "version", ""));
    if (version == version_) ++shared_.heartbeats;
    version_ = std::move(version);
    Reconcile(answer.at("tasks").as_array(), model::ArrayOr(answer, "unchangedTaskArns"));
    Poll();
  }

  // What the real agent's Reconcile does, with reports in place of
  // containers: each task is reported once per state.
  void Reconcile(const json::array& tasks, const json::array& unchanged) {
    shared_.tasks_listed += static_cast<int64_t>(tasks.size());
    const int64_t now_millis = EpochMillis();
    for (auto& [arn, state] : known_) state.listed = false;
    for (const auto& v : unchanged) {
      auto it = v.is_string() ? known_.find(std::string(v.get_string())) : known_.end();
      if (it == known_.end()) {
        // The server named as unchanged a task this node was never sent.
        shared_.Error("poll of " + name_ + ": unknown task named unchanged: " + json::serialize(v));
        version_.clear();
        continue;
      }
      it->second.listed = true;
    }
    for (const auto& v : tasks) {
      if (!v.is_object()) continue;
      const json::object& task = v.get_object();
      std::string arn(StringOr(task, "taskArn", ""));
      std::string_view last = StringOr(task, "lastStatus", "");
      std::string_view desired = StringOr(task, "desiredStatus", "");
      auto [it, is_new] = known_.try_emplace(arn);
      Known& known = it->second;
      known.listed = true;
      if (is_new) {
        known.pull_started_millis = now_millis;
        if (const json::value* created = task.if_contains("createdAt");
            created != nullptr && created->is_number()) {
          auto created_millis = static_cast<int64_t>(created->to_number<double>() * 1000.0 + 0.5);
          shared_.Record(&Shared::delivery_micros, (now_millis - created_millis) * 1000);
        }
        for (const auto& c : model::ArrayOr(task, "containers")) {
          if (c.is_object()) known.containers.emplace_back(StringOr(c.get_object(), "name", ""));
        }
      }
      if (desired == "STOPPED" && last != "STOPPED" && known.reported != Reported::kStopped) {
        known.reported = Reported::kStopped;
        After(shared_.stop_delay, {std::move(arn), false, {}, 0});
      } else if (desired == "RUNNING" && last == "PENDING" &&
                 known.reported == Reported::kNothing) {
        known.reported = Reported::kRunning;
        After(shared_.start_delay, {std::move(arn), true, {}, 0});
      }
    }
    // A task the server no longer lists is stopped and gone for good.
    std::erase_if(known_, [](const auto& entry) { return !entry.second.listed; });
  }

  // Queues report after delay (a container starting or stopping).
  void After(std::chrono::milliseconds delay, Report report) {
    if (delay.count() <= 0) return Enqueue(std::move(report));
    auto timer = std::make_shared<asio::steady_timer>(strand_, delay);
    timer->async_wait([this, timer, report = std::move(report)](beast::error_code) mutable {
      Enqueue(std::move(report));
    });
  }

  void Enqueue(Report report) {
    queue_.push_back(std::move(report));
    if (!reporting_) SendNextReport();
  }

  // The report as the real agent's TaskWorker::Report builds it.
  std::string ReportBody(const Report& report) {
    json::object in{{"cluster", cluster_},
                    {"task", report.task_arn},
                    {"status", report.running ? "RUNNING" : "STOPPED"}};
    const int64_t now_millis = EpochMillis();
    auto it = known_.find(report.task_arn);
    json::array containers;
    if (it != known_.end()) {
      for (const std::string& name : it->second.containers) {
        json::object c{
            {"containerName", name},
            {"status", report.running ? "RUNNING" : "STOPPED"},
            {"runtimeId", report.task_arn.substr(report.task_arn.rfind('/') + 1) + "-" + name},
            {"imageDigest", kImageDigest},
            {"healthStatus", "UNKNOWN"}};
        if (!report.running) c["exitCode"] = name == report.failed_container ? report.exit_code : 0;
        containers.push_back(std::move(c));
      }
      in["pullStartedAt"] = static_cast<double>(it->second.pull_started_millis) / 1000.0;
      in["pullStoppedAt"] = static_cast<double>(it->second.pull_started_millis + 1) / 1000.0;
    }
    in["containers"] = std::move(containers);
    in["healthStatus"] = "UNKNOWN";
    if (!report.running) {
      in["reason"] = report.failed_container.empty() ? "Task stopped by the server"
                                                     : "Essential container in task exited";
      in["executionStoppedAt"] = static_cast<double>(now_millis) / 1000.0;
    }
    return json::serialize(in);
  }

  void SendNextReport() {
    if (queue_.empty()) {
      reporting_ = false;
      return;
    }
    reporting_ = true;
    Report report = std::move(queue_.front());
    queue_.pop_front();
    // Built before the report moves into the callback below.
    auto request = ToBeast(signer_->JsonCall(awsjson::kEcsTargetPrefix, "SubmitTaskStateChange",
                                             ReportBody(report), std::time(nullptr)));
    auto sent = SteadyClock::now();
    calls_.Send(std::move(request),
                [this, report = std::move(report), sent](
                    beast::error_code ec, bhttp::response<bhttp::string_body> response) {
                  if (!ec && response.result_int() == 200) {
                    ++(report.running ? shared_.running_reports : shared_.stopped_reports);
                    shared_.Record(&Shared::report_micros, MicrosSince(sent));
                  } else {
                    shared_.Error("report of " + report.task_arn + ": " + Failure(ec, response));
                  }
                  SendNextReport();
                });
  }

  // What every simulated container runs (a digest in the registry's form).
  static constexpr const char* kImageDigest =
      "sha256:0000000000000000000000000000000000000000000000000000000000000000";

  Strand strand_;
  Connection poll_;
  Connection calls_;  // the join, then the reports
  asio::steady_timer retry_;
  const std::string host_header_;
  const std::string name_;
  Shared& shared_;
  // Everything below: only on strand_.
  std::string cluster_;
  std::optional<awsjson::Signer> signer_;  // the instance credential's, once joined
  std::string registration_;               // a JoiningNode's, until it has joined
  std::string agent_endpoint_;
  SteadyClock::time_point join_began_;
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
  Build(std::move(instances), {});
}

SimulatedAgents::SimulatedAgents(SimulatedAgentsOptions options, std::vector<JoiningNode> nodes)
    : options_(std::move(options)), shared_(std::make_unique<Shared>()) {
  Build({}, std::move(nodes));
}

void SimulatedAgents::Build(std::vector<AgentIdentity> joined, std::vector<JoiningNode> joining) {
  shared_->cluster = options_.cluster;
  shared_->wait_seconds = options_.wait_seconds;
  shared_->start_delay = std::chrono::milliseconds(options_.start_delay_ms);
  shared_->stop_delay = std::chrono::milliseconds(options_.stop_delay_ms);
  tcp::endpoint endpoint(asio::ip::make_address(options_.host), options_.port);
  std::string host_header = http::FormatEndpoint(options_.host, options_.port);
  shared_->join_signer.emplace(
      awsjson::Signer{host_header, options_.join_key, awsjson::RegionFromEnvironment()});
  instances_.reserve(joined.size() + joining.size());
  for (AgentIdentity& identity : joined) {
    instances_.push_back(
        std::make_unique<Instance>(io_, endpoint, host_header, std::move(identity), *shared_));
  }
  for (JoiningNode& node : joining) {
    instances_.push_back(
        std::make_unique<Instance>(io_, endpoint, host_header, std::move(node), *shared_));
  }
}

SimulatedAgents::~SimulatedAgents() { Stop(); }

void SimulatedAgents::Start() {
  // Joined nodes poll at once; the others join, max_joining at a time, each
  // that has joined letting the next one start.
  auto waiting = std::make_shared<std::vector<Instance*>>();
  for (auto& instance : instances_) {
    if (instance->joined()) {
      instance->Start();
    } else {
      waiting->push_back(instance.get());
    }
  }
  auto next = std::make_shared<std::atomic<size_t>>(0);
  shared_->join_next = [waiting, next] {
    size_t n = next->fetch_add(1);
    if (n < waiting->size()) (*waiting)[n]->Start();
  };
  for (int i = 0; i < std::max(1, options_.max_joining); ++i) shared_->join_next();
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
  return AgentStats{s.joined.load(),          s.instances_answered.load(), s.polls.load(),
                    s.heartbeats.load(),      s.poll_bytes.load(),         s.tasks_listed.load(),
                    s.running_reports.load(), s.stopped_reports.load(),    s.errors.load()};
}

namespace {

std::vector<int64_t> TakeSorted(std::mutex& mu, std::vector<int64_t>& list) {
  std::vector<int64_t> out;
  {
    std::lock_guard lock(mu);
    out.swap(list);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<int64_t> SimulatedAgents::TakeReportLatencies() {
  return TakeSorted(shared_->mu, shared_->report_micros);
}

std::vector<int64_t> SimulatedAgents::TakeDeliveryLatencies() {
  return TakeSorted(shared_->mu, shared_->delivery_micros);
}

std::vector<int64_t> SimulatedAgents::TakeJoinLatencies() {
  return TakeSorted(shared_->mu, shared_->join_micros);
}

SimulatedAgentsOptions AgentsOptions(const SimulatedClusterOptions& o, std::string cluster) {
  SimulatedAgentsOptions options;
  options.host = o.host;
  options.port = o.port;
  options.cluster = std::move(cluster);
  options.threads = o.agent_threads;
  options.wait_seconds = o.poll_wait_seconds;
  return options;
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
