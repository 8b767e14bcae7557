// What the agent serves to the containers it runs, as the ECS agent does:
//
//   /v4/<id>, /v4/<id>/task, /v4/<id>/taskWithTags, /v4/<id>/stats,
//   /v4/<id>/task/stats     the task metadata endpoint v4 (and /v3/<id>...,
//                           the same documents): ECS_CONTAINER_METADATA_URI_V4
//                           and ECS_CONTAINER_METADATA_URI
//   /v2/credentials/<id>    the task role's credentials, with the token in
//                           Authorization: AWS_CONTAINER_CREDENTIALS_FULL_URI
//                           and AWS_CONTAINER_AUTHORIZATION_TOKEN (only for a
//                           task with a taskRoleArn)
//
// Each container gets an id of its own and each task a credentials id and
// token, 128 random bits each, kept in the task's folder (endpoints.json)
// so that they outlive the agent. A container reads only its own task: the
// ids are not guessable, and a container with a network namespace of its
// own reaches only a listener inside that namespace (127.0.0.1:port there,
// see network_namespace.h), which answers for that container alone. A
// container on the host's network reaches the agent's loopback listener
// (127.0.0.1:port on the host), shared by all such containers: there the
// ids are what keeps tasks apart. The AWS SDKs take a FULL_URI only on
// loopback (or 169.254.170.2) over http, which is why both listeners are
// on 127.0.0.1.
//
// Thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/container_stats.h"
#include "agent/runtime/container_runtime.h"
#include "agent/task_metadata.h"
#include "common/clock.h"
#include "common/env.h"
#include "common/status.h"
#include "http/message.h"
#include "http/server.h"

namespace berth::agent {

// What a container is given to reach the endpoints.
struct ContainerAccess {
  std::vector<std::pair<std::string, std::string>> env;  // set over the definition's
  std::string network_namespace;  // the namespace to join; empty: the host's network
};

class ContainerEndpoints {
 public:
  struct Options {
    // The host's loopback listener, for containers on the host's network;
    // the same port is listened on inside each container's own namespace.
    std::string listen = "127.0.0.1:51679";
    // With port 0 in listen: where the port picked is kept, and tried
    // first the next time, so that containers started by an earlier agent
    // (their environment names the port) still reach it.
    std::string port_file;
    ContainerRuntime* runtime = nullptr;  // where a container's process is (stats)
    std::string stats_root = "/";         // /proc and the cgroup mounts (ContainerStats)
    Env* env = Env::Default();            // endpoints.json
    const Clock* clock = &SystemClock();
    // False in unit tests: no listener, no namespace (Handle is called
    // directly).
    bool serve = true;
  };
  static StatusOr<std::unique_ptr<ContainerEndpoints>> Start(Options options);
  ~ContainerEndpoints();  // Stop()
  ContainerEndpoints(const ContainerEndpoints&) = delete;
  ContainerEndpoints& operator=(const ContainerEndpoints&) = delete;
  // Closes every listener; the namespaces stay for the next agent.
  void Stop();

  uint16_t port() const { return port_; }

  struct Container {
    std::string task_arn;
    std::string task_dir;  // endpoints.json goes here
    std::string name;
    std::string netns;       // where its namespace is held; empty: host network
    bool task_role = false;  // the task names a taskRoleArn
  };
  // Before a container starts, and for each container of an adopted task:
  // its ids (made once, then read back), its namespace and the listener in
  // it, and the environment that points it at them.
  StatusOr<ContainerAccess> Attach(const Container& container);
  // The task as its worker sees it now (what the metadata shows).
  void Publish(TaskSnapshot snapshot);
  // The credentials of the task's taskRoleArn, as the server last sent them
  // (api/task_roles.h's document); nullopt: none (yet).
  void SetRoleCredentials(const std::string& task_arn,
                          std::optional<boost::json::object> credentials);
  // The task has stopped: its listeners close, its namespaces go, and its
  // ids are answered 404 from now on.
  void Release(const std::string& task_arn);

  // The answer to one request. scope: the container ("task ARN/name") whose
  // own listener took it; empty for the host's listener.
  http::Response Handle(const http::Request& request, const std::string& scope);

 private:
  explicit ContainerEndpoints(Options options) : options_(std::move(options)) {}
  Status Listen();

  struct Endpoint {  // a container's metadata id
    std::string task_arn;
    std::string container;
  };
  struct Credentials {  // a task's credentials id
    std::string task_arn;
    std::string token;
  };
  struct Task {
    std::optional<TaskSnapshot> snapshot;
    std::optional<boost::json::object> role_credentials;
    std::vector<std::string> ids;  // its containers' metadata ids
    std::string credentials_id;
    std::vector<std::string> namespaces;                             // to remove when it stops
    std::map<std::string, std::unique_ptr<http::Server>> listeners;  // by container
  };

  http::Response Metadata(const Endpoint& endpoint, std::string_view rest);
  http::Response Stats(const std::string& task_arn, const ContainerSnapshot& container);
  http::Response CredentialsFor(const std::string& id, const http::Request& request);
  // endpoints.json of the task: ids read back, or made and written. Needs mu_.
  StatusOr<boost::json::object> TaskIds(const Container& container);

  const Options options_;
  uint16_t port_ = 0;
  std::unique_ptr<http::Server> host_listener_;
  ContainerStats stats_{options_.stats_root};

  std::mutex mu_;
  std::map<std::string, Endpoint> endpoints_;       // by metadata id
  std::map<std::string, Credentials> credentials_;  // by credentials id
  std::map<std::string, Task> tasks_;               // by task ARN
};

}  // namespace berth::agent
