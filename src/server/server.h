// Runs the berth control plane: the store, the APIs, the registry and the
// HTTP server.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/credentials_file.h"

namespace berth::server {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir;  // created if absent
  // "sqlite:PATH" or "etcd://HOST:PORT[,HOST:PORT...][/ROOT/]"; default
  // sqlite:<data_dir>/berth.db. On etcd several servers may share a root:
  // one leads (a lease-backed key, <root>leader) and the others forward
  // every request to it (leadership.h, leader_forwarder.h).
  std::string store;
  // On etcd: the TTL of the leader's lease, so how long a dead leader's
  // servers wait before another takes over (--leader-lease-seconds).
  int leader_lease_seconds = 10;
  // On etcd: the address the other servers reach this one at, in the
  // leadership key (--advertise); default the bound --listen address.
  std::string advertise_address;
  // The registry's blobs; default <data_dir>/registry. Servers sharing an
  // etcd root should share this folder (--registry-root).
  std::string registry_root;
  // TLS to etcd: the CA of its members, and a client certificate and key
  // for a cluster run with --client-cert-auth (--etcd-ca, --etcd-cert,
  // --etcd-key).
  std::string etcd_ca_file;
  std::string etcd_cert_file;
  std::string etcd_key_file;
  // etcd's --max-txn-ops and --max-request-bytes as the cluster runs them;
  // 0: etcd's defaults (128, 1.5 MiB).
  int etcd_max_txn_ops = 0;
  int64_t etcd_max_request_bytes = 0;
  std::string credentials_file;  // default <data_dir>/credentials
  // Task roles (--roles-file): role ARN -> credentials for the tasks that
  // name it (server/api/task_roles.h). Empty: a task naming a role is
  // refused.
  std::string roles_file;
  int threads = 2;

  // TLS on the API and registry listeners (--tls-cert, --tls-key): the
  // certificate with its chain and its key, PEM, read again on SIGHUP.
  // Empty: plain HTTP. The metrics listener (loopback only) stays plain.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Extra CA certificates (PEM) trusted, besides the system's, for agents
  // that serve TLS (--agent-ca-file) and, on etcd, for the other servers
  // when a follower relays to a leader over https (--server-ca-file).
  std::string agent_ca_file;
  std::string server_ca_file;
  // Limits of the API and registry listeners, each (0: none): connections
  // open at once, in all and from one client address (over either a new
  // connection gets a 503 with the reason), and the seconds a request's
  // head may take once begun (408 after).
  int max_connections = 10000;
  int max_connections_per_address = 1024;
  int header_timeout_seconds = 20;
  bool dev = false;  // print the environment a client needs to talk to this server

  // The registry: served under /v2/ on `listen`, and also alone on
  // registry_listen when set. registry_address is how clients reach it
  // (repositoryUri, proxyEndpoint); default: the bound listen address.
  std::string registry_listen;
  std::string registry_address;
  bool create_repository_on_push = false;  // else pushing to a missing repository fails
  int max_uploads_per_repository = 256;    // open blob uploads; 0: no cap
  int min_free_disk_mb = 256;  // user writes refused below this free on data or registry disks

  // Prometheus /metrics: on the API address when empty (or equal to
  // listen), where it needs "Authorization: Bearer <token>" with the token
  // in <data_dir>/metrics-token; alone on metrics_listen otherwise, which
  // must then be a loopback address and needs no token.
  std::string metrics_listen;

  // An instance whose node agent joined is agentConnected=false (and takes
  // no new tasks) after this long without a poll (--agent-heartbeat-timeout).
  int agent_heartbeat_timeout_seconds = 30;
  // An instance whose agent has been silent this long is lost: its tasks are
  // STOPPED and what they held freed; the instance stays registered
  // (--agent-lost-after). Longer than the heartbeat timeout; 0: never.
  int agent_lost_after_seconds = 300;
  // Events (GET /berth/v1/events) are kept this long, and at most this many.
  int event_retention_hours = 24;
  int64_t event_retention_max = 100000;

  // berth dev: started once the server serves, with its endpoint
  // ("http://host:port") and first access key; returns what stops it.
  std::function<std::function<void()>(const std::string& endpoint, const AccessKey& key)>
      start_embedded_agent;
};

// Runs until SIGINT or SIGTERM, then stops gracefully: requests in flight
// finish, the store commits what it has and closes. Returns an exit code.
int RunServer(const ServerConfig& config);

}  // namespace berth::server
