// A client of etcd's v3 API through its JSON gateway (POST /v3/kv/range,
// /v3/kv/txn, /v3/lease/...), over berth's own HTTP client. Keys and values
// are bytes; the gateway's base64 and its int64-as-string encoding stay in
// the .cc file.
//
// Not thread-safe: one EtcdClient per thread (each keeps one keep-alive
// connection to the endpoint it uses).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/client.h"

namespace berth::store::etcd {

struct ClientOptions {
  // "host:port" of each member, tried in order: a request that finds its
  // endpoint down (no connection, no leader, leader changed, timed out) is
  // sent to the next one, once around the list.
  std::vector<std::string> endpoints;
  // With tls.enabled, https with tls.ca_file and the client certificate
  // tls.cert_file / tls.key_file (etcd's --client-cert-auth).
  http::TlsOptions tls;
  int timeout_seconds = 10;
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct RangeRequest {
  std::string key;
  // Empty: key alone. Otherwise the half-open range [key, range_end); "\0"
  // means every key >= key (etcd's convention).
  std::string range_end;
  int64_t limit = 0;     // 0: no limit
  int64_t revision = 0;  // 0: the newest; else the key space as it was then

  static RangeRequest OneKey(std::string key) {
    RangeRequest r;
    r.key = std::move(key);
    return r;
  }
};

struct RangeResponse {
  int64_t revision = 0;  // the store's revision the answer was read at
  std::vector<KeyValue> kvs;
  bool more = false;  // limit cut the answer short
  int64_t count = 0;  // keys in the whole range
};

// A condition of a transaction; only equality is needed. A missing key has
// create, mod revision and version 0.
struct Compare {
  enum class Target { kCreateRevision, kModRevision, kVersion, kValue };
  std::string key;
  Target target = Target::kModRevision;
  int64_t number = 0;  // the revision or version for the first three targets
  std::string value;   // for kValue

  static Compare CreateRevision(std::string key, int64_t revision) {
    return {std::move(key), Target::kCreateRevision, revision, {}};
  }
  static Compare ModRevision(std::string key, int64_t revision) {
    return {std::move(key), Target::kModRevision, revision, {}};
  }
};

struct TxnOp {
  enum class Kind { kPut, kDelete, kRange };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;  // kPut
  int64_t lease = 0;  // kPut: the key is deleted when the lease ends

  static TxnOp Put(std::string key, std::string value, int64_t lease = 0) {
    return {Kind::kPut, std::move(key), std::move(value), lease};
  }
  static TxnOp Delete(std::string key) { return {Kind::kDelete, std::move(key), {}, 0}; }
  static TxnOp Get(std::string key) { return {Kind::kRange, std::move(key), {}, 0}; }
};

struct TxnResponse {
  int64_t revision = 0;  // the revision after the transaction
  bool succeeded = false;
  // The answers of the kRange ops of the branch taken, in order.
  std::vector<RangeResponse> ranges;
};

struct Lease {
  int64_t id = 0;
  int64_t ttl_seconds = 0;
};

// The size of a transaction as etcd counts it against --max-request-bytes:
// its protobuf encoding inside the raft request (an upper bound: the raft
// header is counted at its largest).
int64_t TxnRequestBytes(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                        const std::vector<TxnOp>& failure);
// The bytes one op adds to a transaction's success branch.
int64_t TxnOpBytes(const TxnOp& op);

class Client {
 public:
  // Fails on an empty or malformed endpoint list; connects lazily.
  static StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);
  ~Client();

  // Errors read "etcd 127.0.0.1:2379: range: etcdserver: ...", with the
  // gRPC code mapped to a StatusCode (InvalidArgument for a request etcd
  // refuses, FailedPrecondition for a compacted revision, Unavailable when no
  // endpoint answered).
  StatusOr<RangeResponse> Range(const RangeRequest& request);
  StatusOr<TxnResponse> Txn(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                            const std::vector<TxnOp>& failure);

  // Leases, for leader election: a key put with a lease is deleted when the
  // lease expires or is revoked.
  StatusOr<Lease> LeaseGrant(int64_t ttl_seconds);
  // One keep-alive: the lease's remaining TTL afterwards; NotFound once it
  // has expired.
  StatusOr<int64_t> LeaseKeepAlive(int64_t id);
  Status LeaseRevoke(int64_t id);

  // The endpoint the last request went to.
  const std::string& current_endpoint() const;

 private:
  explicit Client(ClientOptions options);
  // POSTs body to path on the current endpoint, moving to the next while an
  // endpoint is unavailable. The reply's JSON text on success.
  StatusOr<std::string> Post(std::string_view what, const std::string& path,
                             const std::string& body);

  ClientOptions options_;
  size_t current_ = 0;
  std::vector<std::unique_ptr<http::Client>> connections_;  // per endpoint, lazily
};

}  // namespace berth::store::etcd
