#include "agent/container_endpoints.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>

#include "agent/network_namespace.h"
#include "agent/state_files.h"
#include "common/crypto.h"
#include "common/log.h"
#include "http/endpoint.h"
#include "http/server.h"

namespace berth::agent {

namespace json = boost::json;

namespace {

constexpr size_t kIdBytes = 16;

std::string NewId() { return HexEncode(RandomBytes(kIdBytes)); }

std::string Scope(std::string_view task_arn, std::string_view container) {
  return std::string(task_arn) + "/" + std::string(container);
}

http::Response JsonReply(int status, const json::value& body) {
  http::Response response;
  response.status = status;
  response.SetHeader("content-type", "application/json");
  response.body = json::serialize(body);
  return response;
}

// The metadata handlers' errors: a JSON string, as the ECS agent writes them.
http::Response MetadataError(int status, std::string message) {
  return JsonReply(status, json::value(std::move(message)));
}

// The credentials handler's errors: {"code", "message", "HTTPErrorCode"}.
http::Response CredentialsError(int status, std::string_view code, std::string message) {
  return JsonReply(status, json::object{{"code", code},
                                        {"message", "CredentialsV2Request: " + message},
                                        {"HTTPErrorCode", status}});
}

}  // namespace

StatusOr<std::unique_ptr<ContainerEndpoints>> ContainerEndpoints::Start(Options options) {
  std::unique_ptr<ContainerEndpoints> endpoints(new ContainerEndpoints(std::move(options)));
  if (endpoints->options_.serve) {
    BERTH_RETURN_IF_ERROR(endpoints->Listen().WithContext("task metadata endpoint"));
  }
  return endpoints;
}

Status ContainerEndpoints::Listen() {
  auto hostport = http::SplitHostPort(options_.listen);
  if (!hostport.ok()) return hostport.status();
  if (hostport->first != "127.0.0.1") {
    // The SDKs take a container credentials URI on loopback only.
    return InvalidArgument("--metadata-listen " + options_.listen +
                           ": must be 127.0.0.1:PORT (the AWS SDKs reach container credentials "
                           "on loopback only)");
  }
  http::ServerOptions server;
  server.listen = options_.listen;
  server.name = "task-metadata";
  server.threads = 2;
  auto handler = [this](http::Request&& request, http::Responder respond) {
    respond(Handle(request, ""));
  };
  const bool any_port = hostport->second == 0 && !options_.port_file.empty();
  StatusOr<std::unique_ptr<http::Server>> started = Unavailable("not started");
  if (any_port) {
    if (auto kept = ReadWholeFile(options_.port_file); kept && !kept->empty()) {
      server.listen = "127.0.0.1:" + *kept;
      while (!server.listen.empty() &&
             std::isspace(static_cast<unsigned char>(server.listen.back()))) {
        server.listen.pop_back();
      }
      started = http::Server::Start(server, handler);
      server.listen = options_.listen;
    }
  }
  if (!started.ok()) started = http::Server::Start(server, handler);
  if (!started.ok()) return started.status();
  host_listener_ = std::move(*started);
  port_ = host_listener_->port();
  if (any_port) {
    BERTH_RETURN_IF_ERROR(
        options_.env->WriteFileAtomically(options_.port_file, std::to_string(port_) + "\n"));
  }
  return Status::Ok();
}

ContainerEndpoints::~ContainerEndpoints() { Stop(); }

void ContainerEndpoints::Stop() {
  std::vector<std::unique_ptr<http::Server>> listeners;
  {
    std::lock_guard lock(mu_);
    for (auto& [arn, task] : tasks_) {
      for (auto& [name, listener] : task.listeners) listeners.push_back(std::move(listener));
      task.listeners.clear();
    }
    if (host_listener_) listeners.push_back(std::move(host_listener_));
  }
  for (auto& listener : listeners) listener->Stop();
}

StatusOr<json::object> ContainerEndpoints::TaskIds(const Container& c) {
  const std::string path = c.task_dir + "/endpoints.json";
  json::object ids = ReadJsonObject(path).value_or(json::object{});
  bool changed = false;
  json::object& containers = [&]() -> json::object& {
    json::value& v = ids["containers"];
    if (!v.is_object()) v = json::object{};
    return v.as_object();
  }();
  if (!containers.contains(c.name)) {
    containers[c.name] = NewId();
    changed = true;
  }
  if (c.task_role && StringField(ids, "credentialsId").empty()) {
    ids["credentialsId"] = NewId();
    ids["credentialsToken"] = NewId();
    changed = true;
  }
  if (changed) {
    AtomicWriteOptions secret;
    secret.mode = 0600;  // the credentials token
    secret.durable = false;
    BERTH_RETURN_IF_ERROR(
        options_.env->WriteFileAtomically(path, json::serialize(ids), secret).WithContext(path));
  }
  return ids;
}

StatusOr<ContainerAccess> ContainerEndpoints::Attach(const Container& c) {
  std::lock_guard lock(mu_);
  auto ids = TaskIds(c);
  if (!ids.ok()) return ids.status();
  const std::string id(StringField(ids->at("containers").as_object(), c.name));
  Task& task = tasks_[c.task_arn];
  if (!endpoints_.contains(id)) task.ids.push_back(id);
  endpoints_[id] = {c.task_arn, c.name};

  const std::string base = "http://127.0.0.1:" + std::to_string(port_);
  ContainerAccess access;
  access.env = {{"ECS_CONTAINER_METADATA_URI_V4", base + "/v4/" + id},
                {"ECS_CONTAINER_METADATA_URI", base + "/v3/" + id},
                {"AWS_EXECUTION_ENV", "AWS_ECS_EC2"}};
  if (c.task_role) {
    const std::string credentials_id(StringField(*ids, "credentialsId"));
    credentials_[credentials_id] = {c.task_arn, std::string(StringField(*ids, "credentialsToken"))};
    task.credentials_id = credentials_id;
    access.env.push_back(
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI", base + "/v2/credentials/" + credentials_id});
    access.env.push_back({"AWS_CONTAINER_AUTHORIZATION_TOKEN", credentials_[credentials_id].token});
  }
  if (c.netns.empty()) return access;
  access.network_namespace = c.netns;
  if (!options_.serve || task.listeners.contains(c.name)) return access;
  // The namespace (new, or the one an earlier agent made) with a listener
  // inside on the same port as the host's.
  BERTH_RETURN_IF_ERROR(CreateNetworkNamespace(c.netns));
  if (std::find(task.namespaces.begin(), task.namespaces.end(), c.netns) == task.namespaces.end()) {
    task.namespaces.push_back(c.netns);
  }
  auto fd = ListenInNetworkNamespace(c.netns, port_);
  if (!fd.ok()) return fd.status().WithContext("task metadata endpoint of " + c.name);
  http::ServerOptions server;
  server.listen_fd = *fd;
  server.name = "task-metadata";
  server.threads = 1;
  auto listener = http::Server::Start(
      server,
      [this, scope = Scope(c.task_arn, c.name)](http::Request&& request, http::Responder respond) {
        respond(Handle(request, scope));
      });
  if (!listener.ok()) return listener.status().WithContext("task metadata endpoint of " + c.name);
  task.listeners[c.name] = std::move(*listener);
  return access;
}

void ContainerEndpoints::Publish(TaskSnapshot snapshot) {
  std::lock_guard lock(mu_);
  std::string arn = snapshot.task_arn;
  tasks_[arn].snapshot = std::move(snapshot);
}

void ContainerEndpoints::SetRoleCredentials(const std::string& task_arn,
                                            std::optional<json::object> credentials) {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(task_arn);
  if (it == tasks_.end() && !credentials) return;
  tasks_[task_arn].role_credentials = std::move(credentials);
}

void ContainerEndpoints::Release(const std::string& task_arn) {
  Task task;
  {
    std::lock_guard lock(mu_);
    auto it = tasks_.find(task_arn);
    if (it == tasks_.end()) return;
    task = std::move(it->second);
    tasks_.erase(it);
    for (const std::string& id : task.ids) endpoints_.erase(id);
    credentials_.erase(task.credentials_id);
  }
  // Outside the lock: a request in flight may need it to finish.
  for (auto& [name, listener] : task.listeners) listener->Stop();
  if (task.snapshot) {
    for (const ContainerSnapshot& c : task.snapshot->containers) stats_.Forget(c.runtime_id);
  }
  for (const std::string& netns : task.namespaces) {
    if (Status s = RemoveNetworkNamespace(netns); !s.ok()) {
      LogWarn("network namespace not removed", {{"task", task_arn}, {"error", s.message()}});
    }
  }
}

http::Response ContainerEndpoints::Handle(const http::Request& request, const std::string& scope) {
  std::string_view path = request.Path();
  if (request.method != "GET") {
    return MetadataError(405, "only GET is served here, not " + request.method);
  }
  for (std::string_view version : {"/v4/", "/v3/"}) {
    if (!path.starts_with(version)) continue;
    std::string_view rest = path.substr(version.size());
    size_t slash = rest.find('/');
    std::string id(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? "" : rest.substr(slash);
    const std::string prefix =
        std::string(version == "/v4/" ? "V4" : "V3") + " container metadata handler: ";
    Endpoint endpoint;
    {
      std::lock_guard lock(mu_);
      auto it = endpoints_.find(id);
      // A container's own listener answers for that container only.
      if (it == endpoints_.end() ||
          (!scope.empty() && Scope(it->second.task_arn, it->second.container) != scope)) {
        return MetadataError(404, prefix +
                                      "unable to get task arn from request: no container "
                                      "with this endpoint id");
      }
      endpoint = it->second;
    }
    return Metadata(endpoint, rest);
  }
  constexpr std::string_view kCredentials = "/v2/credentials/";
  if (path.starts_with(kCredentials)) {
    std::string id(path.substr(kCredentials.size()));
    {
      std::lock_guard lock(mu_);
      auto it = credentials_.find(id);
      if (it != credentials_.end() && !scope.empty() &&
          !scope.starts_with(it->second.task_arn + "/")) {
        return CredentialsError(400, "InvalidIdInRequest", "Credentials not found");
      }
    }
    return CredentialsFor(id, request);
  }
  return MetadataError(404, "no such endpoint: " + std::string(path));
}

http::Response ContainerEndpoints::Metadata(const Endpoint& endpoint, std::string_view rest) {
  std::optional<TaskSnapshot> snapshot;
  {
    std::lock_guard lock(mu_);
    auto it = tasks_.find(endpoint.task_arn);
    if (it != tasks_.end()) snapshot = it->second.snapshot;
  }
  if (!snapshot) return MetadataError(503, "the task's metadata is not ready yet");
  const ContainerSnapshot* container = snapshot->Find(endpoint.container);
  if (container == nullptr) {
    return MetadataError(404, "no container " + endpoint.container + " in the task");
  }
  if (rest.empty() || rest == "/")
    return JsonReply(200, ContainerMetadataJson(*snapshot, *container));
  if (rest == "/task") return JsonReply(200, TaskMetadataJson(*snapshot, false));
  if (rest == "/taskWithTags") return JsonReply(200, TaskMetadataJson(*snapshot, true));
  if (rest == "/stats") return Stats(endpoint.task_arn, *container);
  if (rest == "/task/stats") {
    // Every container by its runtime id; null for one that does not run.
    json::object all;
    for (const ContainerSnapshot& c : snapshot->containers) {
      http::Response one = Stats(endpoint.task_arn, c);
      all[c.runtime_id] = one.status == 200 ? json::parse(one.body) : json::value(nullptr);
    }
    return JsonReply(200, all);
  }
  return MetadataError(404, "no such endpoint: " + std::string(rest));
}

http::Response ContainerEndpoints::Stats(const std::string& task_arn, const ContainerSnapshot& c) {
  const std::string prefix = "V4 container stats handler: ";
  if (options_.runtime == nullptr || c.known_status != "RUNNING") {
    return MetadataError(404, prefix + "container " + c.name + " is not running");
  }
  auto state = options_.runtime->State(c.runtime_id);
  if (!state.ok() || state->phase != ContainerState::Phase::kRunning || state->pid <= 0) {
    return MetadataError(404, prefix + "container " + c.name + " is not running");
  }
  auto stats = stats_.Read(c.runtime_id, c.name, state->pid, options_.clock->NowMillis());
  if (!stats.ok()) {
    LogWarn("container stats", {{"task", task_arn}, {"error", stats.status().message()}});
    return MetadataError(500, prefix + stats.status().message());
  }
  return JsonReply(200, *stats);
}

http::Response ContainerEndpoints::CredentialsFor(const std::string& id,
                                                  const http::Request& request) {
  std::lock_guard lock(mu_);
  if (id.empty()) return CredentialsError(400, "NoIdInRequest", "No Credential ID in the request");
  auto it = credentials_.find(id);
  if (it == credentials_.end()) {
    return CredentialsError(400, "InvalidIdInRequest", "Credentials not found");
  }
  const std::string* token = request.Header("authorization");
  if (token == nullptr || !ConstantTimeEquals(*token, it->second.token)) {
    return CredentialsError(401, "InvalidAuthorizationToken",
                            "the Authorization header is not this task's "
                            "AWS_CONTAINER_AUTHORIZATION_TOKEN");
  }
  auto task = tasks_.find(it->second.task_arn);
  if (task == tasks_.end() || !task->second.role_credentials) {
    return CredentialsError(503, "CredentialsUninitialized",
                            "Credentials uninitialized for ID (the agent has not heard from the "
                            "server since it started)");
  }
  return JsonReply(200, *task->second.role_credentials);
}

}  // namespace berth::agent
