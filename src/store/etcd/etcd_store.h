// The etcd backend of the Store: berth's key space under one etcd prefix,
// every batch one etcd transaction.
//
// Layout under options.root (default "/berth/"):
//   <root>schema_version   the schema version (decimal), as SQLite's meta table
//   <root>commit           the id of the last transaction this store wrote
//   <root>kv/<key>         the store's keys
//
// Every transaction compares the revision of <root>commit with the one this
// store last wrote (or read at open), and that of <root>schema_version with
// the one it opened, and puts a new id in <root>commit. So a second writer on
// the same prefix (another berth server, or one that migrated the schema) is
// noticed at its first commit and refused with FailedPrecondition, never
// interleaved; and a transaction resent after its reply was lost is
// recognised by its id instead of being applied twice.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace berth::store {

struct EtcdStoreOptions {
  std::vector<std::string> endpoints;  // "host:port", tried in order when one is down
  std::string root = "/berth/";        // every key berth writes is under it
  // TLS to etcd: https when ca_file or cert_file is set. cert_file/key_file
  // are the client certificate for etcd's --client-cert-auth.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // etcd's --max-request-bytes and --max-txn-ops, as the cluster runs them
  // (these are etcd's defaults). A batch that cannot fit one transaction
  // within them fails with InvalidArgument before anything is sent;
  // batches committed together are split into transactions that fit.
  int64_t max_request_bytes = 1572864;
  int max_txn_ops = 128;
  // Keys per range request when scanning (each page read at the scan's
  // first revision, so a scan is one consistent view).
  int scan_page_keys = 1000;
  // Per request to one endpoint.
  int timeout_seconds = 10;
  // How long a commit keeps retrying while no endpoint answers (an election,
  // a member restarting) before it fails with Unavailable.
  int unavailable_retry_seconds = 10;
};

// "etcd://host:port[,host:port...][/root/]" -> endpoints and root (a root
// without a trailing '/' gets one).
StatusOr<EtcdStoreOptions> ParseEtcdStoreUrl(std::string_view url);

class EtcdStore : public Store {
 public:
  // Every later commit also requires that fence_key exists with this create
  // revision (a leader's lease-backed key): once it was deleted or created
  // anew, commits fail with FailedPrecondition and change nothing. Applies
  // to the transactions sent after the call. Thread-safe.
  virtual void SetFence(std::string fence_key, int64_t create_revision) = 0;
  virtual void ClearFence() = 0;
};

// Connects, migrates the schema under options.root to the current version
// (refusing one written by a newer berth) and reads the commit key.
StatusOr<std::unique_ptr<EtcdStore>> OpenEtcdStore(const EtcdStoreOptions& options);

}  // namespace berth::store
