#include "agent/agent.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "agent/assignments.h"
#include "agent/container_endpoints.h"
#include "agent/log_server.h"
#include "agent/network_namespace.h"
#include "agent/registration.h"
#include "agent/registry_auth_file.h"
#include "agent/state_files.h"
#include "agent/task_volumes.h"
#include "agent/task_worker.h"
#include "agent/volume_mounts.h"
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
    auto behavior = ParsePullBehavior(config_.image_pull_behavior);
    if (!behavior.ok()) return behavior.status().WithContext("--image-pull-behavior");
    image_options.pull_behavior = *behavior;
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

    ContainerEndpoints::Options endpoint_options;
    endpoint_options.listen = config_.metadata_listen;
    endpoint_options.port_file = config_.data_dir + "/metadata-port";
    endpoint_options.runtime = runtime_.get();
    endpoint_options.env = config_.env;
    endpoint_options.clock = &config_.env->clock();
    auto endpoints = ContainerEndpoints::Start(endpoint_options);
    if (!endpoints.ok()) return endpoints.status().WithContext("--metadata-listen");
    endpoints_ = std::move(*endpoints);

    BERTH_RETURN_IF_ERROR(OpenVolumes());
    cgroups_ = std::make_unique<TaskCgroups>(config_.cgroup_root);

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
            if (w->task_id() == task_id) return w->MayStillRun(container);
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
    worker_context_.task_registry_credentials = [this](const std::string& task_arn) {
      return CredentialsLookup([this, task_arn](std::string_view registry) {
        return TaskRegistryCredentials(task_arn, registry);
      });
    };
    worker_context_.endpoints = endpoints_.get();
    worker_context_.node_address = NodeAddress(config_);
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
    worker_context_.cgroups = cgroups_.get();
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
    if (endpoints_) endpoints_->Stop();
    if (logs_) logs_->Stop();
    if (started) LogInfo("agent stopped; containers keep running", {{"instance", arn_}});
  }

  std::string container_instance_arn() const override { return arn_; }

  void ReloadTls() override { http::ReloadServerTls(tls_.get()); }

 private:
  std::string IdentityPath() const { return config_.data_dir + "/instance.json"; }

  // The volume root, the mounts' count (DATA/mounts.json) and the EFS
  // addresses, for worker_context_.volumes.
  Status OpenVolumes() {
    auto efs = ParseEfsAddresses(config_.efs_addresses);
    if (!efs.ok()) return efs.status();
    std::error_code ec;
    std::string root =
        config_.volume_root.empty() ? config_.data_dir + "/volumes" : config_.volume_root;
    root = fs::absolute(root, ec).lexically_normal().string();
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    BERTH_RETURN_IF_ERROR(config_.env->CreateDirs(root).WithContext("--volume-root"));
    std::string boot_id = ReadWholeFile("/proc/sys/kernel/random/boot_id").value_or("");
    while (!boot_id.empty() && std::isspace(static_cast<unsigned char>(boot_id.back()))) {
      boot_id.pop_back();
    }
    auto mounts = VolumeMounts::Open(
        {.env = config_.env, .state_file = config_.data_dir + "/mounts.json", .boot_id = boot_id});
    if (!mounts.ok()) return mounts.status();
    mounts_ = std::move(*mounts);
    VolumeHost& host = worker_context_.volumes;
    host.mounts = mounts_.get();
    host.env = config_.env;
    host.mounts_dir = config_.data_dir + "/mounts";
    host.volume_root = root;
    host.efs_addresses = std::move(*efs);
    host.resolve = ResolveHost;
    return Status::Ok();
  }

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
    }
    {
      std::lock_guard lock(ecr_mu_);
      instance_tokens_.expiry = 0;  // a token of the new instance key
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
    std::set<std::string> adopted;
    for (const auto& entry : fs::directory_iterator(worker_context_.tasks_dir, ec)) {
      auto state = ReadJsonObject(entry.path().string() + "/state.json");
      if (state && StringField(*state, "reported") == "STOPPED") continue;
      auto task = ReadJsonObject(entry.path().string() + "/assignment.json");
      if (!task) continue;
      if (Status s = CheckAssignedTask(*task); !s.ok()) {
        LogWarn("task folder not adopted",
                {{"folder", entry.path().string()}, {"error", s.message()}});
        continue;
      }
      std::string arn(StringField(*task, "taskArn"));
      std::lock_guard lock(mu_);
      workers_[arn] = std::make_unique<TaskWorker>(worker_context_, std::move(*task));
      adopted.insert(workers_[arn]->task_id());
    }
    // Tasks that ended while no agent ran hold their volumes' mounts no more.
    if (Status s = mounts_->Retain(adopted); !s.ok()) {
      LogWarn("volume mounts of ended tasks not all released", {{"error", s.message()}});
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
      std::string why;
      if (response.ok() && response->status == 200) {
        auto assignments = ParseAssignments(response->body);
        if (assignments.ok()) {
          version = std::move(assignments->version);
          // A task named unchanged that this agent does not have (it cannot
          // happen while both sides keep their word): ask for every task.
          if (!Reconcile(std::move(*assignments))) version.clear();
          backoff = 500;
          continue;
        }
        why = assignments.status().message();
      } else {
        why = response.ok() ? std::to_string(response->status) + " " + response->body
                            : response.status().message();
      }
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

  // The tasks are checked by ParseAssignments. Returns false when the
  // answer names unchanged a task this agent has no worker for.
  bool Reconcile(Assignments assignments) {
    std::lock_guard lock(mu_);
    std::set<std::string> wanted;
    bool complete = true;
    for (std::string& arn : assignments.unchanged_task_arns) {
      if (!workers_.contains(arn)) complete = false;
      TakeRoleCredentials(arn, assignments.credentials);
      wanted.insert(std::move(arn));
    }
    for (json::object& task : assignments.tasks) {
      std::string arn(StringField(task, "taskArn"));
      wanted.insert(arn);
      TakeRoleCredentials(arn, assignments.credentials);
      auto it = workers_.find(arn);
      if (it == workers_.end()) {
        if (stopped_) return complete;
        workers_[arn] = std::make_unique<TaskWorker>(worker_context_, std::move(task));
      } else if (StringField(task, "desiredStatus") == "STOPPED") {
        it->second->RequestStop(std::string(StringField(task, "stoppedReason")));
      }
    }
    {
      // Roles of tasks no longer assigned here are forgotten.
      std::lock_guard roles_lock(execution_mu_);
      std::erase_if(execution_roles_,
                    [&](const auto& entry) { return !wanted.contains(entry.first); });
    }
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (!wanted.contains(it->first)) {
        it->second->RequestStop("Task is no longer assigned to this instance");
        endpoints_->SetRoleCredentials(it->first, std::nullopt);
      }
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
      // A network namespace its worker did not get to remove (the agent
      // went away in between) would keep the folder.
      for (const auto& sub : fs::directory_iterator(entry.path(), ec)) {
        if (sub.is_directory()) (void)RemoveNetworkNamespace((sub.path() / "netns").string());
      }
      fs::remove_all(entry.path(), ec);
      cgroups_->Remove(task_id);  // what Finish could not (a container that would not die)
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

  // The role credentials an assignment carries (agent_channel.h) go to the
  // endpoints and the pulls, never to the task's folder.
  // credentials: the answer's, by task ARN; a task it leaves out has none.
  void TakeRoleCredentials(const std::string& task_arn, const json::object& credentials) {
    static const json::object kNone;
    const json::value* issued = credentials.if_contains(task_arn);
    const json::object& roles = issued != nullptr ? issued->get_object() : kNone;
    std::optional<json::object> role;
    if (auto* c = roles.if_contains("roleCredentials"); c && c->is_object()) role = c->as_object();
    endpoints_->SetRoleCredentials(task_arn, std::move(role));
    std::lock_guard lock(execution_mu_);
    if (auto* c = roles.if_contains("executionRoleCredentials"); c && c->is_object()) {
      const json::object& e = c->as_object();
      execution_roles_[task_arn] = {std::string(StringField(e, "RoleArn")),
                                    {std::string(StringField(e, "AccessKeyId")),
                                     std::string(StringField(e, "SecretAccessKey"))}};
    } else {
      execution_roles_.erase(task_arn);
    }
  }

  // berth's own registry takes the ECR token the instance credential gets;
  // others what --registry-auth-file gives for them.
  std::optional<RegistryCredentials> RegistryCredentialsFor(std::string_view registry) {
    if (auto it = registry_auths_.find(std::string(registry)); it != registry_auths_.end()) {
      return it->second;
    }
    std::lock_guard lock(ecr_mu_);
    return EcrCredentials(*calls_, instance_tokens_, registry);
  }

  // A task with an executionRoleArn pulls from berth's registry with the
  // token its role's credentials get (ECS's execution role for ECR).
  std::optional<RegistryCredentials> TaskRegistryCredentials(const std::string& task_arn,
                                                             std::string_view registry) {
    std::optional<ExecutionRole> role;
    {
      std::lock_guard lock(execution_mu_);
      if (auto it = execution_roles_.find(task_arn); it != execution_roles_.end()) {
        role = it->second;
      }
    }
    if (!role || registry_auths_.contains(std::string(registry))) {
      return RegistryCredentialsFor(registry);
    }
    awsjson::ClientOptions to_server;
    to_server.ca_file = config_.server_ca_file;
    auto client = awsjson::Client::Create(config_.server, role->credentials, 60, to_server);
    if (!client.ok()) return std::nullopt;
    std::lock_guard lock(ecr_mu_);
    auto credentials =
        EcrCredentials(**client, role_tokens_[role->credentials.access_key_id], registry);
    if (!credentials) {
      LogWarn("no registry token from the task's execution role",
              {{"task", task_arn},
               {"executionRoleArn", role->arn},
               {"registry", std::string(registry)}});
    }
    return credentials;
  }

  // ECR tokens of one access key, by registry, fetched again hourly.
  struct EcrTokens {
    int64_t expiry = 0;
    std::map<std::string, RegistryCredentials> registries;
  };
  // The credentials of berth's registry (any of the servers') through
  // GetAuthorizationToken signed by client's key. Needs ecr_mu_.
  std::optional<RegistryCredentials> EcrCredentials(awsjson::Client& client, EcrTokens& tokens,
                                                    std::string_view registry) {
    int64_t now = config_.env->clock().NowMillis();
    if (now >= tokens.expiry) {
      auto reply = client.Call(awsjson::kEcrTargetPrefix, "GetAuthorizationToken", json::object{});
      if (!reply.ok()) {
        LogWarn("registry token", {{"error", reply.status().message()}});
        return std::nullopt;
      }
      tokens.registries.clear();
      for (const auto& d : reply->as_object().at("authorizationData").as_array()) {
        std::string endpoint(StringField(d.as_object(), "proxyEndpoint"));
        if (auto p = endpoint.find("://"); p != std::string::npos)
          endpoint = endpoint.substr(p + 3);
        auto decoded = Base64Decode(StringField(d.as_object(), "authorizationToken"));
        if (!decoded) continue;
        size_t colon = decoded->find(':');
        tokens.registries[endpoint] =
            RegistryCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
      }
      tokens.expiry = now + 3600 * 1000;  // tokens live 12 h; fetch hourly
    }
    if (auto it = tokens.registries.find(std::string(registry)); it != tokens.registries.end())
      return it->second;
    // The registry of any of the servers given (one control plane: the
    // token the leader issued is good on each of them).
    if (!tokens.registries.empty()) {
      if (auto servers = awsjson::ParseEndpoints(config_.server); servers.ok()) {
        for (const auto& server : *servers) {
          if (server.host_header == registry) return tokens.registries.begin()->second;
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
  std::unique_ptr<VolumeMounts> mounts_;
  std::unique_ptr<TaskCgroups> cgroups_;
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
  EcrTokens instance_tokens_;                     // the instance credential's
  std::map<std::string, EcrTokens> role_tokens_;  // by execution role access key
  struct ExecutionRole {
    std::string arn;
    http::SigV4Credentials credentials;
  };
  std::mutex execution_mu_;
  std::map<std::string, ExecutionRole> execution_roles_;  // by task ARN
  std::unique_ptr<ContainerEndpoints> endpoints_;
};

}  // namespace

StatusOr<std::unique_ptr<Agent>> Agent::Start(const AgentConfig& config,
                                              http::SigV4Credentials join) {
  auto agent = std::make_unique<AgentImpl>(config);
  if (Status s = agent->Init(std::move(join)); !s.ok()) return s.WithContext("berth agent");
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace berth::agent
