#include "awsjson/endpoint.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "awsjson/audit.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/utf8.h"
#include "model/unknown_members.h"

namespace berth::awsjson {

namespace {

constexpr std::string_view kContentType = "application/x-amz-json-1.1";

int StatusFor(std::string_view type) {
  if (type == "ServerException" || type == "InternalFailure") return 500;
  if (type == "RequestEntityTooLargeException") return 413;
  if (type == "MissingAuthenticationTokenException" || type == "UnrecognizedClientException" ||
      type == "InvalidSignatureException" || type == "IncompleteSignatureException" ||
      type == "AccessDeniedException") {
    return 403;
  }
  return 400;
}

http::Response JsonResponse(int status, std::string body, std::string_view request_id) {
  http::Response response;
  response.status = status;
  response.headers.emplace_back("content-type", std::string(kContentType));
  response.headers.emplace_back("x-amzn-requestid", std::string(request_id));
  response.body = std::move(body);
  return response;
}

}  // namespace

http::Response ErrorResponse(std::string_view type, std::string_view message,
                             std::string_view request_id, int status) {
  boost::json::object body;
  body["__type"] = type;
  // A message may quote what the client sent (a query value, a header):
  // the body must still be JSON the client can parse.
  body["message"] = ValidUtf8(message);
  return JsonResponse(status ? status : StatusFor(type), boost::json::serialize(body), request_id);
}

bool AwsJsonEndpoint::Accepts(const http::Request& request) {
  return request.method == "POST" && request.Path() == "/" &&
         request.Header("x-amz-target") != nullptr;
}

namespace {

struct ApiMetrics {
  metrics::Family<metrics::Counter>& requests = metrics::DefaultRegistry().AddCounter(
      "berth_api_requests_total",
      "AWS JSON API requests (ECS, ECR) by service, operation and HTTP status code; "
      "operation is \"unknown\" for targets this server does not serve.",
      {"service", "operation", "code"});
  metrics::Family<metrics::Histogram>& latency = metrics::DefaultRegistry().AddHistogram(
      "berth_api_request_duration_seconds",
      "AWS JSON API request latency, from the request read to the reply (after durability).",
      {"service", "operation"});
};

ApiMetrics& Metrics() {
  static ApiMetrics* m = new ApiMetrics();
  return *m;
}

std::string_view ServiceLabel(std::string_view prefix) {
  if (prefix.starts_with("AmazonEC2ContainerService")) return "ecs";
  if (prefix.starts_with("AmazonEC2ContainerRegistry")) return "ecr";
  return "unknown";
}

// The resources a request names, as "cluster=c service=s": the members that
// name one, whichever the operation has.
std::string AuditResource(const boost::json::value& input) {
  static constexpr std::string_view kNames[] = {
      "cluster", "clusterName",       "service",     "serviceName",    "family", "taskDefinition",
      "task",    "containerInstance", "resourceArn", "repositoryName", "name"};
  std::string out;
  if (!input.is_object()) return out;
  for (std::string_view name : kNames) {
    const auto* value = input.as_object().if_contains(name);
    if (value == nullptr || !value->is_string()) continue;
    if (!out.empty()) out += ' ';
    out += std::string(name) + "=" + std::string(value->as_string());
  }
  return out;
}

// A member the model does not define is logged the first time it is seen,
// so that an operator learns what a newer SDK sends; the names remembered
// are bounded, as a client chooses them.
void NoteUnknownMember(std::string_view operation, const std::string& member) {
  constexpr size_t kMaxRemembered = 1000;
  static std::mutex mu;
  static std::unordered_set<std::string>* seen = new std::unordered_set<std::string>();
  {
    std::lock_guard lock(mu);
    if (seen->size() > kMaxRemembered || !seen->insert(member).second) return;
    if (seen->size() > kMaxRemembered) {
      LogInfo("more members the service model does not define; no longer logged",
              {{"remembered", std::to_string(kMaxRemembered)}});
      return;
    }
  }
  LogInfo("kept a member the service model does not define",
          {{"member", member}, {"operation", std::string(operation)}});
}

}  // namespace

bool IsReadOperation(std::string_view operation) {
  for (std::string_view prefix : {"Describe", "List", "Get", "BatchGet", "BatchCheck"}) {
    if (operation.starts_with(prefix)) return true;
  }
  return false;
}

void AwsJsonEndpoint::Handle(http::Request&& request, http::Responder original_respond) {
  // Counted by service, operation and status once the reply is ready; the
  // operation is named once it is known to be one this server serves.
  auto labels = std::make_shared<std::pair<std::string, std::string>>("unknown", "unknown");
  const auto started = std::chrono::steady_clock::now();
  http::Responder respond = [labels, started, original_respond = std::move(original_respond)](
                                http::Response response) mutable {
    ApiMetrics& m = Metrics();
    m.requests.With({labels->first, labels->second, std::to_string(response.status)}).Inc();
    m.latency.With({labels->first, labels->second})
        .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    original_respond(std::move(response));
  };
  const std::string request_id = NewUuid();
  auto refuse = [&](std::string_view type, std::string_view message) {
    respond(ErrorResponse(type, message, request_id));
  };

  // "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition"
  std::string_view target = *request.Header("x-amz-target");
  size_t dot = target.rfind('.');
  std::string_view prefix = dot == std::string_view::npos ? "" : target.substr(0, dot);
  std::string_view operation = dot == std::string_view::npos ? target : target.substr(dot + 1);

  // Every call that may change something is audited with its outcome,
  // refusals included.
  auto audit = std::make_shared<AuditRecord>();
  if (!IsReadOperation(operation)) {
    audit->operation = std::string(operation);
    respond = AuditedResponder(audit, std::move(respond));
  }

  auto identity = http::AuthenticateRequest(request, secrets_, clock_.NowSeconds());
  if (auto* error = std::get_if<http::SigV4Error>(&identity)) {
    return refuse(error->type, error->message);
  }
  JsonService* service = nullptr;
  for (JsonService* s : services_) {
    if (s->Model().target_prefix() == prefix) service = s;
  }
  if (service == nullptr || !service->Model().HasOperation(operation) ||
      !service->Implements(operation)) {
    return refuse("UnknownOperationException",
                  "Operation " + std::string(target) + " is not supported by this server");
  }
  *labels = {std::string(ServiceLabel(prefix)), std::string(operation)};

  const std::string& caller = std::get<http::SigV4Identity>(identity).access_key_id;
  audit->key = caller;
  // The HTTP server's limit is the largest any service needs; each service
  // has its own.
  if (request.body.size() > service->MaxRequestBytes()) {
    return refuse(
        "RequestEntityTooLargeException",
        "request body is larger than " + std::to_string(service->MaxRequestBytes()) + " bytes");
  }
  boost::json::value input;
  if (request.body.empty()) {
    input = boost::json::object();
  } else {
    boost::system::error_code ec;
    input = boost::json::parse(request.body, ec);
    if (ec)
      return refuse("SerializationException", "request body is not valid JSON: " + ec.message());
  }
  audit->resource = AuditResource(input);
  // After the body is read, so that a refusal is audited with what it
  // would have changed; before anything is.
  if (authorizer_ && !authorizer_(caller, prefix, operation)) {
    return refuse("AccessDeniedException",
                  "User: " + caller + " is not authorized to perform: " + std::string(target));
  }
  std::vector<std::string> unknown_members;
  if (auto error = service->Model().ValidateInput(operation, input, &unknown_members)) {
    return refuse(error->type, error->message);
  }
  for (const std::string& member : unknown_members) NoteUnknownMember(operation, member);
  if (write_gate_ && !IsReadOperation(operation)) {
    if (auto refusal = write_gate_()) return refuse("ServerException", *refusal);
  }

  CallContext context;
  context.access_key_id = caller;
  context.now_millis = clock_.NowMillis();
  Reply reply;
  try {
    reply = service->Call(operation, input.as_object(), context);
  } catch (const ApiException& e) {
    return refuse(e.error().type, e.error().message);
  } catch (const std::exception& e) {
    LogError("operation failed", {{"operation", std::string(operation)}, {"error", e.what()}});
    return refuse("ServerException", "internal error in " + std::string(operation));
  }
  // The members kept for the client go back to where it sent them.
  model::UnfoldUnknownMembers(reply.body);
  std::string body = boost::json::serialize(reply.body);
  tracker_.WhenDurable(
      reply.commit_seq,
      [respond, body = std::move(body), request_id]() mutable {
        respond(JsonResponse(200, std::move(body), request_id));
      },
      [respond, request_id](const Status& why) {
        // Not acknowledged: the change (or one it observed) is not stored,
        // and the server reloads its state from the store.
        respond(ErrorResponse("ServerException", "not stored: " + why.ToString() + "; try again",
                              request_id));
      });
}

}  // namespace berth::awsjson
