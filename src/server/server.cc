#include "server/server.h"

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "awsjson/commit_tracker.h"
#include "awsjson/endpoint.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/stop_signals.h"
#include "http/endpoint.h"
#include "http/metrics_endpoint.h"
#include "http/server.h"
#include "registry/blob_store.h"
#include "registry/distribution.h"
#include "registry/ecr_api.h"
#include "registry/registry_state.h"
#include "server/agent_channel.h"
#include "server/api/agent_credentials.h"
#include "server/api/ecs_api.h"
#include "server/credentials.h"
#include "server/events_endpoint.h"
#include "server/exec_relay.h"
#include "server/gang_endpoint.h"
#include "server/log_forwarding.h"
#include "server/server_metrics.h"
#include "server/ui_endpoint.h"
#include "server/ui_sessions.h"
#include "server/user_request.h"
#include "store/etcd/etcd_store.h"
#include "store/store.h"

namespace berth::server {

using awsjson::CommitTracker;

namespace {

constexpr int64_t kLifecycleIntervalSeconds = 60;
constexpr int64_t kDefaultGcMinAgeSeconds = 3600;

// The store --store names, and how to name it in the log.
StatusOr<std::pair<std::unique_ptr<store::Store>, std::string>> OpenStore(
    const ServerConfig& config) {
  using Opened = std::pair<std::unique_ptr<store::Store>, std::string>;
  if (config.store.starts_with("etcd://")) {
    auto options = store::ParseEtcdStoreUrl(config.store);
    if (!options.ok()) return options.status().WithContext("--store " + config.store);
    options->ca_file = config.etcd_ca_file;
    options->cert_file = config.etcd_cert_file;
    options->key_file = config.etcd_key_file;
    if (config.etcd_max_txn_ops > 0) options->max_txn_ops = config.etcd_max_txn_ops;
    if (config.etcd_max_request_bytes > 0) {
      options->max_request_bytes = config.etcd_max_request_bytes;
    }
    auto opened = store::OpenEtcdStore(*options);
    if (!opened.ok()) return opened.status();
    return Opened(std::move(*opened), config.store);
  }
  if (!config.etcd_ca_file.empty() || !config.etcd_cert_file.empty() ||
      !config.etcd_key_file.empty()) {
    return InvalidArgument("--etcd-ca, --etcd-cert and --etcd-key need --store etcd://...");
  }
  std::string path = config.data_dir + "/berth.db";
  if (config.store.starts_with("sqlite:")) {
    path = config.store.substr(7);
  } else if (!config.store.empty()) {
    return InvalidArgument("--store " + config.store +
                           ": unsupported store (expected sqlite:PATH or etcd://HOST:PORT,...)");
  }
  auto opened = store::OpenSqliteStore(path);
  if (!opened.ok()) return opened.status();
  return Opened(std::move(*opened), path);
}

void PrintClientEnvironment(const ServerConfig& config, const std::string& endpoint,
                            const std::string& registry, const AccessKey& key,
                            const std::string& login_url) {
  std::printf(
      "# berth is serving the ECS and ECR APIs on %s and the registry on %s\n"
      "# (data in %s). Point the aws CLI and boto3 at it:\n"
      "export AWS_ACCESS_KEY_ID=%s\n"
      "export AWS_SECRET_ACCESS_KEY=%s\n"
      "export AWS_DEFAULT_REGION=us-east-1\n"
      "export AWS_ENDPOINT_URL=%s\n"
      "# then, for example:\n"
      "#   aws --endpoint-url %s ecs create-cluster --cluster-name trn1\n"
      "#   aws --endpoint-url %s ecr get-login-password | skopeo login --tls-verify=false "
      "--username AWS --password-stdin %s\n"
      "# The dashboard: open this URL once within 10 minutes (berth ui-login prints a new one):\n"
      "#   %s\n",
      endpoint.c_str(), registry.c_str(), config.data_dir.c_str(), key.id.c_str(),
      key.secret.c_str(), endpoint.c_str(), endpoint.c_str(), endpoint.c_str(), registry.c_str(),
      login_url.c_str());
  std::fflush(stdout);
}

// Runs fn every interval until stopped, and at once when woken; stopping
// wakes it at once.
class Ticker {
 public:
  Ticker(int64_t interval_seconds, std::function<void()> fn)
      : thread_([this, interval_seconds, fn = std::move(fn)] {
          std::unique_lock lock(mu_);
          while (true) {
            cv_.wait_for(lock, std::chrono::seconds(interval_seconds),
                         [this] { return stop_ || woken_; });
            if (stop_) return;
            woken_ = false;
            lock.unlock();
            fn();
            lock.lock();
          }
        }) {}

  // Runs fn as soon as it is not running (cheap; any thread, any lock held).
  void Wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_one();
  }
  ~Ticker() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

// Work that outlives the request that started it (a registry GC): each job
// runs on a thread owned here, and Wait joins them all, so that none touches
// the registry or the store after the server has closed them.
class BackgroundJobs {
 public:
  ~BackgroundJobs() { Wait(); }

  void Run(std::function<void()> job) {
    std::lock_guard lock(mu_);
    threads_.emplace_back(std::move(job));
  }

  void Wait() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (std::thread& thread : threads) thread.join();
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

http::Response JsonReply(int status, const boost::json::object& body) {
  http::Response response;
  response.status = status;
  response.SetHeader("content-type", "application/json");
  response.body = boost::json::serialize(body);
  return response;
}

}  // namespace

int RunServer(const ServerConfig& config) {
  BlockStopSignals();  // before any thread starts

  auto fail = [](const Status& status) {
    LogError("berth server cannot start", {{"error", status.message()}});
    return 1;
  };

  // A lost agent's tasks are stopped; one that is merely late must not be.
  if (config.agent_lost_after_seconds != 0 &&
      config.agent_lost_after_seconds <= config.agent_heartbeat_timeout_seconds) {
    return fail(InvalidArgument("--agent-lost-after (" +
                                std::to_string(config.agent_lost_after_seconds) +
                                " s) must be longer than --agent-heartbeat-timeout (" +
                                std::to_string(config.agent_heartbeat_timeout_seconds) +
                                " s), or 0 to never stop the tasks of a silent agent"));
  }

  auto metrics_address = http::SeparateMetricsAddress(config.metrics_listen, config.listen);
  if (!metrics_address.ok()) return fail(metrics_address.status());

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return fail(Internal("create data directory " + config.data_dir + ": " + ec.message()));
  // On the API address /metrics needs this token; alone on a loopback
  // address, none.
  auto metrics_token =
      http::EnsureMetricsToken(config.data_dir + "/" + std::string(http::kMetricsTokenFile));
  if (!metrics_token.ok()) return fail(metrics_token.status());

  std::string credentials_path =
      config.credentials_file.empty() ? config.data_dir + "/credentials" : config.credentials_file;
  auto keys = EnsureCredentialsFile(credentials_path);
  if (!keys.ok()) return fail(keys.status());
  std::unordered_map<std::string, std::string> secret_of;
  for (const auto& key : *keys) secret_of[key.id] = key.secret;

  auto opened_store = OpenStore(config);
  if (!opened_store.ok()) return fail(opened_store.status());
  auto store = std::move(opened_store->first);
  const std::string& store_name = opened_store->second;
  auto blobs = registry::BlobStore::Open(config.data_dir + "/registry");
  if (!blobs.ok()) return fail(blobs.status());

  // The HTTP servers bind before the registry state is built, because
  // repository URIs name the address clients reach (port 0 picks one).
  http::ServerOptions options;
  options.listen = config.listen;
  options.threads = config.threads;
  // Layers stream to disk; what is buffered is the largest API request.
  options.max_body_bytes = registry::EcrApi::kMaxRequestBytes;

  CommitTracker tracker;
  api::EcsApi ecs(*store, tracker, ArnScope{});
  if (Status s = ecs.Load(); !s.ok()) return fail(s.WithContext("load state from " + store_name));
  auto agent_key = api::LoadOrCreateAgentKey(*store);
  if (!agent_key.ok()) return fail(agent_key.status().WithContext("agent credential key"));
  ecs.agents().set_heartbeat_timeout_millis(int64_t{config.agent_heartbeat_timeout_seconds} * 1000);
  ecs.agents().set_lost_after_millis(int64_t{config.agent_lost_after_seconds} * 1000);
  // Agents that joined before a restart get one timeout from now to poll.
  ecs.agents().set_started_millis(SystemClock().NowMillis());

  // User keys from the credentials file; agent keys derived while their
  // instance is registered and its agent joined (agent_credentials.h).
  http::SecretLookup secrets = [&secret_of, &ecs,
                                &agent_key](std::string_view id) -> std::optional<std::string> {
    if (auto it = secret_of.find(std::string(id)); it != secret_of.end()) return it->second;
    if (auto instance = api::InstanceOfAgentKey(id);
        instance && ecs.AgentMayAuthenticate(*instance)) {
      return api::AgentSecret(*agent_key, id);
    }
    return std::nullopt;
  };

  // Filled in once the listening port is known.
  std::unique_ptr<registry::RegistryState> registry_state;
  std::unique_ptr<registry::Distribution> distribution;
  std::unique_ptr<registry::EcrApi> ecr;

  awsjson::AwsJsonEndpoint endpoint(secrets, SystemClock(), tracker);
  endpoint.AddService(&ecs);
  // Agent keys reach only what an agent needs; user keys reach everything.
  endpoint.SetAuthorizer([](std::string_view key, std::string_view prefix, std::string_view op) {
    return !api::IsAgentKey(key) || api::AgentMayCall(prefix, op);
  });
  AgentChannel agent_channel(ecs, tracker, secrets, SystemClock(), *agent_key);
  LogForwarder logs(ecs, secrets, SystemClock(), *agent_key);
  ExecRelay exec(ecs, secrets, SystemClock(), *agent_key);
  GangEndpoint gangs(ecs, secrets, SystemClock());
  http::MetricsEndpoint metrics_endpoint(
      metrics::DefaultRegistry(),
      *metrics_address ? std::nullopt : std::optional<std::string>(*metrics_token));
  auto server_state_metrics = CollectServerState(metrics::DefaultRegistry(), ecs, agent_channel);
  ecs.events().SetRetention(
      static_cast<int64_t>(std::max(1, config.event_retention_hours)) * 3600 * 1000,
      static_cast<size_t>(std::max<int64_t>(1, config.event_retention_max)));
  EventsEndpoint events(ecs, tracker, secrets, SystemClock());
  // The dashboard's sessions are in memory: a restart logs everyone out.
  UiSessions ui_sessions(SystemClock());
  std::optional<UiEndpoint> ui;  // passes requests on to route, made below

  BackgroundJobs background;  // joined before what it works on goes
  auto gc = [&](http::Request&& request, http::Responder respond) {
    if (auto refused =
            CheckUserRequest(request, secrets, SystemClock().NowSeconds(), "collect garbage")) {
      return respond(awsjson::ErrorResponse(refused->type, refused->message, ""));
    }
    // {"minAgeSeconds": N}: blobs used more recently than that stay.
    int64_t min_age = kDefaultGcMinAgeSeconds;
    boost::system::error_code ec;
    auto body = boost::json::parse(request.body.empty() ? "{}" : request.body, ec);
    if (ec || !body.is_object()) {
      return respond(
          awsjson::ErrorResponse("SerializationException", "body must be a JSON object", ""));
    }
    if (auto* v = body.as_object().if_contains("minAgeSeconds")) {
      if (!v->is_int64() || v->get_int64() < 0) {
        return respond(awsjson::ErrorResponse("InvalidParameterException",
                                              "minAgeSeconds must be a non-negative integer", ""));
      }
      min_age = v->get_int64();
    }
    // Sweeping can take a while on a big store: off the I/O thread.
    background.Run([&, min_age, respond = std::move(respond)] {
      auto stats = registry_state->CollectGarbage(min_age);
      if (!stats.ok()) {
        return respond(awsjson::ErrorResponse("ServerException", stats.status().message(), ""));
      }
      respond(JsonReply(200, {{"blobsRemoved", stats->blobs_removed},
                              {"bytesRemoved", stats->bytes_removed},
                              {"blobsKept", stats->blobs_kept},
                              {"uploadsRemoved", stats->uploads_removed}}));
    });
  };

  // The listeners start before the registry is built (repository URIs name
  // the bound address); until everything is wired, requests get a 503,
  // which AWS SDKs and registry clients retry.
  std::atomic<bool> serving{false};
  auto route = [&](bool registry_only) {
    return [&, registry_only](http::Request&& request, http::Responder respond) {
      if (!serving.load(std::memory_order_acquire)) {
        return respond(awsjson::ErrorResponse("ServiceUnavailableException",
                                              "berth is starting; try again", "", 503));
      }
      if (registry::Distribution::Accepts(request)) {
        return distribution->Handle(std::move(request), std::move(respond));
      }
      if (!registry_only && UiEndpoint::Accepts(request)) {
        return ui->Handle(std::move(request), std::move(respond));
      }
      if (!registry_only && awsjson::AwsJsonEndpoint::Accepts(request)) {
        return endpoint.Handle(std::move(request), std::move(respond));
      }
      if (!registry_only && AgentChannel::Accepts(request)) {
        return agent_channel.Handle(std::move(request), std::move(respond));
      }
      if (!registry_only && LogForwarder::Accepts(request)) {
        return logs.Handle(std::move(request), std::move(respond));
      }
      if (!registry_only && ExecRelay::Accepts(request)) {
        return exec.Handle(std::move(request), std::move(respond));
      }
      if (!registry_only && EventsEndpoint::Accepts(request)) {
        return events.Handle(std::move(request), std::move(respond));
      }
      if (!registry_only && GangEndpoint::Accepts(request)) {
        return gangs.Handle(std::move(request), std::move(respond));
      }
      if (!registry_only && request.method == "POST" && request.Path() == "/berth/v1/registry/gc") {
        return gc(std::move(request), std::move(respond));
      }
      if (!registry_only && !*metrics_address && http::MetricsEndpoint::Accepts(request)) {
        return metrics_endpoint.Handle(std::move(request), std::move(respond));
      }
      if (request.method == "GET" && request.Path() == "/healthz") {
        http::Response ok;
        ok.body = "ok\n";
        return respond(std::move(ok));
      }
      respond(awsjson::ErrorResponse("UnknownOperationException",
                                     "berth serves the AWS JSON APIs as POST / with X-Amz-Target, "
                                     "and the registry under /v2/",
                                     "", 404));
    };
  };
  options.stream_body = [&](const http::Request& head) -> std::shared_ptr<http::BodySink> {
    if (!serving.load(std::memory_order_acquire)) return nullptr;
    if (!registry::Distribution::Accepts(head)) return nullptr;
    return distribution->StreamBody(head);
  };

  ui.emplace(ui_sessions, secrets, SystemClock(), route(false));
  auto server = http::Server::Start(options, route(false));
  if (!server.ok()) return fail(server.status());
  std::unique_ptr<http::Server> registry_server;
  if (!config.registry_listen.empty()) {
    http::ServerOptions registry_options = options;
    registry_options.listen = config.registry_listen;
    auto started = http::Server::Start(registry_options, route(true));
    if (!started.ok()) return fail(started.status());
    registry_server = std::move(*started);
  }

  std::unique_ptr<http::Server> metrics_server;
  if (*metrics_address) {
    http::ServerOptions metrics_options;
    metrics_options.listen = **metrics_address;
    metrics_options.threads = 1;
    auto started =
        http::Server::Start(metrics_options, [&](http::Request&& request, http::Responder respond) {
          if (http::MetricsEndpoint::Accepts(request)) {
            return metrics_endpoint.Handle(std::move(request), std::move(respond));
          }
          http::Response missing;
          missing.status = 404;
          missing.body = "berth serves only /metrics here\n";
          respond(std::move(missing));
        });
    if (!started.ok()) return fail(started.status().WithContext("--metrics-listen"));
    metrics_server = std::move(*started);
  }

  auto bound = [](const std::string& listen, uint16_t port) {
    auto hp = http::SplitHostPort(listen);
    std::string host = hp.ok() ? hp->first : "127.0.0.1";
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    return http::FormatEndpoint(host, port);
  };
  std::string api_address = bound(config.listen, (*server)->port());
  std::string registry_address = config.registry_address;
  if (registry_address.empty()) {
    registry_address =
        registry_server ? bound(config.registry_listen, registry_server->port()) : api_address;
  }

  registry_state = std::make_unique<registry::RegistryState>(*store, tracker, **blobs, ArnScope{},
                                                             registry_address);
  if (Status s = registry_state->Load(); !s.ok()) {
    return fail(s.WithContext("load registry from " + store_name));
  }
  // Pushes are events too, committed with the push.
  registry_state->set_on_image_pushed([&ecs](const registry::PushedImage& image, int64_t now_millis,
                                             store::Batch& batch) {
    std::string ref = image.repository + (image.tag.empty() ? "@" + image.digest : ":" + image.tag);
    ecs.events().Append(now_millis, "ImagePushed", "", {image.repository_arn},
                        "image " + ref + " pushed (" + image.digest + ")", batch);
  });
  registry::Distribution::Options distribution_options;
  distribution_options.create_on_push = config.create_repository_on_push;
  distribution = std::make_unique<registry::Distribution>(
      *registry_state, **blobs, secrets, SystemClock(), tracker, distribution_options);
  ecr = std::make_unique<registry::EcrApi>(*registry_state, **blobs, secrets, SystemClock(),
                                           tracker, ArnScope{}, "http://" + registry_address);
  ecr->SetPageTokenKey(ecs.page_token_key());
  endpoint.AddService(ecr.get());
  Ticker lifecycle(kLifecycleIntervalSeconds, [&] {
    auto expired = ecr->ApplyLifecyclePolicies(SystemClock().NowMillis());
    if (!expired.ok()) {
      LogWarn("lifecycle policies", {{"error", expired.status().message()}});
      return;
    }
    for (const auto& image : *expired) {
      LogInfo("lifecycle policy expired an image", {{"repository", image.repository},
                                                    {"digest", image.digest},
                                                    {"rule", std::to_string(image.rule_priority)}});
    }
  });
  // Stopped tasks stay describable for an hour; then they go.
  Ticker task_cleanup(kLifecycleIntervalSeconds,
                      [&] { ecs.CleanUpStoppedTasks(SystemClock().NowMillis()); });
  // Events past their retention go (event_retention_hours, _max).
  Ticker event_sweep(kLifecycleIntervalSeconds,
                     [&] { ecs.SweepEvents(SystemClock().NowMillis()); });
  // The service scheduler: a pass a second, which costs next to nothing
  // when nothing was written since the last one.
  std::optional<Ticker> controllers(std::in_place, 1, [&] {
    ecs.ReconcileServices(SystemClock().NowMillis());
    ecs.ReconcileGangs(SystemClock().NowMillis());
    ecs.ReconcileQueue(SystemClock().NowMillis());
  });
  // A gang's rank stopping, or room freeing for the queue, is acted on at
  // once rather than at the next tick.
  ecs.OnControllerWork([&controllers] { controllers->Wake(); });
  // Lost agents: looked for a tenth of lost-after apart (1 to 30 s), so a
  // task is stopped at most that long after its agent is lost.
  std::optional<Ticker> lost_instances;
  if (config.agent_lost_after_seconds > 0) {
    lost_instances.emplace(std::clamp(config.agent_lost_after_seconds / 10, 1, 30), [&] {
      for (const auto& lost : ecs.StopTasksOfLostInstances(SystemClock().NowMillis())) {
        LogWarn("container instance lost; its tasks are stopped",
                {{"cluster", lost.cluster},
                 {"instance", lost.instance_id},
                 {"silentSeconds", std::to_string(lost.silent_millis / 1000)},
                 {"tasks", std::to_string(lost.task_ids.size())}});
      }
    });
  }
  serving.store(true, std::memory_order_release);
  LogInfo("berth server listening",
          {{"listen", api_address},
           {"registry", registry_address},
           {"data", config.data_dir},
           {"store", store_name},
           {"metrics", metrics_server ? bound(**metrics_address, metrics_server->port())
                                      : api_address + " (bearer token)"},
           {"credentials", credentials_path}});
  if (config.dev) {
    PrintClientEnvironment(
        config, "http://" + api_address, registry_address, keys->front(),
        UiEndpoint::LoginUrl(api_address, ui_sessions.CreateLoginToken(keys->front().id).token));
  }
  std::function<void()> stop_agent;
  if (config.start_embedded_agent) {
    stop_agent = config.start_embedded_agent("http://" + api_address, keys->front());
  }

  LogInfo("stopping", {{"signal", WaitForStopSignal()}});
  // Held polls are answered first, so the HTTP server has nothing to wait for.
  agent_channel.Stop();
  events.Stop();
  if (stop_agent) stop_agent();
  if (registry_server) registry_server->Stop();
  if (metrics_server) metrics_server->Stop();
  (*server)->Stop();
  background.Wait();       // a registry GC under way finishes before the store closes
  lost_instances.reset();  // nor does a lost-instance check commit after it
  ecs.OnControllerWork(nullptr);
  controllers.reset();  // nor a controller pass
  store->Close();
  LogInfo("stopped");
  return 0;
}

}  // namespace berth::server
