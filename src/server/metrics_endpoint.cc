#include "server/metrics_endpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/clock.h"
#include "common/crypto.h"
#include "http/endpoint.h"

namespace berth::server {

namespace {

bool IsLoopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

// Compares without leaking where the first difference is.
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

http::Response Text(int status, std::string body) {
  http::Response response;
  response.status = status;
  response.SetHeader("content-type", "text/plain; charset=utf-8");
  response.body = std::move(body);
  return response;
}

}  // namespace

StatusOr<std::string> EnsureMetricsToken(const std::string& path) {
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    std::string token = text.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
    if (token.empty()) return InvalidArgument("metrics token file " + path + " is empty");
    return token;
  }
  std::string token = HexEncode(RandomBytes(32));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return EnsureMetricsToken(path);  // another process made it
    return Internal("create metrics token file " + path + ": " + std::strerror(errno));
  }
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Internal("write metrics token file " + path + ": " + std::strerror(errno));
  return token;
}

StatusOr<std::optional<std::string>> SeparateMetricsAddress(const std::string& metrics_listen,
                                                            const std::string& api_listen) {
  if (metrics_listen.empty() || metrics_listen == api_listen) return std::optional<std::string>();
  auto hp = http::SplitHostPort(metrics_listen);
  if (!hp.ok()) {
    return InvalidArgument("--metrics-listen " + metrics_listen + ": " + hp.status().message());
  }
  if (!IsLoopback(hp->first)) {
    return InvalidArgument("--metrics-listen " + metrics_listen +
                           ": a separate metrics address must be a loopback address "
                           "(127.0.0.1, [::1]), since it needs no token; leave it out to serve "
                           "/metrics on the API address with the bearer token");
  }
  return std::optional<std::string>(metrics_listen);
}

bool MetricsEndpoint::Accepts(const http::Request& request) {
  return request.method == "GET" && request.Path() == "/metrics";
}

void MetricsEndpoint::Handle(http::Request&& request, http::Responder respond) {
  if (token_) {
    const std::string* header = request.Header("authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (header == nullptr || !header->starts_with(kBearer)) {
      http::Response refused =
          Text(401,
               "berth /metrics needs \"Authorization: Bearer <token>\"; the token is in the "
               "file metrics-token in the server's data directory\n");
      refused.SetHeader("www-authenticate", "Bearer realm=\"berth metrics\"");
      return respond(std::move(refused));
    }
    if (!SameSecret(std::string_view(*header).substr(kBearer.size()), *token_)) {
      http::Response refused =
          Text(401,
               "berth /metrics: the bearer token is not the one in the data directory's "
               "metrics-token file\n");
      refused.SetHeader("www-authenticate",
                        "Bearer realm=\"berth metrics\", error=\"invalid_token\"");
      return respond(std::move(refused));
    }
  }
  http::Response response = Text(200, registry_.Expose());
  response.SetHeader("content-type", std::string(metrics::kContentType));
  respond(std::move(response));
}

metrics::ScopedCollector CollectServerState(metrics::Registry& registry, const api::EcsApi& ecs,
                                            AgentChannel& agents) {
  return metrics::ScopedCollector(registry, [&ecs, &agents](metrics::Exposition& out) {
    using metrics::Type;
    const auto clusters = ecs.MetricsSnapshot(SystemClock().NowMillis());
    const std::vector<std::string> cluster_status = {"cluster", "status"};
    const std::vector<std::string> cluster_only = {"cluster"};
    out.Family("berth_tasks", "Tasks not STOPPED, by cluster and lastStatus.", Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_tasks", cluster_status, {c.cluster, "PENDING"},
                 static_cast<double>(c.tasks_pending));
      out.Sample("berth_tasks", cluster_status, {c.cluster, "RUNNING"},
                 static_cast<double>(c.tasks_running));
    }
    out.Family("berth_container_instances",
               "Registered container instances, by cluster and status.", Type::kGauge);
    for (const auto& c : clusters) {
      for (const auto& [status, n] : c.instances) {
        out.Sample("berth_container_instances", cluster_status, {c.cluster, status},
                   static_cast<double>(n));
      }
    }
    out.Family("berth_container_instances_agent_connected",
               "Container instances not INACTIVE whose agent is connected (agentConnected).",
               Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_container_instances_agent_connected", cluster_only, {c.cluster},
                 static_cast<double>(c.instances_agent_connected));
    }
    out.Family("berth_neuron_devices", "Neuron devices registered on instances not INACTIVE.",
               Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_neuron_devices", cluster_only, {c.cluster},
                 static_cast<double>(c.neuron_devices));
    }
    out.Family("berth_neuron_devices_in_use", "Neuron devices held by tasks not STOPPED.",
               Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_neuron_devices_in_use", cluster_only, {c.cluster},
                 static_cast<double>(c.neuron_devices_in_use));
    }
    out.Family("berth_gpus", "GPUs registered on instances not INACTIVE.", Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_gpus", cluster_only, {c.cluster}, static_cast<double>(c.gpus));
    }
    out.Family("berth_gpus_in_use", "GPUs held by tasks not STOPPED.", Type::kGauge);
    for (const auto& c : clusters) {
      out.Sample("berth_gpus_in_use", cluster_only, {c.cluster},
                 static_cast<double>(c.gpus_in_use));
    }
    out.Family("berth_agent_poll_connections",
               "Node agents' assignment polls open on this server (held or being answered).",
               Type::kGauge);
    out.Sample("berth_agent_poll_connections", {}, {}, static_cast<double>(agents.OpenPolls()));
  });
}

}  // namespace berth::server
