#include "agent/log_server.h"

#include <boost/json/serialize.hpp>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include "agent/exec_session.h"
#include "agent/task_worker.h"
#include "common/metrics.h"
#include "http/metrics_endpoint.h"
#include "http/query_string.h"
#include "http/server.h"
#include "http/websocket.h"

namespace berth::agent {

namespace {

constexpr size_t kMaxChunkBytes = 1 << 20;
constexpr int kMaxWaitSeconds = 20;

http::Response Error(int status, std::string type, std::string message) {
  http::Response r;
  r.status = status;
  r.SetHeader("content-type", "application/x-amz-json-1.1");
  r.body = "{\"__type\":\"" + type + "\",\"message\":\"" + message + "\"}";
  return r;
}

class LogServerImpl : public LogServer {
 public:
  LogServerImpl(ContainerRuntime& runtime, std::function<http::SigV4Credentials()> credentials,
                MayStillRun may_still_run, const PullBoard& pulls, std::string metrics_token)
      : runtime_(runtime),
        credentials_(std::move(credentials)),
        may_still_run_(std::move(may_still_run)),
        pulls_(pulls),
        metrics_(metrics::DefaultRegistry(), std::move(metrics_token)) {}
  ~LogServerImpl() override { Stop(); }

  Status Listen(const std::string& listen, std::shared_ptr<http::ServerTls> tls) {
    http::ServerOptions options;
    options.listen = listen;
    options.name = "agent";
    options.threads = 1;
    options.tls = std::move(tls);
    auto server = http::Server::Start(options, [this](http::Request&& r, http::Responder respond) {
      Handle(std::move(r), std::move(respond));
    });
    if (!server.ok()) return server.status().WithContext("agent log server on " + listen);
    server_ = std::move(*server);
    return Status::Ok();
  }

  uint16_t port() const override { return server_->port(); }

  void Stop() override {
    {
      std::unique_lock lock(mu_);
      stopping_ = true;
      idle_.wait(lock, [this] { return in_flight_ == 0; });
    }
    // Stopping the server closes the exec sessions' sockets, which kills
    // their processes; then they end.
    if (server_) server_->Stop();
    std::unique_lock lock(mu_);
    idle_.wait(lock, [this] { return exec_sessions_ == 0; });
  }

 private:
  void Handle(http::Request&& request, http::Responder respond) {
    if (http::MetricsEndpoint::Accepts(request)) {
      return metrics_.Handle(std::move(request), std::move(respond));
    }
    const bool logs = request.Path() == "/berth/v1/agent/logs";
    const bool pulls = request.Path() == "/berth/v1/agent/pulls";
    const bool exec = request.Path() == "/berth/v1/agent/exec";
    if (request.method != "GET" || !(logs || pulls || exec)) {
      return respond(Error(404, "UnknownOperationException",
                           "the agent serves GET /berth/v1/agent/logs, /berth/v1/agent/pulls, "
                           "/berth/v1/agent/exec and /metrics"));
    }
    http::SigV4Credentials creds = credentials_();
    http::SecretLookup lookup = [&creds](std::string_view id) -> std::optional<std::string> {
      if (id == creds.access_key_id) return creds.secret_access_key;
      return std::nullopt;
    };
    auto identity = http::VerifySigV4(request, lookup, std::time(nullptr));
    if (auto* e = std::get_if<http::SigV4Error>(&identity))
      return respond(Error(403, e->type, e->message));
    if (exec) return HandleExec(request, std::move(respond));

    if (pulls) return respond(Pulls(request));

    std::string task, container;
    uint64_t offset = 0;
    int wait_seconds = 0;
    for (const auto& [key, value] : http::ParseQueryString(request.Query())) {
      if (key == "task") task = value;
      if (key == "container") container = value;
      if (key != "offset" && key != "waitSeconds") continue;
      auto n = http::ParseQueryCount(value);
      if (!n) return respond(Error(400, "InvalidParameterException", key + " must be a number"));
      if (key == "offset") offset = *n;
      if (key == "waitSeconds") {
        wait_seconds = static_cast<int>(std::min<uint64_t>(*n, kMaxWaitSeconds));
      }
    }
    if (task.empty() || container.empty()) {
      return respond(Error(400, "InvalidParameterException", "task and container are required"));
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) return respond(Error(503, "ServiceUnavailableException", "agent stopping"));
      ++in_flight_;
    }
    // Waiting for output must not hold the I/O thread.
    std::thread([this, task, container, offset, wait_seconds, respond = std::move(respond)] {
      respond(Read(task, container, offset, wait_seconds));
      std::lock_guard lock(mu_);
      if (--in_flight_ == 0) idle_.notify_all();
    }).detach();
  }

  // Refuses with an ordinary reply what cannot run (the server relays it);
  // else upgrades and runs the session on a thread of its own.
  void HandleExec(const http::Request& request, http::Responder respond) {
    if (!http::IsWebSocketUpgrade(request)) {
      return respond(Error(400, "InvalidParameterException", "exec needs a WebSocket upgrade"));
    }
    auto query = http::ParseQueryString(request.Query());
    auto options = http::DecodeExecQuery(query);
    if (!options.ok()) {
      return respond(Error(400, "InvalidParameterException", options.status().message()));
    }
    auto spec = std::make_shared<ExecSessionSpec>();
    spec->task_id = query["task"];
    spec->container = query["container"];
    spec->options = std::move(*options);
    if (spec->task_id.empty() || spec->container.empty()) {
      return respond(Error(400, "InvalidParameterException", "task and container are required"));
    }
    spec->container_id = TaskWorker::ContainerId(spec->task_id, spec->container);
    auto state = runtime_.State(spec->container_id);
    if (!state.ok() || state->phase != ContainerState::Phase::kRunning) {
      return respond(Error(409, "InvalidParameterException",
                           "container " + spec->container + " of task " + spec->task_id +
                               " is not running on this node"));
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) return respond(Error(503, "ServiceUnavailableException", "agent stopping"));
      ++exec_sessions_;
    }
    // The session counts until its thread ends, or until the callback is
    // destroyed unused (a failed handshake).
    std::shared_ptr<void> counted(nullptr, [this](void*) {
      std::lock_guard lock(mu_);
      if (--exec_sessions_ == 0) idle_.notify_all();
    });
    respond(
        http::UpgradeToWebSocket([this, spec, counted](std::unique_ptr<http::WebSocket> socket) {
          std::thread([this, spec, counted, socket = std::move(socket)] {
            RunExecSession(runtime_, *spec, *socket);
          }).detach();
        }));
  }

  http::Response Pulls(const http::Request& request) {
    auto query = http::ParseQueryString(request.Query());
    auto task = query.find("task");
    if (task == query.end() || task->second.empty()) {
      return Error(400, "InvalidParameterException", "task is required");
    }
    http::Response r;
    r.SetHeader("content-type", "application/json");
    r.body = boost::json::serialize(pulls_.Read(task->second));
    return r;
  }

  http::Response Read(const std::string& task, const std::string& container, uint64_t offset,
                      int wait_seconds) {
    const std::string id = TaskWorker::ContainerId(task, container);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
    while (true) {
      auto state = runtime_.State(id);
      bool exited = !state.ok() || state->phase == ContainerState::Phase::kExited ||
                    state->phase == ContainerState::Phase::kMissing;
      // Before the start, and between an exit and its restart, the log
      // goes on.
      if (exited && may_still_run_ && may_still_run_(task, container)) exited = false;
      auto chunk = ReadContainerLog(runtime_.LogPath(id), offset, kMaxChunkBytes);
      if (!chunk.ok()) {
        if (chunk.status().code() == StatusCode::kNotFound) {
          return Error(404, "InvalidParameterException",
                       "no log for container " + id + " on this node");
        }
        return Error(500, "ServerException", chunk.status().message());
      }
      bool more = chunk->next_offset > offset;
      bool timed_out = std::chrono::steady_clock::now() >= deadline;
      {
        std::lock_guard lock(mu_);
        if (stopping_) timed_out = true;
      }
      if (more || exited || timed_out) {
        http::Response r;
        r.SetHeader("content-type", "text/plain; charset=utf-8");
        r.SetHeader("x-berth-log-offset", std::to_string(chunk->next_offset));
        // Complete only once the exit is known and a read after it found nothing new.
        r.SetHeader("x-berth-log-complete", exited && !more ? "true" : "false");
        r.body = std::move(chunk->text);
        return r;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  ContainerRuntime& runtime_;
  std::function<http::SigV4Credentials()> credentials_;
  MayStillRun may_still_run_;
  const PullBoard& pulls_;
  http::MetricsEndpoint metrics_;
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;
  std::condition_variable idle_;
  int in_flight_ = 0;
  int exec_sessions_ = 0;
  bool stopping_ = false;
};

}  // namespace

StatusOr<std::unique_ptr<LogServer>> LogServer::Start(
    const std::string& listen, std::shared_ptr<http::ServerTls> tls, ContainerRuntime& runtime,
    std::function<http::SigV4Credentials()> credentials, MayStillRun may_still_run,
    const PullBoard& pulls, std::string metrics_token) {
  auto server = std::make_unique<LogServerImpl>(
      runtime, std::move(credentials), std::move(may_still_run), pulls, std::move(metrics_token));
  if (Status s = server->Listen(listen, std::move(tls)); !s.ok()) return s;
  return std::unique_ptr<LogServer>(std::move(server));
}

}  // namespace berth::agent
