// The AWS JSON 1.1 protocol, as botocore speaks it: POST / with
// X-Amz-Target "<prefix>.<Operation>", a SigV4-signed JSON body, and JSON
// replies carrying x-amzn-RequestId; errors as {"__type", "message"}.
//
// The endpoint does everything up to the operation: authentication, routing,
// parsing, validation against the service model. Services implement only the
// operations, on input that is already known to be well-formed.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "awsjson/commit_tracker.h"
#include "common/clock.h"
#include "http/message.h"
#include "http/sigv4.h"
#include "model/service_model.h"

namespace berth::awsjson {

// Thrown by an operation to refuse a request. Nothing may have been changed
// when it is thrown: operations validate fully before they write.
class ApiException : public std::exception {
 public:
  ApiException(std::string type, std::string message)
      : error_{std::move(type), std::move(message)} {}
  const model::ApiError& error() const { return error_; }
  const char* what() const noexcept override { return error_.message.c_str(); }

 private:
  model::ApiError error_;
};

[[noreturn]] inline void Fail(std::string type, std::string message) {
  throw ApiException(std::move(type), std::move(message));
}

struct CallContext {
  std::string access_key_id;  // the verified caller
  int64_t now_millis = 0;
};

struct Reply {
  boost::json::value body;
  uint64_t commit_seq = 0;  // the reply waits until this change is durable
};

// One AWS JSON service (ECS, ECR). Call runs on I/O threads concurrently.
class JsonService {
 public:
  virtual ~JsonService() = default;
  virtual const model::ServiceModel& Model() const = 0;
  virtual bool Implements(std::string_view operation) const = 0;
  // Larger request bodies are refused before they are parsed.
  virtual size_t MaxRequestBytes() const { return 1 << 20; }
  // input has passed ValidateInput. Throws ApiException to refuse.
  virtual Reply Call(std::string_view operation, boost::json::object& input,
                     const CallContext& context) = 0;
};

// Thread-safe once services are added.
class AwsJsonEndpoint {
 public:
  AwsJsonEndpoint(http::SecretLookup secrets, const Clock& clock, CommitTracker& tracker)
      : secrets_(std::move(secrets)), clock_(clock), tracker_(tracker) {}

  void AddService(JsonService* service) { services_.push_back(service); }

  // Whether a verified caller may call an operation (of the service with
  // target_prefix); refused ones get AccessDeniedException before their
  // body is read. Without one, every key may call everything. Set before
  // serving.
  using Authorizer = std::function<bool(
      std::string_view access_key_id, std::string_view target_prefix, std::string_view operation)>;
  void SetAuthorizer(Authorizer authorizer) { authorizer_ = std::move(authorizer); }
  // Asked before every call that may change state: a message refuses it
  // with ServerException (a full disk), nullopt lets it through.
  using WriteGate = std::function<std::optional<std::string>()>;
  void SetWriteGate(WriteGate gate) { write_gate_ = std::move(gate); }

  // True for requests this endpoint serves (POST / with X-Amz-Target).
  static bool Accepts(const http::Request& request);

  void Handle(http::Request&& request, http::Responder respond);

 private:
  http::SecretLookup secrets_;
  const Clock& clock_;
  CommitTracker& tracker_;
  std::vector<JsonService*> services_;
  Authorizer authorizer_;
  WriteGate write_gate_;
};

// Describe*, List*, Get*, BatchGet*, BatchCheck*: the ECS and ECR calls
// that change nothing (not audited; what a read-only key may call).
bool IsReadOperation(std::string_view operation);

// A JSON 1.1 error response (status 400, or 500 for ServerException).
http::Response ErrorResponse(std::string_view type, std::string_view message,
                             std::string_view request_id, int status = 0);

}  // namespace berth::awsjson
