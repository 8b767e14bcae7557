#include "server/server.h"

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "awsjson/endpoint.h"
#include "common/log.h"
#include "common/open_file_limit.h"
#include "common/reload_signal.h"
#include "common/stop_signals.h"
#include "http/endpoint.h"
#include "http/metrics_endpoint.h"
#include "http/server.h"
#include "http/server_tls.h"
#include "registry/blob_store.h"
#include "registry/distribution.h"
#include "registry/ecr_api.h"
#include "server/control_plane.h"
#include "server/credentials.h"
#include "server/injected_faults.h"
#include "server/leader_forwarder.h"
#include "server/leadership.h"
#include "server/ui_endpoint.h"
#include "server/ui_sessions.h"
#include "store/etcd/etcd_store.h"
#include "store/store.h"

namespace berth::server {

namespace {

// The store --store names, how to name it in the log, and on etcd the
// store's fence and the options its leader election connects with.
struct OpenedStore {
  std::unique_ptr<store::Store> store;
  std::string name;
  store::EtcdStore* etcd = nullptr;
  store::EtcdStoreOptions etcd_options;
};

StatusOr<OpenedStore> OpenStore(const ServerConfig& config, const std::string& sqlite_vfs) {
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
    OpenedStore result{nullptr, config.store, opened->get(), *options};
    result.store = std::move(*opened);
    return result;
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
  store::SqliteStoreOptions options;
  options.vfs = sqlite_vfs;
  auto opened = store::OpenSqliteStore(path, options);
  if (!opened.ok()) return opened.status();
  OpenedStore result;
  result.store = std::move(*opened);
  result.name = path;
  return result;
}

// The listeners' certificate (--tls-cert, --tls-key), or null for plain
// HTTP.
StatusOr<std::shared_ptr<http::ServerTls>> LoadServerTls(const ServerConfig& config) {
  if (config.tls_cert_file.empty() && config.tls_key_file.empty()) {
    return std::shared_ptr<http::ServerTls>();
  }
  if (config.tls_cert_file.empty() || config.tls_key_file.empty()) {
    return InvalidArgument("--tls-cert and --tls-key go together");
  }
  auto tls = http::ServerTls::Load(config.tls_cert_file, config.tls_key_file);
  if (!tls.ok()) return tls.status().WithContext("--tls-cert/--tls-key");
  return tls;
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

}  // namespace

int RunServer(const ServerConfig& config) {
  BlockStopSignals();  // before any thread starts
  // Every connected agent holds two sockets (its poll and its calls).
  if (OpenFileLimit files = RaiseOpenFileLimit(); files.now != files.before) {
    LogInfo("open file limit raised",
            {{"from", std::to_string(files.before)}, {"to", std::to_string(files.now)}});
  }

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
  auto tls = LoadServerTls(config);
  if (!tls.ok()) return fail(tls.status());
  // SIGHUP reloads the certificate, from before the listeners open so that
  // it never ends a server that is already reachable (berth dev keeps the
  // default: a hang-up of its terminal ends it).
  if (!config.dev) HandleReloadSignal([tls = *tls] { http::ReloadServerTls(tls.get()); });

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
  std::unordered_set<std::string> read_only_keys;
  for (const auto& key : *keys) {
    secret_of[key.id] = key.secret;
    if (key.read_only) read_only_keys.insert(key.id);
  }
  const AccessPolicy access(std::move(read_only_keys));
  api::TaskRoles roles;
  if (!config.roles_file.empty()) {
    auto loaded = api::TaskRoles::Load(config.roles_file, *keys);
    if (!loaded.ok()) return fail(loaded.status());
    roles = std::move(*loaded);
  }
  // What berth dev prints and its embedded agent joins with: the first key
  // that may change things.
  const AccessKey& full_key = [&]() -> const AccessKey& {
    for (const auto& key : *keys) {
      if (!key.read_only) return key;
    }
    return keys->front();
  }();

  auto faults = InjectedFaults::FromEnvironment();
  if (!faults.ok()) return fail(faults.status());
  auto opened_store = OpenStore(config, (*faults)->sqlite_vfs());
  if (!opened_store.ok()) return fail(opened_store.status());
  std::unique_ptr<store::Store> store = std::move(opened_store->store);
  const std::string store_name = opened_store->name;
  store::EtcdStore* etcd_store = opened_store->etcd;
  const std::string registry_root =
      config.registry_root.empty() ? config.data_dir + "/registry" : config.registry_root;
  auto blobs = registry::BlobStore::Open(registry_root, (*faults)->env());
  if (!blobs.ok()) return fail(blobs.status());

  http::ServerOptions options;
  options.listen = config.listen;
  options.name = "api";
  options.threads = config.threads;
  options.tls = *tls;
  options.max_connections = config.max_connections;
  options.max_connections_per_address = config.max_connections_per_address;
  options.header_timeout_seconds = config.header_timeout_seconds;
  // Layers stream to disk; what is buffered is the largest API request.
  options.max_body_bytes = registry::EcrApi::kMaxRequestBytes;

  http::MetricsEndpoint metrics_endpoint(
      metrics::DefaultRegistry(),
      *metrics_address ? std::nullopt : std::optional<std::string>(*metrics_token));

  // The control plane while this server leads (always on SQLite); null
  // while it follows.
  std::mutex plane_mu;
  std::shared_ptr<ControlPlane> plane;
  auto current_plane = [&] {
    std::lock_guard lock(plane_mu);
    return plane;
  };
  std::unique_ptr<Leadership> leadership;  // on etcd
  std::optional<LeaderForwarder> forwarder;
  std::string api_address;

  // {"role": "leader"|"follower", "leader", "self", "store", "storeState"}: no secrets.
  auto health = [&] {
    boost::json::object body;
    LeaderState state;  // a server on SQLite leads alone
    if (leadership) {
      state = leadership->state();
    } else {
      state.leading = true;
      state.leader = api_address;
    }
    body["role"] = state.leading && current_plane() ? "leader" : "follower";
    body["leader"] = state.leader;
    body["self"] = api_address;
    body["store"] = etcd_store ? "etcd" : "sqlite";
    // The store as the election last saw it: "ok", or etcd's error.
    body["storeState"] = state.store_error.empty() ? "ok" : state.store_error;
    http::Response response;
    response.SetHeader("content-type", "application/json");
    response.body = boost::json::serialize(body);
    return response;
  };

  // The dashboard's sessions are in memory, this server's own: a restart
  // logs everyone out. Its API requests go through route (below), so on a
  // follower they are relayed to the leader like any other.
  UiSessions ui_sessions(SystemClock());
  std::optional<UiEndpoint> ui;
  http::SecretLookup user_secrets =
      [&secret_of](std::string_view id) -> std::optional<std::string> {
    if (auto it = secret_of.find(std::string(id)); it != secret_of.end()) return it->second;
    return std::nullopt;
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
      if (request.method == "GET" && request.Path() == "/healthz") {
        http::Response ok;
        ok.body = "ok\n";
        return respond(std::move(ok));
      }
      // After the check above: api_address is set before serving.
      if (request.method == "GET" && request.Path() == "/berth/v1/health") {
        return respond(health());
      }
      // Every server serves its own metrics; the ECS gauges are the leader's.
      if (!registry_only && !*metrics_address && http::MetricsEndpoint::Accepts(request)) {
        return metrics_endpoint.Handle(std::move(request), std::move(respond));
      }
      if (!registry_only && UiEndpoint::Accepts(request)) {
        return ui->Handle(std::move(request), std::move(respond));
      }
      if (std::shared_ptr<ControlPlane> leading = current_plane()) {
        if (leading->Handle(request, respond, registry_only)) return;
        return respond(
            awsjson::ErrorResponse("UnknownOperationException",
                                   "berth serves the AWS JSON APIs as POST / with X-Amz-Target, "
                                   "and the registry under /v2/",
                                   "", 404));
      }
      LeaderState state = leadership ? leadership->state() : LeaderState{};
      if (state.leader.empty() || state.leader == api_address) {
        std::string why = state.store_error.empty() ? "no berth server leads yet"
                                                    : "no berth server leads: " + state.store_error;
        return respond(
            awsjson::ErrorResponse("ServiceUnavailableException", why + "; try again", "", 503));
      }
      forwarder->Forward(std::move(request), state.leader, std::move(respond));
    };
  };
  options.stream_body = [&](const http::Request& head) -> std::shared_ptr<http::BodySink> {
    if (!serving.load(std::memory_order_acquire)) return nullptr;
    if (std::shared_ptr<ControlPlane> leading = current_plane()) return leading->StreamBody(head);
    // A follower relays a layer upload to the leader as it arrives.
    std::string leader = leadership ? leadership->state().leader : "";
    if (leader.empty() || leader == api_address || !registry::Distribution::Accepts(head) ||
        head.method == "GET" || head.method == "HEAD" || head.method == "DELETE") {
      return nullptr;
    }
    return forwarder->StreamTo(head, leader);
  };

  ui.emplace(ui_sessions, user_secrets, SystemClock(), route(false));
  auto server = http::Server::Start(options, route(false));
  if (!server.ok()) return fail(server.status());
  std::unique_ptr<http::Server> registry_server;
  if (!config.registry_listen.empty()) {
    http::ServerOptions registry_options = options;
    registry_options.listen = config.registry_listen;
    registry_options.name = "registry";
    auto started = http::Server::Start(registry_options, route(true));
    if (!started.ok()) return fail(started.status());
    registry_server = std::move(*started);
  }

  std::unique_ptr<http::Server> metrics_server;
  if (*metrics_address) {
    http::ServerOptions metrics_options;
    metrics_options.listen = **metrics_address;
    metrics_options.name = "metrics";
    metrics_options.threads = 1;
    metrics_options.header_timeout_seconds = config.header_timeout_seconds;
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
  api_address = config.advertise_address.empty() ? bound(config.listen, (*server)->port())
                                                 : config.advertise_address;
  std::string registry_address = config.registry_address;
  if (registry_address.empty()) {
    registry_address =
        registry_server ? bound(config.registry_listen, registry_server->port()) : api_address;
  }

  // The main thread builds and tears down the control plane as the
  // leadership comes and goes, and stops on SIGINT or SIGTERM.
  std::mutex loop_mu;
  std::condition_variable loop_cv;
  bool stopping = false;
  bool leadership_changed = false;
  bool reload = false;  // the plane's state is not the store's: load it again
  std::string stop_signal;
  auto wake_loop = [&](bool stop) {
    {
      std::lock_guard lock(loop_mu);
      (stop ? stopping : leadership_changed) = true;
    }
    loop_cv.notify_all();
  };

  ControlPlaneContext context;
  context.config = &config;
  context.store = store.get();
  context.blobs = blobs->get();
  context.user_secrets = &secret_of;
  context.access = &access;
  context.roles = &roles;
  // The folders berth itself fills: the data folder (the SQLite database)
  // and the registry's blobs.
  const DiskGuard disk(Env::Default(), {config.data_dir, registry_root},
                       static_cast<uint64_t>(config.min_free_disk_mb) << 20);
  context.disk = &disk;
  context.registry_address = registry_address;
  if (etcd_store == nullptr) {
    // Alone on SQLite this server always leads; a failed commit stops it.
    auto started = ControlPlane::Start(context);
    if (!started.ok()) return fail(started.status().WithContext("load state from " + store_name));
    plane = std::move(*started);
  } else {
    http::TlsOptions leader_tls;
    leader_tls.enabled = *tls != nullptr;  // the servers of one cluster serve alike
    leader_tls.ca_file = config.server_ca_file;
    forwarder.emplace(api_address, std::move(leader_tls));
    LeadershipOptions election;
    election.client = store::EtcdClientOptions(opened_store->etcd_options);
    election.key = store::EtcdLeaderKey(opened_store->etcd_options);
    election.address = api_address;
    election.lease_seconds = config.leader_lease_seconds;
    context.on_commit_failure = [&](const Status& status) {
      if (status.code() == StatusCode::kInvalidArgument) {
        // The store refused a change before writing anything (too large for
        // one etcd transaction) and the fence holds: this server still
        // leads. Its memory holds the change: load the state again.
        std::lock_guard lock(loop_mu);
        reload = true;
      } else if (leadership) {
        // A refused (fenced) write, or etcd gone: another server may lead
        // now. Step down, drop the state, follow.
        leadership->Resign(status);
      }
      wake_loop(false);
    };
    auto started = Leadership::Start(election, [&] { wake_loop(false); });
    if (!started.ok()) return fail(started.status());
    leadership = std::move(*started);
  }

  serving.store(true, std::memory_order_release);
  LogInfo("berth server listening",
          {{"listen", api_address},
           {"registry", registry_address},
           {"data", config.data_dir},
           {"store", store_name},
           {"metrics", metrics_server ? bound(**metrics_address, metrics_server->port())
                                      : api_address + " (bearer token)"},
           {"credentials", credentials_path},
           {"tls", *tls ? (*tls)->Describe() : "off"}});
  if (config.dev) {
    PrintClientEnvironment(
        config, "http://" + api_address, registry_address, full_key,
        UiEndpoint::LoginUrl(api_address, ui_sessions.CreateLoginToken(full_key.id).token));
  }
  std::function<void()> stop_agent;
  if (config.start_embedded_agent) {
    stop_agent = config.start_embedded_agent("http://" + api_address, full_key);
  }

  std::thread([&wake_loop, &stop_signal, &loop_mu] {
    const char* name = WaitForStopSignal();
    {
      std::lock_guard lock(loop_mu);
      stop_signal = name;
    }
    wake_loop(true);
  }).detach();  // it returns only once the loop below ends
  uint64_t term = 0;
  auto step_down = [&] {
    std::shared_ptr<ControlPlane> old;
    {
      std::lock_guard lock(plane_mu);
      old.swap(plane);
    }
    // Requests being handled hold it for a moment; once they let go, it is
    // torn down here, before anything else (a new term's fence above all)
    // happens: no request of an ended term commits under a later fence.
    while (old.use_count() > 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    old.reset();
  };
  for (;;) {
    bool reload_now;
    {
      std::unique_lock lock(loop_mu);
      loop_cv.wait(lock, [&] { return stopping || leadership_changed; });
      if (stopping) break;
      leadership_changed = false;
      reload_now = std::exchange(reload, false);
    }
    LeaderState state = leadership->state();
    if (state.leading && (state.term != term || reload_now)) {
      step_down();  // a plane of an earlier term (if its end went unseen), or one to reload
      if (reload_now) LogWarn("reloading the state from the store after a refused change");
      term = state.term;
      // Every write of this term is fenced by its key: once it is gone
      // (the lease ended), nothing this server still believes is written.
      etcd_store->SetFence(store::EtcdLeaderKey(opened_store->etcd_options), state.fence_revision);
      auto started = ControlPlane::Start(context);
      if (!started.ok()) {
        LogError("cannot take over as leader", {{"error", started.status().ToString()}});
        leadership->Resign(started.status());
        continue;
      }
      std::lock_guard lock(plane_mu);
      plane = std::move(*started);
      LogInfo("leading: state loaded from the store", {{"store", store_name}});
    } else if (!state.leading && current_plane()) {
      LogWarn("no longer leading: state dropped; following", {{"leader", state.leader}});
      step_down();
    }
  }

  LogInfo("stopping", {{"signal", stop_signal}});
  step_down();  // answers held polls, stops the controllers, waits for commits
  if (stop_agent) stop_agent();
  if (registry_server) registry_server->Stop();
  if (metrics_server) metrics_server->Stop();
  (*server)->Stop();
  leadership.reset();  // the lease is revoked: another server takes over at once
  store->Close();
  LogInfo("stopped");
  return 0;
}

}  // namespace berth::server
