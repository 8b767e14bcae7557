// `berth server`: the control plane (ECS and ECR APIs, registry) until
// SIGINT or SIGTERM.
#include <memory>

#include "cli/daemon_flags.h"
#include "cli/verbs.h"
#include "server/server.h"

namespace berth::cli {

Verb AddServerCommand(CLI::App& parent) {
  auto config = std::make_shared<server::ServerConfig>();
  config->data_dir = "/var/lib/berth";
  auto* cmd = parent.add_subcommand("server", "run the control plane (ECS API)");
  AddServerFlags(cmd, *config);
  // TLS on the API and registry ports (berth dev stays plain http).
  cmd->add_option("--tls-cert", config->tls_cert_file,
                  "serve the API and registry over https with this certificate (PEM, followed by "
                  "its intermediates; read again on SIGHUP)")
      ->envname("BERTH_TLS_CERT");
  cmd->add_option("--tls-key", config->tls_key_file,
                  "private key (PEM) of --tls-cert (read again on SIGHUP)")
      ->envname("BERTH_TLS_KEY");
  cmd->add_option("--agent-ca-file", config->agent_ca_file,
                  "CA certificates (PEM) trusted, besides the system's, for agents that serve "
                  "https (berth agent --tls-cert)")
      ->envname("BERTH_AGENT_CA_FILE");
  cmd->add_option("--server-ca-file", config->server_ca_file,
                  "on etcd with --tls-cert: CA certificates (PEM) trusted, besides the system's, "
                  "for the other servers, which a follower relays requests to over https")
      ->envname("BERTH_SERVER_CA_FILE");
  // TLS to etcd, for --store etcd://...
  cmd->add_option("--etcd-ca", config->etcd_ca_file,
                  "CA certificate (PEM) that signed the etcd members' certificates; turns on "
                  "https to etcd")
      ->envname("BERTH_ETCD_CA");
  cmd->add_option("--etcd-cert", config->etcd_cert_file,
                  "client certificate (PEM) for etcd's --client-cert-auth")
      ->envname("BERTH_ETCD_CERT");
  cmd->add_option("--etcd-key", config->etcd_key_file, "private key (PEM) of --etcd-cert")
      ->envname("BERTH_ETCD_KEY");
  cmd->add_option("--etcd-max-txn-ops", config->etcd_max_txn_ops,
                  "etcd's --max-txn-ops, when the cluster runs with more than its default 128: "
                  "the most keys one change may write")
      ->envname("BERTH_ETCD_MAX_TXN_OPS")
      ->check(CLI::Range(2, 1000000));
  cmd->add_option("--etcd-max-request-bytes", config->etcd_max_request_bytes,
                  "etcd's --max-request-bytes, when the cluster runs with another than its "
                  "default 1572864")
      ->envname("BERTH_ETCD_MAX_REQUEST_BYTES")
      ->check(CLI::Range(int64_t{4096}, int64_t{1} << 31));
  cmd->add_option("--leader-lease-seconds", config->leader_lease_seconds,
                  "on etcd: the leader's lease; a leader that stops renewing it is replaced by "
                  "another server this long after")
      ->envname("BERTH_LEADER_LEASE_SECONDS")
      ->check(CLI::Range(2, 3600));
  cmd->add_option("--advertise", config->advertise_address,
                  "on etcd: HOST:PORT the other servers reach this one's API at (default: the "
                  "bound --listen address)")
      ->envname("BERTH_ADVERTISE");
  cmd->add_option("--registry-root", config->registry_root,
                  "the folder of the registry's blobs (default DATA/registry); servers sharing an "
                  "etcd root should all mount one")
      ->envname("BERTH_REGISTRY_ROOT");
  return {"server", cmd, [config]() -> StatusOr<int> { return server::RunServer(*config); }};
}

}  // namespace berth::cli
