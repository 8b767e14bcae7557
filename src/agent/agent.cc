#include "agent/agent.h"

#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <map>
#include <set>

#include "agent/log_server.h"
#include "agent/registration.h"
#include "agent/state_files.h"
#include "agent/task_worker.h"
#include "awsjson/client.h"
#include "common/base64.h"
#include "common/clock.h"
#include "common/log.h"
#include "http/endpoint.h"
#include "http/metrics_endpoint.h"
#include "http/query_string.h"
#include "http/server_tls.h"

namespace berth::agent {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr int kSweepIntervalMillis = 30'000;
constexpr int kMaxBackoffMillis = 10'000;

// runc removes a container's cgroup with the container; the task's parent
// cgroup (/berth/<task id>, one per controller) is the agent's to remove.
void RemoveTaskCgroups(const std::string& task_id) {
  std::error_code ec;
  for (const auto& controller : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    fs::path task = controller.path() / "berth" / task_id;
    if (!fs::is_directory(task, ec)) continue;
    for (const auto& sub : fs::directory_iterator(task, ec)) {
      if (sub.is_directory()) rmdir(sub.path().c_str());
    }
    rmdir(task.c_str());
  }
}

// Docker's config.json: {"auths": {"host:port": {"auth": base64("user:pw")}}}
// (or "username" and "password" members), the file `docker login` and
// `skopeo login` write.
StatusOr<std::map<std::string, RegistryCredentials>> ReadRegistryAuthFile(const std::string& path) {
  auto fail = [&](const std::string& why) {
    return InvalidArgument("registry auth file " + path + ": " + why);
  };
  auto text = ReadWholeFile(path);
  if (!text) return NotFound("registry auth file " + path + ": cannot read it");
  json::error_code ec;
  auto doc = json::parse(*text, ec);
  if (ec || !doc.is_object()) return fail("not a JSON object");
  auto* auths = doc.as_object().if_contains("auths");
  if (auths == nullptr || !auths->is_object()) return fail("no \"auths\" object");
  std::map<std::string, RegistryCredentials> out;
  for (const auto& [host, entry] : auths->as_object()) {
    if (!entry.is_object()) return fail(std::string(host) + ": not an object");
    std::string registry(host);
    if (auto p = registry.find("://"); p != std::string::npos) registry = registry.substr(p + 3);
    while (!registry.empty() && registry.back() == '/') registry.pop_back();
    const json::object& e = entry.as_object();
    if (auto* auth = e.if_contains("auth"); auth && auth->is_string()) {
      auto decoded = Base64Decode(auth->as_string());
      size_t colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos)
        return fail(std::string(host) + ": auth is not base64(user:password)");
      out[registry] = {decoded->substr(0, colon), decoded->substr(colon + 1)};
    } else if (e.contains("username") && e.contains("password")) {
      out[registry] = {std::string(StringField(e, "username")),
                       std::string(StringField(e, "password"))};
    } else {
      return fail(std::string(host) + ": no auth, or username and password");
    }
  }
  return out;
}

class AgentImpl : public Agent {
 public:
  explicit AgentImpl(AgentConfig config) : config_(std::move(config)) {}
  ~AgentImpl() override { Stop(); }

  Status Init(http::SigV4Credentials join) {
    std::error_code ec;
    fs::create_directories(config_.data_dir + "/tasks", ec);
    if (ec) return Internal("create " + config_.data_dir + ": " + ec.message());

    DiscoverOptions discover;
    discover.root = config_.device_root;
    discover.memory_reserve_mib = config_.memory_reserve_mib;
    auto devices = DiscoverNodeDevices(discover);
    if (!devices.ok()) return devices.status().WithContext("discover devices");
    devices_ = std::move(*devices);

    ImageStore::Options image_options;
    image_options.root = config_.data_dir + "/images";
    image_options.plain_http_registries = config_.plain_http_registries;
    image_options.ca_file =
        config_.registry_ca_file.empty() ? config_.server_ca_file : config_.registry_ca_file;
    image_options.env = config_.env;
    auto images = ImageStore::Open(image_options);
    if (!images.ok()) return images.status();
    images_ = std::move(*images);

    ContainerRuntime::Options runtime_options;
    runtime_options.root = config_.data_dir + "/runtime";
    runtime_options.runc = config_.runc;
    runtime_options.conmon = config_.conmon;
    runtime_options.log_max_bytes = config_.container_log_max_bytes;
    auto runtime = ContainerRuntime::Open(runtime_options);
    if (!runtime.ok()) return runtime.status();
    runtime_ = std::move(*runtime);

    if (!config_.registry_auth_file.empty()) {
      auto auths = ReadRegistryAuthFile(config_.registry_auth_file);
      if (!auths.ok()) return auths.status();
      registry_auths_ = std::move(*auths);
    }

    awsjson::ClientOptions to_server;
    to_server.ca_file = config_.server_ca_file;
    auto calls = awsjson::Client::Create(config_.server, join, 60, to_server);
    if (!calls.ok()) return calls.status();
    calls_ = std::move(*calls);
    auto poller =
        awsjson::Client::Create(config_.server, join, config_.poll_wait_seconds + 30, to_server);
    if (!poller.ok()) return poller.status();
    poller_ = std::move(*poller);
    join_ = std::move(join);

    auto metrics_token =
        http::EnsureMetricsToken(config_.data_dir + "/" + std::string(http::kMetricsTokenFile));
    if (!metrics_token.ok()) return metrics_token.status();
    if (!config_.tls_cert_file.empty() || !config_.tls_key_file.empty()) {
      if (config_.tls_cert_file.empty() || config_.tls_key_file.empty()) {
        return InvalidArgument("--tls-cert and --tls-key go together");
      }
      auto tls = http::ServerTls::Load(config_.tls_cert_file, config_.tls_key_file);
      if (!tls.ok()) return tls.status().WithContext("--tls-cert/--tls-key");
      tls_ = std::move(*tls);
    }
    auto logs = LogServer::Start(
        config_.listen, tls_, *runtime_, [this] { return calls_->credentials(); },
        [this](const std::string& task_id, const std::string& container) {
          std::lock_guard lock(mu_);
          for (const auto& [arn, w] : workers_) {
            if (w->task_id() == task_id) return w->MayRestart(container);
          }
          return false;
        },
        pulls_, std::move(*metrics_token));
    if (!logs.ok()) return logs.status();
    logs_ = std::move(*logs);

    worker_context_.images = images_.get();
    worker_context_.pulls = &pulls_;
    worker_context_.runtime = runtime_.get();
    worker_context_.tasks_dir = config_.data_dir + "/tasks";
    worker_context_.registry_credentials = [this](std::string_view registry) {
      return RegistryCredentialsFor(registry);
    };
    // Device nodes are looked up under the device root (a fake tree in tests).
    worker_context_.devices = [root = config_.device_root,
                               stat = StatDeviceLookup()](const std::string& path) {
      return stat((fs::path(root) / fs::path(path).relative_path()).string());
    };
    worker_context_.host_hard_limits = HostHardLimits();
    worker_context_.host_hosts = ReadWholeFile("/etc/hosts").value_or("");
    worker_context_.host_resolv_conf = ReadWholeFile("/etc/resolv.conf").value_or("");
    if (!config_.seccomp_profile.empty()) {
      if (!fs::exists(config_.seccomp_profile)) {
        return NotFound("seccomp profile " + config_.seccomp_profile +
                        " not found (package golang-github-containers-common; --seccomp-profile "
                        "\"\" for none)");
      }
      worker_context_.seccomp_for = [this](const json::object& container) {
        return SeccompFor(container);
      };
    }
    worker_context_.report = [this](std::string_view op, const json::object& in) {
      return Report(op, in);
    };
    worker_context_.env = config_.env;
    worker_context_.restart_period_scale = config_.restart_period_scale;

    AdoptTasks();
    poll_thread_ = std::thread([this] { PollLoop(); });
    // Often enough that a short retention is kept to within about half of it.
    int interval = static_cast<int>(
        std::clamp<int64_t>(int64_t{config_.retention_seconds} * 500, 1000, kSweepIntervalMillis));
    sweep_thread_ = std::thread([this, interval] {
      while (!WaitFor(interval)) {
        std::lock_guard lock(mu_);
        Sweep();
      }
    });
    return Status::Ok();
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      wake_.notify_all();
    }
    bool started = poll_thread_.joinable();
    if (started) poll_thread_.join();
    if (sweep_thread_.joinable()) sweep_thread_.join();
    std::map<std::string, std::unique_ptr<TaskWorker>> workers;
    {
      std::lock_guard lock(mu_);
      workers.swap(workers_);
    }
    for (auto& [arn, w] : workers) w->Detach();
    workers.clear();  // joins
    if (logs_) logs_->Stop();
    if (started) LogInfo("agent stopped; containers keep running", {{"instance", arn_}});
  }

  std::string container_instance_arn() const override { return arn_; }

  void ReloadTls() override { http::ReloadServerTls(tls_.get()); }

 private:
  std::string IdentityPath() const { return config_.data_dir + "/instance.json"; }

  // Registers the node and exchanges the join key for the instance's own.
  Status Join() {
    std::string previous;
    auto saved = ReadJsonObject(IdentityPath());
    if (saved && StringField(*saved, "cluster") == config_.cluster) {
      previous = std::string(StringField(*saved, "containerInstanceArn"));
    }
    std::string advertise = config_.advertise;
    if (advertise.empty()) {
      auto hp = http::SplitHostPort(config_.listen);
      std::string host =
          hp.ok() && !hp->first.empty() && hp->first != "0.0.0.0" ? hp->first : "127.0.0.1";
      advertise = http::FormatEndpoint(host, logs_->port());
    }
    // The scheme tells the server to speak TLS to this agent.
    if (tls_ && !advertise.starts_with("https://")) advertise = "https://" + advertise;
    calls_->SetCredentials(join_);
    const std::string address = NodeAddress(config_);
    auto request = RegistrationRequest(config_, devices_, previous, logs_->port(), address);
    if (!request.ok()) return request.status();
    auto registered =
        calls_->Call(awsjson::kEcsTargetPrefix, "RegisterContainerInstance", *request);
    if (!registered.ok()) return registered.status().WithContext("register with " + config_.server);
    std::string arn(StringField(registered->as_object().at("containerInstance").as_object(),
                                "containerInstanceArn"));
    auto credentials = calls_->Send("POST", "/berth/v1/agent/credentials",
                                    json::serialize(json::object{{"cluster", config_.cluster},
                                                                 {"containerInstanceArn", arn},
                                                                 {"agentEndpoint", advertise}}));
    if (!credentials.ok()) return credentials.status().WithContext("agent credentials");
    if (credentials->status != 200) {
      return FailedPrecondition("agent credentials: server answered " +
                                std::to_string(credentials->status) + ": " + credentials->body);
    }
    json::error_code ec;
    auto body = json::parse(credentials->body, ec);
    if (ec || !body.is_object()) return Internal("agent credentials: reply is not JSON");
    http::SigV4Credentials instance{std::string(StringField(body.as_object(), "accessKeyId")),
                                    std::string(StringField(body.as_object(), "secretAccessKey"))};
    calls_->SetCredentials(instance);
    poller_->SetCredentials(instance);
    if (Status s = config_.env->WriteFileAtomically(
            IdentityPath(), json::serialize(json::object{{"cluster", config_.cluster},
                                                         {"containerInstanceArn", arn}}));
        !s.ok()) {
      LogWarn("instance identity not kept; a restart registers a new instance",
              {{"error", s.message()}});
    }
    {
      std::lock_guard lock(mu_);
      arn_ = arn;
      ecr_token_expiry_ = 0;
    }
    LogInfo("agent joined", {{"cluster", config_.cluster},
                             {"instance", arn},
                             {"address", address},
                             {"cpuUnits", std::to_string(devices_.cpu_units)},
                             {"memoryMiB", std::to_string(devices_.memory_mib)},
                             {"neuronDevices", std::to_string(devices_.neuron.size())},
                             {"gpus", std::to_string(devices_.gpus.size())},
                             {"efaDevices", std::to_string(devices_.efa.size())},
                             {"logs", advertise}});
    return Status::Ok();
  }

  // Tasks from an earlier run of the agent on this data folder, taken up
  // again before the server is asked, so their containers are watched.
  void AdoptTasks() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(worker_context_.tasks_dir, ec)) {
      auto state = ReadJsonObject(entry.path().string() + "/state.json");
      if (state && StringField(*state, "reported") == "STOPPED") continue;
      auto task = ReadJsonObject(entry.path().string() + "/assignment.json");
      if (!task) continue;
      std::string arn(StringField(*task, "taskArn"));
      std::lock_guard lock(mu_);
      workers_[arn] = std::make_unique<TaskWorker>(worker_context_, std::move(*task));
    }
  }

  void PollLoop() {
    std::string version;
    int backoff = 500;
    // Joining waits for the server (and the cluster) to be there.
    while (!Stopping()) {
      Status joined = Join();
      if (joined.ok()) break;
      LogWarn("agent cannot join yet; retrying",
              {{"error", joined.message()}, {"retryMillis", std::to_string(backoff)}});
      WaitFor(backoff);
      backoff = std::min(backoff * 2, kMaxBackoffMillis);
    }
    backoff = 500;
    while (!Stopping()) {
      // delta=1: tasks that did not change since `version` come by ARN alone.
      std::string target = "/berth/v1/agent/tasks?version=" + http::EncodeQueryValue(version) +
                           "&waitSeconds=" + std::to_string(config_.poll_wait_seconds) + "&delta=1";
      auto response = poller_->Send("GET", target);
      if (response.ok() && response->status == 200) {
        json::error_code ec;
        auto body = json::parse(response->body, ec);
        if (!ec && body.is_object()) {
          version = std::string(StringField(body.as_object(), "version"));
          // A task named unchanged that this agent does not have (it cannot
          // happen while both sides keep their word): ask for every task.
          static const json::array kNone;
          const json::value* unchanged = body.as_object().if_contains("unchangedTaskArns");
          if (!Reconcile(
                  body.as_object().at("tasks").as_array(),
                  unchanged != nullptr && unchanged->is_array() ? unchanged->get_array() : kNone)) {
            version.clear();
          }
          backoff = 500;
          continue;
        }
      }
      std::string why = response.ok() ? std::to_string(response->status) + " " + response->body
                                      : response.status().message();
      LogWarn("assignment poll failed; retrying",
              {{"error", why}, {"retryMillis", std::to_string(backoff)}});
      // A server that no longer knows the instance key (deregistered, or a
      // fresh data folder) gets a new join.
      if (response.ok() && response->status == 403) {
        if (Status s = Join(); !s.ok()) LogWarn("re-join failed", {{"error", s.message()}});
        version.clear();
      }
      WaitFor(backoff);
      backoff = std::min(backoff * 2, kMaxBackoffMillis);
    }
  }

  // Returns false when unchanged names a task this agent has no worker for.
  bool Reconcile(const json::array& tasks, const json::array& unchanged) {
    std::lock_guard lock(mu_);
    std::set<std::string> wanted;
    bool complete = true;
    for (const auto& v : unchanged) {
      if (!v.is_string()) continue;
      std::string arn(v.get_string());
      if (!workers_.contains(arn)) complete = false;
      wanted.insert(std::move(arn));
    }
    for (const auto& v : tasks) {
      const json::object& task = v.as_object();
      std::string arn(StringField(task, "taskArn"));
      wanted.insert(arn);
      auto it = workers_.find(arn);
      if (it == workers_.end()) {
        if (stopped_) return complete;
        workers_[arn] = std::make_unique<TaskWorker>(worker_context_, task);
      } else if (StringField(task, "desiredStatus") == "STOPPED") {
        it->second->RequestStop(std::string(StringField(task, "stoppedReason")));
      }
    }
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (!wanted.contains(it->first))
        it->second->RequestStop("Task is no longer assigned to this instance");
      // A finished worker whose task the server no longer lists is done for good.
      if (it->second->done() && !wanted.contains(it->first)) {
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
    return complete;
  }

  // Removes the containers and folders of tasks stopped longer ago than the
  // retention period, and forgets their finished workers. Needs mu_.
  void Sweep() {
    int64_t now = config_.env->clock().NowMillis();
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(worker_context_.tasks_dir, ec)) {
      auto state = ReadJsonObject(entry.path().string() + "/state.json");
      if (!state || StringField(*state, "reported") != "STOPPED") continue;
      auto* at = state->if_contains("stoppedAt");
      if (!at || !at->is_int64() ||
          now - at->as_int64() < int64_t{config_.retention_seconds} * 1000)
        continue;
      std::string task_id = entry.path().filename().string();
      bool busy = false;
      for (const auto& [arn, w] : workers_) busy |= (w->task_id() == task_id && !w->done());
      if (busy) continue;
      if (auto* started = state->if_contains("started"); started && started->is_object()) {
        for (const auto& [name, id] : started->as_object())
          (void)runtime_->Remove(std::string(id.as_string()));
      }
      fs::remove_all(entry.path(), ec);
      RemoveTaskCgroups(task_id);
      LogInfo("removed stopped task", {{"task", task_id}});
    }
  }

  bool Report(std::string_view operation, const json::object& in) {
    int backoff = 200;
    while (true) {
      auto reply = calls_->Call(awsjson::kEcsTargetPrefix, operation, in);
      if (reply.ok()) return true;
      // The server refused it for good (a task it no longer has): drop it.
      if (reply.status().code() == StatusCode::kFailedPrecondition) {
        LogWarn("state change refused",
                {{"operation", std::string(operation)}, {"error", reply.status().message()}});
        return true;
      }
      LogWarn("state change not delivered; retrying", {{"error", reply.status().message()}});
      if (WaitFor(backoff)) return false;
      backoff = std::min(backoff * 2, kMaxBackoffMillis);
    }
  }

  // berth's own registry takes the ECR token the instance credential gets;
  // others what --registry-auth-file gives for them.
  std::optional<RegistryCredentials> RegistryCredentialsFor(std::string_view registry) {
    if (auto it = registry_auths_.find(std::string(registry)); it != registry_auths_.end()) {
      return it->second;
    }
    std::lock_guard lock(ecr_mu_);
    int64_t now = config_.env->clock().NowMillis();
    if (now >= ecr_token_expiry_) {
      auto reply = calls_->Call(awsjson::kEcrTargetPrefix, "GetAuthorizationToken", json::object{});
      if (!reply.ok()) {
        LogWarn("registry token", {{"error", reply.status().message()}});
        return std::nullopt;
      }
      ecr_registries_.clear();
      for (const auto& d : reply->as_object().at("authorizationData").as_array()) {
        std::string endpoint(StringField(d.as_object(), "proxyEndpoint"));
        if (auto p = endpoint.find("://"); p != std::string::npos)
          endpoint = endpoint.substr(p + 3);
        auto decoded = Base64Decode(StringField(d.as_object(), "authorizationToken"));
        if (!decoded) continue;
        size_t colon = decoded->find(':');
        ecr_registries_[endpoint] =
            RegistryCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
      }
      ecr_token_expiry_ = now + 3600 * 1000;  // tokens live 12 h; fetch hourly
    }
    if (auto it = ecr_registries_.find(std::string(registry)); it != ecr_registries_.end())
      return it->second;
    // The registry of any of the servers given (one control plane: the
    // token the leader issued is good on each of them).
    if (!ecr_registries_.empty()) {
      if (auto servers = awsjson::ParseEndpoints(config_.server); servers.ok()) {
        for (const auto& server : *servers) {
          if (server.host_header == registry) return ecr_registries_.begin()->second;
        }
      }
    }
    return std::nullopt;
  }

  // The default seccomp profile for the capabilities a container keeps;
  // built once per capability set.
  StatusOr<json::object> SeccompFor(const json::object& container) {
    auto caps = ContainerCapabilities(container);
    if (!caps.ok()) return caps.status();
    std::string key;
    for (const auto& c : *caps) key += c + ",";
    std::lock_guard lock(seccomp_mu_);
    auto it = seccomp_cache_.find(key);
    if (it == seccomp_cache_.end()) {
      auto profile = LoadDefaultSeccomp(config_.seccomp_profile, *caps);
      if (!profile.ok())
        return profile.status().WithContext("seccomp profile " + config_.seccomp_profile);
      it = seccomp_cache_.emplace(key, std::move(*profile)).first;
    }
    return it->second;
  }

  bool Stopping() {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  // Sleeps; true when the agent is stopping.
  bool WaitFor(int millis) {
    std::unique_lock lock(mu_);
    return wake_.wait_for(lock, std::chrono::milliseconds(millis), [this] { return stopped_; });
  }

  AgentConfig config_;
  http::SigV4Credentials join_;
  NodeDevices devices_;
  std::unique_ptr<ImageStore> images_;
  std::unique_ptr<ContainerRuntime> runtime_;
  std::unique_ptr<awsjson::Client> calls_;   // registration, state changes, tokens
  std::unique_ptr<awsjson::Client> poller_;  // the long poll alone
  PullBoard pulls_;                          // before logs_, which reads it
  std::shared_ptr<http::ServerTls> tls_;     // the log server's certificate; null: plain http
  std::unique_ptr<LogServer> logs_;
  WorkerContext worker_context_;
  std::mutex seccomp_mu_;
  std::map<std::string, json::object> seccomp_cache_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopped_ = false;
  std::string arn_;
  std::map<std::string, std::unique_ptr<TaskWorker>> workers_;
  std::thread poll_thread_;
  std::thread sweep_thread_;

  std::map<std::string, RegistryCredentials> registry_auths_;
  std::mutex ecr_mu_;
  int64_t ecr_token_expiry_ = 0;
  std::map<std::string, RegistryCredentials> ecr_registries_;
};

}  // namespace

StatusOr<std::unique_ptr<Agent>> Agent::Start(const AgentConfig& config,
                                              http::SigV4Credentials join) {
  auto agent = std::make_unique<AgentImpl>(config);
  if (Status s = agent->Init(std::move(join)); !s.ok()) return s.WithContext("berth agent");
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace berth::agent
