#include "server/log_forwarding.h"

#include <thread>

#include "awsjson/client.h"
#include "http/client.h"
#include "http/endpoint.h"
#include "http/query_string.h"
#include "server/agent_endpoint.h"
#include "server/api/agent_credentials.h"
#include "server/user_request.h"

namespace berth::server {

namespace {

constexpr std::string_view kRegion = "us-east-1";

}  // namespace

StatusOr<AgentTarget> TargetAgent(const api::EcsApi::LogSource& source, const AgentAccess& access) {
  auto endpoint = ParseAgentEndpoint(source.endpoint);
  if (!endpoint.ok()) {
    return Unavailable(endpoint.status().message() + " (instance " + source.instance_id + ")");
  }
  http::TlsOptions tls;
  tls.enabled = endpoint->tls;
  tls.ca_file = access.ca_file;
  std::string key_id = api::AgentKeyId(source.instance_id);
  return AgentTarget{endpoint->host, endpoint->port, std::move(tls),
                     awsjson::Signer{endpoint->authority,
                                     {key_id, api::AgentSecret(access.agent_key, key_id)},
                                     std::string(kRegion)}};
}

std::shared_ptr<void> InFlightCap::Take() {
  if (taken_->fetch_add(1) >= max_) {
    taken_->fetch_sub(1);
    return nullptr;
  }
  // Not null (a null one would read as refused); points at the count it frees.
  return std::shared_ptr<void>(taken_.get(), [taken = taken_](void*) { taken->fetch_sub(1); });
}

bool LogForwarder::Accepts(const http::Request& request) {
  return request.Path() == "/berth/v1/logs" || request.Path() == "/berth/v1/pulls";
}

void LogForwarder::Handle(http::Request&& request, http::Responder respond) {
  const bool pulls = request.Path() == "/berth/v1/pulls";
  const std::string what = pulls ? "pulls" : "logs";
  UserGet user(what, respond);
  if (!user.Check(request, secrets_, clock_.NowSeconds(),
                  pulls ? "read pull progress" : "read logs")) {
    return;
  }
  auto query = http::ParseQueryString(request.Query());
  auto get = [&](std::string_view name) -> std::string {
    auto it = query.find(name);
    return it == query.end() ? "" : it->second;
  };
  std::string task = get("task"), container = get("container");
  if (task.empty()) {
    return user.Refuse("InvalidParameterException", "task is required (an id or ARN)");
  }
  if (container.empty() && !pulls) {
    return user.Refuse("InvalidParameterException", "container is required");
  }
  uint64_t offset = 0;
  if (query.contains("offset")) {
    auto n = http::ParseQueryCount(get("offset"));
    if (!n) {
      return user.Refuse("InvalidParameterException",
                         "offset must be a non-negative whole number, got '" + get("offset") + "'");
    }
    offset = *n;
  }
  uint64_t wait = 0;
  if (query.contains("waitSeconds")) {
    auto n = http::ParseQueryCount(get("waitSeconds"));
    if (!n) {
      return user.Refuse("InvalidParameterException",
                         "waitSeconds must be a non-negative whole "
                         "number, got '" +
                             get("waitSeconds") + "'");
    }
    wait = std::min<uint64_t>(*n, kMaxWaitSeconds);
  }
  api::EcsApi::LogSource source;
  try {
    source = ecs_.FindLogSource(get("cluster"), task, container);
  } catch (const awsjson::ApiException& e) {
    return user.Refuse(e.error().type, e.error().message);
  }
  auto agent = TargetAgent(source, agents_);
  if (!agent.ok()) return user.Refuse("ServerException", agent.status().message(), 502);
  std::shared_ptr<void> slot = in_flight_.Take();
  if (!slot) {
    return user.Refuse("ThrottlingException",
                       "too many log reads in flight (" + std::to_string(kMaxInFlight) + "); retry",
                       429);
  }

  std::string target =
      pulls ? "/berth/v1/agent/pulls?task=" + http::EncodeQueryValue(source.task_id)
            : "/berth/v1/agent/logs?task=" + http::EncodeQueryValue(source.task_id) +
                  "&container=" + http::EncodeQueryValue(container) +
                  "&offset=" + std::to_string(offset) + "&waitSeconds=" + std::to_string(wait);
  http::Request forward = agent->signer.BerthRequest("GET", target, "", clock_.NowSeconds());

  std::thread([forward = std::move(forward), agent = std::move(*agent), endpoint = source.endpoint,
               wait, request_id = user.request_id(), what, slot = std::move(slot),
               respond = std::move(respond)]() mutable {
    auto client =
        http::Client::Create(agent.host, agent.port, static_cast<int>(wait) + 15, agent.tls);
    auto reply = client->Do(forward);
    slot.reset();
    if (!reply.ok()) {
      return respond(awsjson::ErrorResponse(
          "ServerException",
          what + ": agent at " + endpoint + " unreachable: " + reply.status().message(), request_id,
          502));
    }
    http::Response out;
    out.status = reply->status;
    out.body = std::move(reply->body);
    for (std::string_view name : {"content-type", "x-berth-log-offset", "x-berth-log-complete"}) {
      if (const std::string* v = reply->Header(name)) out.SetHeader(std::string(name), *v);
    }
    out.SetHeader("x-amzn-requestid", request_id);
    respond(std::move(out));
  }).detach();
}

}  // namespace berth::server
