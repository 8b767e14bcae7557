#include "store/etcd/etcd_client.h"

#include <boost/json.hpp>
#include <charconv>
#include <utility>

#include "common/base64.h"
#include "http/endpoint.h"

namespace berth::store::etcd {
namespace json = boost::json;
namespace {

// The raft request around a transaction: its ID (10-byte varint), its header
// (ID, auth revision, user name: etcd sets no user without auth) and the
// field tags, counted at their largest.
constexpr int64_t kRaftRequestOverhead = 64;

int64_t VarintBytes(uint64_t v) {
  int64_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// A length-delimited field: tag, length, bytes.
int64_t FieldBytes(int64_t length) { return 1 + VarintBytes(length) + length; }
// A non-zero int64 field: tag and varint; a zero one is not encoded.
int64_t NumberBytes(int64_t v) { return v == 0 ? 0 : 1 + VarintBytes(static_cast<uint64_t>(v)); }

int64_t CompareBytes(const Compare& c) {
  int64_t n = 2 + FieldBytes(c.key.size());  // target (result EQUAL is 0: not encoded)
  if (c.target == Compare::Target::kValue) return n + FieldBytes(c.value.size());
  return n + NumberBytes(c.number);
}

// A TxnOp as a RequestOp: the oneof field around the request.
int64_t RequestOpBytes(const TxnOp& op) {
  int64_t inner = FieldBytes(op.key.size());
  if (op.kind == TxnOp::Kind::kPut) {
    if (!op.value.empty()) inner += FieldBytes(op.value.size());
    inner += NumberBytes(op.lease);
  }
  return FieldBytes(inner);
}

std::string Number(int64_t v) { return std::to_string(v); }

// jsonpb writes int64 as a string and leaves out zero values.
int64_t Int(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (!v->is_string()) return 0;
  const json::string& s = v->as_string();
  int64_t out = 0;
  std::from_chars(s.data(), s.data() + s.size(), out);
  return out;
}

StatusOr<std::string> Bytes(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::string();
  std::optional<std::string> bytes = Base64Decode(std::string_view(v->as_string()));
  if (!bytes) return Internal("field " + std::string(name) + " is not base64");
  return std::move(*bytes);
}

const json::object& Object(const json::object& o, std::string_view name) {
  static const json::object empty;
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_object() ? v->as_object() : empty;
}

StatusOr<RangeResponse> ParseRange(const json::object& o) {
  RangeResponse out;
  out.revision = Int(Object(o, "header"), "revision");
  out.more = o.if_contains("more") && o.at("more").is_bool() && o.at("more").as_bool();
  out.count = Int(o, "count");
  if (const json::value* kvs = o.if_contains("kvs"); kvs != nullptr && kvs->is_array()) {
    out.kvs.reserve(kvs->as_array().size());
    for (const json::value& item : kvs->as_array()) {
      if (!item.is_object()) return Internal("kvs holds a non-object");
      const json::object& kv = item.as_object();
      KeyValue parsed;
      StatusOr<std::string> key = Bytes(kv, "key");
      if (!key.ok()) return key.status();
      StatusOr<std::string> value = Bytes(kv, "value");
      if (!value.ok()) return value.status();
      parsed.key = std::move(*key);
      parsed.value = std::move(*value);
      parsed.create_revision = Int(kv, "create_revision");
      parsed.mod_revision = Int(kv, "mod_revision");
      parsed.version = Int(kv, "version");
      parsed.lease = Int(kv, "lease");
      out.kvs.push_back(std::move(parsed));
    }
  }
  return out;
}

json::object RangeJson(const RangeRequest& r) {
  json::object o;
  o["key"] = Base64Encode(r.key);
  if (!r.range_end.empty()) o["range_end"] = Base64Encode(r.range_end);
  if (r.limit > 0) o["limit"] = Number(r.limit);
  if (r.revision > 0) o["revision"] = Number(r.revision);
  return o;
}

json::array OpsJson(const std::vector<TxnOp>& ops) {
  json::array out;
  out.reserve(ops.size());
  for (const TxnOp& op : ops) {
    json::object inner;
    inner["key"] = Base64Encode(op.key);
    json::object wrapped;
    switch (op.kind) {
      case TxnOp::Kind::kPut:
        inner["value"] = Base64Encode(op.value);
        if (op.lease != 0) inner["lease"] = Number(op.lease);
        wrapped["request_put"] = std::move(inner);
        break;
      case TxnOp::Kind::kDelete:
        wrapped["request_delete_range"] = std::move(inner);
        break;
      case TxnOp::Kind::kRange:
        wrapped["request_range"] = std::move(inner);
        break;
    }
    out.push_back(std::move(wrapped));
  }
  return out;
}

const char* TargetName(Compare::Target t) {
  switch (t) {
    case Compare::Target::kCreateRevision:
      return "CREATE";
    case Compare::Target::kModRevision:
      return "MOD";
    case Compare::Target::kVersion:
      return "VERSION";
    case Compare::Target::kValue:
      return "VALUE";
  }
  return "MOD";
}

json::object CompareJson(const Compare& c) {
  json::object o;
  o["key"] = Base64Encode(c.key);
  o["result"] = "EQUAL";
  o["target"] = TargetName(c.target);
  switch (c.target) {
    case Compare::Target::kCreateRevision:
      o["create_revision"] = Number(c.number);
      break;
    case Compare::Target::kModRevision:
      o["mod_revision"] = Number(c.number);
      break;
    case Compare::Target::kVersion:
      o["version"] = Number(c.number);
      break;
    case Compare::Target::kValue:
      o["value"] = Base64Encode(c.value);
      break;
  }
  return o;
}

// gRPC status codes, as the gateway reports them in "code".
Status FromGrpc(int code, std::string message) {
  switch (code) {
    case 3:  // INVALID_ARGUMENT: too large, too many ops, duplicate key
      return InvalidArgument(std::move(message));
    case 5:  // NOT_FOUND: a lease that expired
      return NotFound(std::move(message));
    case 7:
      return {StatusCode::kPermissionDenied, std::move(message)};
    case 8:
      return {StatusCode::kResourceExhausted, std::move(message)};
    case 9:   // FAILED_PRECONDITION
    case 11:  // OUT_OF_RANGE: a compacted or future revision
      return FailedPrecondition(std::move(message));
    case 16:
      return {StatusCode::kUnauthenticated, std::move(message)};
    case 4:   // DEADLINE_EXCEEDED
    case 14:  // UNAVAILABLE: no leader, leader changed, stopping
      return Unavailable(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

// etcd answers some transient failures with codes other than UNAVAILABLE;
// another member may answer them.
bool Transient(const Status& s) {
  if (s.code() == StatusCode::kUnavailable) return true;
  const std::string& m = s.message();
  for (const char* text : {"leader changed", "no leader", "request timed out", "stopped",
                           "too many requests", "not capable"}) {
    if (m.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

int64_t TxnOpBytes(const TxnOp& op) { return FieldBytes(RequestOpBytes(op)); }

int64_t TxnRequestBytes(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                        const std::vector<TxnOp>& failure) {
  int64_t txn = 0;
  for (const Compare& c : compares) txn += FieldBytes(CompareBytes(c));
  for (const TxnOp& op : success) txn += TxnOpBytes(op);
  for (const TxnOp& op : failure) txn += TxnOpBytes(op);
  return kRaftRequestOverhead + FieldBytes(txn);
}

Client::Client(ClientOptions options)
    : options_(std::move(options)), connections_(options_.endpoints.size()) {}
Client::~Client() = default;

StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  if (options.endpoints.empty()) return InvalidArgument("etcd: no endpoints");
  for (const std::string& endpoint : options.endpoints) {
    StatusOr<std::pair<std::string, uint16_t>> parsed = http::SplitHostPort(endpoint);
    if (!parsed.ok() || parsed->first.empty()) {
      return InvalidArgument("etcd endpoint \"" + endpoint + "\": want host:port");
    }
  }
  return std::unique_ptr<Client>(new Client(std::move(options)));
}

const std::string& Client::current_endpoint() const { return options_.endpoints[current_]; }

StatusOr<std::string> Client::Post(std::string_view what, const std::string& path,
                                   const std::string& body) {
  const size_t n = options_.endpoints.size();
  std::string failures;
  Status last;
  for (size_t tried = 0; tried < n; ++tried, current_ = (current_ + 1) % n) {
    const std::string& endpoint = options_.endpoints[current_];
    std::unique_ptr<http::Client>& connection = connections_[current_];
    if (!connection) {
      auto [host, port] = *http::SplitHostPort(endpoint);
      connection = http::Client::Create(host, port, options_.timeout_seconds, options_.tls);
    }
    http::Request request;
    request.method = "POST";
    request.target = path;
    request.headers.emplace_back("content-type", "application/json");
    request.body = body;
    StatusOr<http::Response> response = connection->Do(request);
    Status s;
    if (!response.ok()) {
      s = response.status();
    } else if (response->status == 200) {
      return std::move(response->body);
    } else {
      // {"error": "etcdserver: ...", "message": "...", "code": 3}
      std::string message = response->body;
      int code = response->status >= 500 ? 14 : 2;
      boost::system::error_code ec;
      json::value v = json::parse(response->body, ec);
      if (!ec && v.is_object()) {
        const json::object& o = v.as_object();
        if (const json::value* m = o.if_contains("message"); m && m->is_string()) {
          message = std::string(m->as_string());
        }
        if (const json::value* c = o.if_contains("code"); c && c->is_int64()) {
          code = static_cast<int>(c->as_int64());
        }
      } else {
        message = "HTTP " + std::to_string(response->status) + ": " + message.substr(0, 200);
      }
      s = FromGrpc(code, std::move(message));
    }
    s = s.WithContext("etcd " + endpoint + ": " + std::string(what));
    if (!Transient(s)) return s;
    // The connection may be half-broken; a fresh one next time.
    connection.reset();
    failures += failures.empty() ? "" : "; ";
    failures += s.message();
    last = s;
  }
  if (n == 1) return last;
  return Unavailable("etcd: " + std::string(what) + ": no endpoint answered (" + failures + ")");
}

namespace {

StatusOr<json::object> ParseObject(const StatusOr<std::string>& text, std::string_view what) {
  if (!text.ok()) return text.status();
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) {
    return Internal("etcd: " + std::string(what) + ": reply is not a JSON object");
  }
  return std::move(v.as_object());
}

}  // namespace

StatusOr<RangeResponse> Client::Range(const RangeRequest& request) {
  StatusOr<json::object> reply =
      ParseObject(Post("range", "/v3/kv/range", json::serialize(RangeJson(request))), "range");
  if (!reply.ok()) return reply.status();
  StatusOr<RangeResponse> parsed = ParseRange(*reply);
  if (!parsed.ok()) return parsed.status().WithContext("etcd: range");
  return parsed;
}

StatusOr<TxnResponse> Client::Txn(const std::vector<Compare>& compares,
                                  const std::vector<TxnOp>& success,
                                  const std::vector<TxnOp>& failure) {
  json::object body;
  json::array compare_json;
  for (const Compare& c : compares) compare_json.push_back(CompareJson(c));
  if (!compare_json.empty()) body["compare"] = std::move(compare_json);
  if (!success.empty()) body["success"] = OpsJson(success);
  if (!failure.empty()) body["failure"] = OpsJson(failure);
  StatusOr<json::object> reply =
      ParseObject(Post("txn", "/v3/kv/txn", json::serialize(body)), "txn");
  if (!reply.ok()) return reply.status();
  TxnResponse out;
  out.revision = Int(Object(*reply, "header"), "revision");
  const json::value* succeeded = reply->if_contains("succeeded");
  out.succeeded = succeeded != nullptr && succeeded->is_bool() && succeeded->as_bool();
  if (const json::value* responses = reply->if_contains("responses");
      responses != nullptr && responses->is_array()) {
    for (const json::value& r : responses->as_array()) {
      if (!r.is_object() || !r.as_object().contains("response_range")) continue;
      StatusOr<RangeResponse> range = ParseRange(Object(r.as_object(), "response_range"));
      if (!range.ok()) return range.status().WithContext("etcd: txn");
      out.ranges.push_back(std::move(*range));
    }
  }
  return out;
}

StatusOr<Lease> Client::LeaseGrant(int64_t ttl_seconds) {
  json::object body;
  body["TTL"] = Number(ttl_seconds);
  StatusOr<json::object> reply =
      ParseObject(Post("lease grant", "/v3/lease/grant", json::serialize(body)), "lease grant");
  if (!reply.ok()) return reply.status();
  Lease lease{Int(*reply, "ID"), Int(*reply, "TTL")};
  if (lease.id == 0) return Internal("etcd: lease grant: no lease id in the reply");
  return lease;
}

StatusOr<int64_t> Client::LeaseKeepAlive(int64_t id) {
  json::object body;
  body["ID"] = Number(id);
  // A streaming call: one request in, one {"result": ...} out.
  StatusOr<json::object> reply = ParseObject(
      Post("lease keepalive", "/v3/lease/keepalive", json::serialize(body)), "lease keepalive");
  if (!reply.ok()) return reply.status();
  int64_t ttl = Int(Object(*reply, "result"), "TTL");
  if (ttl <= 0) return NotFound("etcd: lease " + std::to_string(id) + " has expired");
  return ttl;
}

Status Client::LeaseRevoke(int64_t id) {
  json::object body;
  body["ID"] = Number(id);
  return ParseObject(Post("lease revoke", "/v3/lease/revoke", json::serialize(body)),
                     "lease revoke")
      .status();
}

}  // namespace berth::store::etcd
