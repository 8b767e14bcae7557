// The one signed client for berth's APIs: AWS JSON 1.1 calls (ECS, ECR) and
// berth's own endpoints (/berth/v1/...), each signed with SigV4. The command
// line, the node agent and the load tools all sign through this file, so a
// request is built and signed one way everywhere.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/client.h"
#include "http/message.h"
#include "http/sigv4.h"
#include "http/websocket.h"

namespace berth::awsjson {

// X-Amz-Target prefixes of the APIs berth serves.
inline constexpr std::string_view kEcsTargetPrefix = "AmazonEC2ContainerServiceV20141113";
inline constexpr std::string_view kEcrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921";

// The region a client signs for, as the AWS CLI and SDKs find it:
// AWS_REGION, then AWS_DEFAULT_REGION, else us-east-1.
std::string RegionFromEnvironment();

// Where requests go: parsed from "http://host:port" or "https://host[:port]"
// (no path; the port defaults to the scheme's).
struct Endpoint {
  std::string host;  // name or address, without brackets
  uint16_t port = 0;
  bool tls = false;
  std::string host_header;  // the authority as written: what is signed as Host
};
StatusOr<Endpoint> ParseEndpoint(std::string_view url);
// A comma-separated list of endpoints ("http://a:8080,http://b:8080"): the
// servers of one control plane, any of which serves every request.
StatusOr<std::vector<Endpoint>> ParseEndpoints(std::string_view urls);

// What a request is signed with. Load tools that keep their own connections
// (one per thread) build their requests with it, so they sign exactly as
// Client does.
struct Signer {
  std::string host_header;
  http::SigV4Credentials credentials;
  std::string region;

  // POST / with X-Amz-Target "<target_prefix>.<operation>" and a JSON 1.1
  // body, signed for the service the prefix belongs to (ecs or ecr).
  http::Request JsonCall(std::string_view target_prefix, std::string_view operation,
                         std::string body, int64_t now_epoch_seconds) const;
  // A request to one of berth's own endpoints (target: path with query); a
  // non-empty body is sent as application/json. Signed for service ecs,
  // which berth's endpoints accept as they accept the ECS API.
  http::Request BerthRequest(std::string_view method, std::string_view target, std::string body,
                             int64_t now_epoch_seconds) const;
};

// The Status an error reply carries: "<__type>: <message>" from a JSON 1.1
// error body ({"__type": ..., "message": ...}), else "server answered
// <status>: <body>". 5xx replies are kUnavailable (worth a retry), others
// kFailedPrecondition (refused for good).
Status ErrorFromReply(const http::Response& reply);

struct ClientOptions {
  std::string region;   // empty: RegionFromEnvironment()
  std::string ca_file;  // https only: extra trusted CA certificates (PEM)
  // How often a call is sent again when every server answered 503 (starting,
  // up without a leader, over a connection limit: none of them applied it),
  // after a wait that doubles from first_retry_wait. The command line waits
  // out a leader election this way; the agent has retry loops of its own.
  int unavailable_retries = 0;
  std::chrono::milliseconds first_retry_wait{250};
};

// One keep-alive connection to one endpoint of a list. Thread-safe: calls
// take turns on the connection, so a long poll holds it for as long as it
// waits; give the long poll a Client of its own so that other calls never
// wait behind it.
//
// With several endpoints (the servers of a highly available control plane)
// a call that finds its server gone (no connection, a reset or timeout, a
// 503) is sent to the next one, once around the list, and later calls stay
// there; when all answered 503, it goes around again as
// ClientOptions::unavailable_retries says. A call so retried may have been applied by the server
// that went away: RunTask's clientToken makes that safe; berth's other writes are idempotent or,
// like RegisterTaskDefinition, may add one more revision.
class Client {
 public:
  // endpoint is "http://host:port" or "https://host[:port]", or several of
  // them separated by commas; nothing is connected until the first call. A
  // call waits timeout_seconds at most for its reply (a long poll needs more
  // than its wait).
  static StatusOr<std::unique_ptr<Client>> Create(std::string_view endpoint,
                                                  http::SigV4Credentials credentials,
                                                  int timeout_seconds = 60,
                                                  ClientOptions options = {});
  ~Client();

  // Later calls sign with these (an agent trades its join key for its
  // instance key).
  void SetCredentials(http::SigV4Credentials credentials);
  http::SigV4Credentials credentials() const;
  // The Host of the endpoint calls go to now.
  std::string host() const;
  const std::string& region() const { return region_; }

  // An AWS JSON 1.1 call, e.g. Call(kEcsTargetPrefix, "DescribeTasks", {...}).
  // Errors carry the operation: "DescribeTasks: ClusterNotFoundException:
  // Cluster not found." (see ErrorFromReply for the code), or the transport
  // error; a reply that is not JSON is kUnavailable.
  StatusOr<boost::json::value> Call(std::string_view target_prefix, std::string_view operation,
                                    const boost::json::value& input);

  // A signed request to one of berth's own endpoints (target: path with
  // query). Any reply is returned as it came, whatever its status (see
  // ErrorFromReply); only transport errors are a Status, with "METHOD path".
  StatusOr<http::Response> Send(std::string_view method, std::string_view target,
                                std::string body = "");

  // A WebSocket to one of berth's own endpoints (target: path with query),
  // its upgrade request signed as Send signs; wss:// for an https endpoint,
  // trusting what calls trust. A refusal is ErrorFromReply's status; a
  // transport error names the path.
  StatusOr<std::unique_ptr<http::WebSocket>> OpenWebSocket(std::string_view target,
                                                           int timeout_seconds);

 private:
  struct Server {
    std::string host_header;
    Endpoint endpoint;
    std::unique_ptr<http::Client> connection;
  };
  Client(std::vector<Server> servers, std::string region, http::SigV4Credentials credentials,
         ClientOptions options);
  // Builds the request for the current server (sign(signer)) and sends it,
  // moving along the list while a server is gone.
  StatusOr<http::Response> Do(const std::function<http::Request(const Signer&)>& sign);

  const std::string region_;
  const std::string ca_file_;  // https only: extra trusted CAs (ClientOptions::ca_file)
  const int unavailable_retries_;
  const std::chrono::milliseconds first_retry_wait_;
  mutable std::mutex mu_;
  std::vector<Server> servers_;         // guarded by mu_
  size_t current_ = 0;                  // guarded by mu_
  http::SigV4Credentials credentials_;  // guarded by mu_
};

}  // namespace berth::awsjson
