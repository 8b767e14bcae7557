#include "cli/daemon_flags.h"

#include "agent/image/image_store.h"
#include "http/local_address.h"

namespace berth::cli {

void AddServerFlags(CLI::App* cmd, server::ServerConfig& config) {
  cmd->add_option("--listen", config.listen, "address to serve on, host:port")
      ->envname("BERTH_LISTEN")
      ->capture_default_str();
  cmd->add_option("--data", config.data_dir, "data directory (store, keys)")
      ->envname("BERTH_DATA")
      ->capture_default_str();
  cmd->add_option("--store", config.store,
                  "store: sqlite:PATH (default sqlite:DATA/berth.db) or "
                  "etcd://HOST:PORT[,HOST:PORT...][/ROOT/] (one server per etcd root for now)")
      ->envname("BERTH_STORE");
  cmd->add_option("--credentials", config.credentials_file,
                  "AWS shared-credentials file with the access keys (default DATA/credentials)")
      ->envname("BERTH_CREDENTIALS");
  cmd->add_option("--roles-file", config.roles_file,
                  "task roles: an AWS shared-credentials file with a [ROLE ARN] section per role "
                  "(berth_profile = a profile of --credentials, or aws_access_key_id and "
                  "aws_secret_access_key); tasks naming a taskRoleArn or executionRoleArn not in "
                  "it are refused")
      ->envname("BERTH_ROLES_FILE");
  cmd->add_option("--threads", config.threads, "HTTP I/O threads")
      ->envname("BERTH_THREADS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--max-connections", config.max_connections,
                  "connections the API (and the registry) port holds open at once; a new one "
                  "over it gets 503 and is closed (0: no limit)")
      ->envname("BERTH_MAX_CONNECTIONS")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  cmd->add_option("--max-connections-per-address", config.max_connections_per_address,
                  "connections one client address may hold open on a port; a new one over it "
                  "gets 503 and is closed (0: no limit)")
      ->envname("BERTH_MAX_CONNECTIONS_PER_ADDRESS")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  cmd->add_option("--header-timeout", config.header_timeout_seconds,
                  "seconds a request's head may take from its first byte (from the accept for a "
                  "connection's first, the TLS handshake included); a slower one gets 408 and "
                  "is closed (0: only the 120 s idle timeout)")
      ->envname("BERTH_HEADER_TIMEOUT")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  cmd->add_option("--registry-listen", config.registry_listen,
                  "also serve the registry (/v2/) alone on this host:port")
      ->envname("BERTH_REGISTRY_LISTEN");
  cmd->add_option("--metrics-listen", config.metrics_listen,
                  "serve Prometheus /metrics on this host:port (default: the API address, "
                  "with the bearer token in <data>/metrics-token; a separate loopback address "
                  "needs none)")
      ->envname("BERTH_METRICS_LISTEN");
  cmd->add_option("--registry-address", config.registry_address,
                  "host:port clients use to reach the registry (default: the bound address)")
      ->envname("BERTH_REGISTRY_ADDRESS");
  cmd->add_option("--agent-heartbeat-timeout", config.agent_heartbeat_timeout_seconds,
                  "seconds without a poll after which an agent's instance is agentConnected=false")
      ->envname("BERTH_AGENT_HEARTBEAT_TIMEOUT")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd->add_option("--agent-lost-after", config.agent_lost_after_seconds,
                  "seconds without a poll after which an agent's instance is lost and its tasks "
                  "are stopped (longer than --agent-heartbeat-timeout; 0: never)")
      ->envname("BERTH_AGENT_LOST_AFTER")
      ->check(CLI::Range(0, 30 * 86400))
      ->capture_default_str();
  cmd->add_option("--event-retention", config.event_retention_hours,
                  "hours the event stream (GET /berth/v1/events, berth events) keeps an event")
      ->envname("BERTH_EVENT_RETENTION")
      ->check(CLI::Range(1, 24 * 365))
      ->capture_default_str();
  cmd->add_option("--event-retention-max", config.event_retention_max,
                  "events the stream keeps at most; the oldest go first")
      ->envname("BERTH_EVENT_RETENTION_MAX")
      ->check(CLI::Range(int64_t{1000}, int64_t{100'000'000}))
      ->capture_default_str();
  cmd->add_flag("--create-repository-on-push,!--no-create-repository-on-push",
                config.create_repository_on_push,
                "create a missing repository when an image is pushed to it")
      ->envname("BERTH_CREATE_REPOSITORY_ON_PUSH")
      ->capture_default_str();
  cmd->add_option("--min-free-disk-mb", config.min_free_disk_mb,
                  "MiB kept free on the disks of --data and the registry: below it, requests "
                  "that write are refused (ServerException, registry 507) and reads go on "
                  "(0: never refuse)")
      ->envname("BERTH_MIN_FREE_DISK_MB")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--max-uploads-per-repository", config.max_uploads_per_repository,
                  "blob uploads open at once in one repository; more get 429 TOOMANYREQUESTS "
                  "(0: no cap)")
      ->envname("BERTH_MAX_UPLOADS_PER_REPOSITORY")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
}

void AddAgentFlags(CLI::App* cmd, agent::AgentConfig& config, const std::string& prefix) {
  std::string env = prefix.empty() ? "BERTH_" : "BERTH_AGENT_";
  auto name = [&](const char* flag) { return "--" + prefix + flag; };
  auto var = [&](const char* suffix) { return env + suffix; };
  cmd->add_option(name("cluster"), config.cluster, "cluster to join")
      ->envname(var("CLUSTER"))
      ->capture_default_str();
  cmd->add_option(name("device-root"), config.device_root,
                  "read /dev, /sys and /proc under this folder (a fake device tree for tests)")
      ->envname(var("DEVICE_ROOT"))
      ->capture_default_str();
  cmd->add_option(name("instance-type"), config.instance_type, "ecs.instance-type attribute")
      ->envname(var("INSTANCE_TYPE"));
  cmd->add_option(name("availability-zone"), config.availability_zone,
                  "ecs.availability-zone attribute")
      ->envname(var("AVAILABILITY_ZONE"));
  cmd->add_option(name("address"), config.address,
                  "this node's IP address, registered as attribute berth.address: where the "
                  "ranks of a gang reach its tasks (MASTER_ADDR, BERTH_GANG_HOSTS); default: the "
                  "local address the server is reached from")
      ->envname(var("ADDRESS"))
      ->check(CLI::Validator(
          [](std::string& text) {
            return http::IsIpAddress(text) ? std::string() : "not an IP address: " + text;
          },
          "IP"));
  cmd->add_option(name("attribute"), config.attributes, "custom attribute name=value (repeatable)");
  cmd->add_option(name("memory-reserve"), config.memory_reserve_mib,
                  "MiB of memory kept back from tasks")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option(name("plain-http-registry"), config.plain_http_registries,
                  "registry host:port spoken to over http (repeatable); others get https, "
                  "loopback ones plain http when they do not speak TLS");
  cmd->add_option(name("registry-ca-file"), config.registry_ca_file,
                  "extra CA certificates (PEM) trusted for https registries, besides the "
                  "system's (/etc/ssl/certs)")
      ->envname(var("REGISTRY_CA_FILE"));
  cmd->add_option(name("registry-auth-file"), config.registry_auth_file,
                  "credentials for other registries, Docker config.json format (as `skopeo "
                  "login --authfile` writes)")
      ->envname(var("REGISTRY_AUTH_FILE"));
  cmd->add_option(name("image-pull-behavior"), config.image_pull_behavior,
                  "when a cached image's tag is asked of its registry again, as the ECS agent's "
                  "ECS_IMAGE_PULL_BEHAVIOR: default (at every task start; the cached image when "
                  "the registry fails), always (at every task start; a failure fails the task), "
                  "once or prefer-cached (a tag pulled before is not asked again)")
      ->envname(var("IMAGE_PULL_BEHAVIOR"))
      ->check(CLI::Validator(
          [](std::string& text) {
            auto behavior = agent::ParsePullBehavior(text);
            return behavior.ok() ? std::string() : behavior.status().message();
          },
          "default|always|once|prefer-cached"))
      ->capture_default_str();
  cmd->add_option(name("metadata-listen"), config.metadata_listen,
                  "127.0.0.1:PORT where containers reach the task metadata endpoint "
                  "(ECS_CONTAINER_METADATA_URI_V4) and their task role's credentials "
                  "(AWS_CONTAINER_CREDENTIALS_FULL_URI): on the host's loopback for containers on "
                  "the host's network, on their own loopback (the same port) for the others")
      ->envname(var("METADATA_LISTEN"))
      ->capture_default_str();
  cmd->add_option(name("retention"), config.retention_seconds,
                  "seconds the bundles, upper folders and logs of stopped tasks are kept")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option(name("volume-root"), config.volume_root,
                  "folder of the shared Docker volumes (dockerVolumeConfiguration scope shared, "
                  "kept by name) and the only place a volume's bind (driverOpts type none, o "
                  "bind) may take its device from (default: DATA/volumes)")
      ->envname(var("VOLUME_ROOT"));
  cmd->add_option(name("efs-address"), config.efs_addresses,
                  "fs-ID=HOST:/PATH: mount the EFS file system fs-ID of an "
                  "efsVolumeConfiguration from this NFS export (repeatable)");
  cmd->add_option(name("runtime"), config.runc,
                  "OCI runtime conmon starts containers with: runc, crun, or a path")
      ->envname(var("RUNTIME"))
      ->capture_default_str();
  cmd->add_option(name("container-log-max-bytes"), config.container_log_max_bytes,
                  "a container's log file at most; past it the file starts over (older lines "
                  "dropped), so that a chatty task cannot fill the disk (0: no cap)")
      ->envname(var("CONTAINER_LOG_MAX_BYTES"))
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option(name("seccomp-profile"), config.seccomp_profile,
                  "default seccomp profile (containers-common JSON); empty for none")
      ->capture_default_str();
  cmd->add_option(name("restart-period-scale"), config.restart_period_scale,
                  "for tests only: multiplies every container's restartPolicy "
                  "restartAttemptPeriod (ECS's is 60 s at the least)")
      ->envname(var("RESTART_PERIOD_SCALE"))
      ->check(CLI::Range(0.001, 1.0))
      ->capture_default_str();
}

}  // namespace berth::cli
