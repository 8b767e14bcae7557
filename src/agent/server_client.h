// The agent's calls to the berth server: the ECS and ECR JSON APIs and the
// agent channel endpoints, each signed with SigV4. Thread-safe (one
// connection, calls take turns); use a second ServerClient for the long
// poll so that state reports never wait behind it.
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/client.h"
#include "http/message.h"
#include "http/sigv4.h"

namespace berth::agent {

class ServerClient {
 public:
  // endpoint is "http://host:port".
  static StatusOr<std::unique_ptr<ServerClient>> Create(std::string_view endpoint,
                                                        http::SigV4Credentials credentials,
                                                        int timeout_seconds = 60);

  void SetCredentials(http::SigV4Credentials credentials);
  http::SigV4Credentials credentials() const;
  const std::string& host() const { return host_port_; }

  // An AWS JSON 1.1 call: target is "AmazonEC2ContainerServiceV20141113" or
  // "AmazonEC2ContainerRegistry_V20150921". An error reply becomes a Status
  // carrying "__type: message".
  StatusOr<boost::json::value> CallEcs(std::string_view operation, const boost::json::value& input);
  StatusOr<boost::json::value> CallEcr(std::string_view operation, const boost::json::value& input);

  // A signed request to one of berth's own endpoints (path with query).
  StatusOr<http::Response> Send(std::string_view method, std::string_view target,
                                std::string body = "");

 private:
  ServerClient(std::string host_port, std::unique_ptr<http::Client> client,
               http::SigV4Credentials credentials)
      : host_port_(std::move(host_port)),
        client_(std::move(client)),
        credentials_(std::move(credentials)) {}
  StatusOr<boost::json::value> CallJson(std::string_view service, std::string_view target,
                                        const boost::json::value& input);

  std::string host_port_;
  mutable std::mutex mu_;
  std::unique_ptr<http::Client> client_;
  http::SigV4Credentials credentials_;
};

}  // namespace berth::agent
