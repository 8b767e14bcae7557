// What a berth server runs while it leads: the ECS API and its state, the
// registry state and the ECR API, the agent channel, log forwarding, the
// event stream, and every controller and ticker that decides. Built from the
// store (which loads the state), torn down when the server stops leading
// (answering what it holds, stopping the tickers, waiting for its commits),
// built again from the store when it leads again. A server on SQLite builds
// one and keeps it.
//
// Thread-safe: Handle is called on the HTTP server's threads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "http/message.h"
#include "http/server.h"
#include "registry/blob_store.h"
#include "server/access_policy.h"
#include "server/api/task_roles.h"
#include "server/disk_guard.h"
#include "store/store.h"

namespace berth::server {

struct ServerConfig;

struct ControlPlaneContext {
  const ServerConfig* config = nullptr;
  store::Store* store = nullptr;
  registry::BlobStore* blobs = nullptr;
  // User access keys: id -> secret.
  const std::unordered_map<std::string, std::string>* user_secrets = nullptr;
  const AccessPolicy* access = nullptr;   // who may do what
  const api::TaskRoles* roles = nullptr;  // the roles file; never null
  const DiskGuard* disk = nullptr;        // refuses user writes on a nearly full disk
  std::string registry_address;           // how clients reach the registry (repositoryUri)
  // Called (on the store's writer thread; must not block) when a commit
  // fails. Unset: the process stops, as a lone server does.
  std::function<void(const Status&)> on_commit_failure;
};

class ControlPlane {
 public:
  // Loads the state from the store and starts the controllers.
  static StatusOr<std::unique_ptr<ControlPlane>> Start(const ControlPlaneContext& context);
  // Answers the held agent polls and event reads, waits for the background
  // jobs, stops the tickers, and waits until the store has reported on every
  // commit this control plane queued.
  ~ControlPlane();

  // Serves request, if it is one of the control plane's (false: it is not,
  // and respond was not used). registry_only: the registry's own listener.
  bool Handle(http::Request& request, http::Responder& respond, bool registry_only);
  // For ServerOptions::stream_body: a layer upload's sink, or nullptr.
  std::shared_ptr<http::BodySink> StreamBody(const http::Request& head);

  struct Impl;

 private:
  explicit ControlPlane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::server
