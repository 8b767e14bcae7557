// The node agent: registers this node as a container instance, keeps the
// channel to the server (see README.md), runs a TaskWorker per assigned
// task, serves container logs to the server, and removes what stopped
// tasks leave behind once their retention has passed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "http/sigv4.h"

namespace berth::agent {

struct AgentConfig {
  Env* env = Env::Default();                     // not owned: the files, mounts and clock
  std::string server = "http://127.0.0.1:8080";  // the berth server's API endpoint
  std::string cluster = "default";
  std::string data_dir = "/var/lib/berth/agent";  // instance identity, images, tasks
  std::string device_root = "/";  // where /dev, /sys, /proc are read (tests: a fake tree)
  // The agent's own address (container logs), and how the server reaches it.
  std::string listen = "127.0.0.1:0";
  std::string advertise;  // default: the bound listen address
  // TLS on that address (--tls-cert, --tls-key; PEM, read again by
  // ReloadTls): the agent then joins with an https:// endpoint, and the
  // server verifies the certificate for the advertised host. Empty: http.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Extra CA certificates (PEM) trusted, besides the system's, for an
  // https server (--server-ca-file); also for registries when
  // registry_ca_file is empty (berth's registry has the server's
  // certificate).
  std::string server_ca_file;
  // The node's IP address, registered as attribute berth.address: where the
  // ranks of a gang reach the tasks on this node (MASTER_ADDR,
  // BERTH_GANG_HOSTS). Default: the local address this node reaches the
  // server from.
  std::string address;
  std::string instance_type;
  std::string availability_zone;
  std::vector<std::string> attributes;  // "name=value" or "name"
  int64_t memory_reserve_mib = 256;
  std::vector<std::string> plain_http_registries;
  // Extra CA certificates (PEM) trusted for https registries, on top of the
  // system's trust store.
  std::string registry_ca_file;
  // Credentials for other registries, in Docker's config.json format
  // ({"auths": {"host:port": {"auth": base64("user:password")}}}); berth's
  // own registry needs none (the agent uses its instance's ECR token).
  std::string registry_auth_file;
  // When a cached image's tag is asked of its registry again, as the ECS
  // agent's ECS_IMAGE_PULL_BEHAVIOR: "default", "always", "once" or
  // "prefer-cached" (agent/image/image_store.h, PullBehavior).
  std::string image_pull_behavior = "default";
  // Where containers on the host's network reach the task metadata and
  // credentials endpoints (container_endpoints.h); containers with a
  // network namespace of their own reach the same port on their loopback.
  std::string metadata_listen = "127.0.0.1:51679";
  int retention_seconds = 3600;  // bundles, upper folders and logs of stopped tasks
  // Where shared Docker volumes are kept by name (ROOT/NAME/_data), and the
  // only place a volume's bind (driverOpts type none, o bind) may take its
  // device from (--volume-root). Default: DATA/volumes.
  std::string volume_root;
  // "fs-ID=HOST:/PATH" (--efs-address, repeatable): the NFS export an
  // efsVolumeConfiguration's file system is mounted from.
  std::vector<std::string> efs_addresses;
  // Where the cgroup file systems are (the task cgroups are made there).
  std::string cgroup_root = "/sys/fs/cgroup";
  int poll_wait_seconds = 20;
  std::string runc = "runc";
  std::string conmon = "conmon";
  // A container's log file at most; past it conmon starts the file over.
  int64_t container_log_max_bytes = 100 << 20;
  std::string seccomp_profile = "/usr/share/containers/seccomp.json";  // "" for none
  // For tests only: multiplies every container's restartAttemptPeriod (ECS
  // allows 60 s at the least), so an end-to-end test of restart policies
  // takes seconds.
  double restart_period_scale = 1.0;
};

class Agent {
 public:
  // Registers (or re-registers) the node and starts serving its tasks.
  // join: the access key the agent registers with (an ordinary key of the
  // server); everything after uses the instance's own credential.
  static StatusOr<std::unique_ptr<Agent>> Start(const AgentConfig& config,
                                                http::SigV4Credentials join);
  virtual ~Agent() = default;
  // Stops the agent; the containers keep running and are adopted by the
  // next agent started on the same data folder.
  virtual void Stop() = 0;
  virtual std::string container_instance_arn() const = 0;
  // Reads the listener's certificate and key again (SIGHUP), for
  // connections accepted from now on; logs the outcome.
  virtual void ReloadTls() = 0;
};

}  // namespace berth::agent
