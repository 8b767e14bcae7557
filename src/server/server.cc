#include "server/server.h"

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <unordered_map>

#include "common/clock.h"
#include "common/log.h"
#include "http/server.h"
#include "server/api/aws_json.h"
#include "server/api/ecs_api.h"
#include "server/commit_tracker.h"
#include "server/credentials.h"
#include "store/store.h"

namespace berth::server {

namespace {

StatusOr<std::string> SqlitePath(const ServerConfig& config) {
  if (config.store.empty()) return config.data_dir + "/berth.db";
  if (config.store.starts_with("sqlite:")) return config.store.substr(7);
  return InvalidArgument("--store " + config.store + ": unsupported store (expected sqlite:PATH)");
}

void PrintClientEnvironment(const ServerConfig& config, uint16_t port, const AccessKey& key) {
  std::string host = config.listen.substr(0, config.listen.rfind(':'));
  std::string endpoint = "http://" + host + ":" + std::to_string(port);
  std::printf(
      "# berth is serving the ECS API on %s (data in %s).\n"
      "# Point the aws CLI and boto3 at it:\n"
      "export AWS_ACCESS_KEY_ID=%s\n"
      "export AWS_SECRET_ACCESS_KEY=%s\n"
      "export AWS_DEFAULT_REGION=us-east-1\n"
      "export AWS_ENDPOINT_URL=%s\n"
      "# then, for example:\n"
      "#   aws --endpoint-url %s ecs create-cluster --cluster-name trn1\n",
      endpoint.c_str(), config.data_dir.c_str(), key.id.c_str(), key.secret.c_str(),
      endpoint.c_str(), endpoint.c_str());
  std::fflush(stdout);
}

}  // namespace

int RunServer(const ServerConfig& config) {
  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto fail = [](const Status& status) {
    LogError("berth server cannot start", {{"error", status.message()}});
    return 1;
  };

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return fail(Internal("create data directory " + config.data_dir + ": " + ec.message()));

  std::string credentials_path =
      config.credentials_file.empty() ? config.data_dir + "/credentials" : config.credentials_file;
  auto keys = EnsureCredentialsFile(credentials_path);
  if (!keys.ok()) return fail(keys.status());
  std::unordered_map<std::string, std::string> secrets;
  for (const auto& key : *keys) secrets[key.id] = key.secret;

  auto path = SqlitePath(config);
  if (!path.ok()) return fail(path.status());
  auto store = store::OpenSqliteStore(*path);
  if (!store.ok()) return fail(store.status());

  CommitTracker tracker;
  api::EcsApi ecs(**store, tracker, ArnScope{});
  if (Status s = ecs.Load(); !s.ok()) return fail(s.WithContext("load state from " + *path));

  api::AwsJsonEndpoint endpoint(
      [&secrets](std::string_view id) -> std::optional<std::string> {
        auto it = secrets.find(std::string(id));
        if (it == secrets.end()) return std::nullopt;
        return it->second;
      },
      SystemClock(), tracker);
  endpoint.AddService(&ecs);

  http::ServerOptions options;
  options.listen = config.listen;
  options.threads = config.threads;
  auto server = http::Server::Start(options, [&](http::Request&& request, http::Responder respond) {
    if (api::AwsJsonEndpoint::Accepts(request)) {
      return endpoint.Handle(std::move(request), std::move(respond));
    }
    if (request.method == "GET" && request.Path() == "/healthz") {
      http::Response ok;
      ok.body = "ok\n";
      return respond(std::move(ok));
    }
    respond(api::ErrorResponse("UnknownOperationException",
                               "berth serves the AWS JSON APIs as POST / with X-Amz-Target", "",
                               404));
  });
  if (!server.ok()) return fail(server.status());

  LogInfo("berth server listening", {{"listen", config.listen},
                                     {"port", std::to_string((*server)->port())},
                                     {"data", config.data_dir},
                                     {"store", *path},
                                     {"credentials", credentials_path}});
  if (config.dev) PrintClientEnvironment(config, (*server)->port(), keys->front());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  LogInfo("stopping", {{"signal", strsignal(signal_number)}});
  (*server)->Stop();
  (*store)->Close();
  LogInfo("stopped");
  return 0;
}

}  // namespace berth::server
