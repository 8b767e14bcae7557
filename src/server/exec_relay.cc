#include "server/exec_relay.h"

#include <future>
#include <memory>
#include <thread>

#include "awsjson/audit.h"
#include "awsjson/client.h"
#include "common/log.h"
#include "http/exec_protocol.h"
#include "http/query_string.h"
#include "http/websocket.h"
#include "server/log_forwarding.h"
#include "server/user_request.h"

namespace berth::server {

namespace {

// Copies messages from one socket to the other until either fails, then
// closes both (which ends the copy the other way). from_client keeps only
// what a client may send.
void Copy(http::WebSocket& from, http::WebSocket& to, bool from_client) {
  while (true) {
    auto message = from.Read();
    if (!message.ok()) break;
    if (from_client) {
      auto frame = http::DecodeExecFrame(*message);
      if (!frame.ok() || frame->channel == http::ExecChannel::kStdout ||
          frame->channel == http::ExecChannel::kStderr ||
          frame->channel == http::ExecChannel::kStatus) {
        continue;
      }
    }
    if (!to.Write(*message).ok()) break;
  }
  to.Close();
  from.Close();
}

}  // namespace

bool ExecRelay::Accepts(const http::Request& request) { return request.Path() == "/berth/v1/exec"; }

void ExecRelay::Handle(http::Request&& request, http::Responder respond) {
  auto query = http::ParseQueryString(request.Query());
  std::string task = query["task"], container = query["container"];
  // A command in a container is a change like any other: audited.
  auto audit = std::make_shared<awsjson::AuditRecord>();
  audit->operation = "Exec";
  audit->resource = "cluster=" + query["cluster"] + " task=" + task + " container=" + container;
  respond = awsjson::AuditedResponder(audit, std::move(respond));
  UserGet user("exec", respond);
  if (!user.Check(request, secrets_, clock_.NowSeconds(), "run commands in containers",
                  &audit->key)) {
    return;
  }
  if (!access_.MayChange(audit->key)) {
    return user.Refuse("AccessDeniedException", "access key " + audit->key +
                                                    " is read-only: it cannot run commands in "
                                                    "containers");
  }
  if (task.empty()) {
    return user.Refuse("InvalidParameterException", "task is required (an id or ARN)");
  }
  if (container.empty()) return user.Refuse("InvalidParameterException", "container is required");
  auto options = http::DecodeExecQuery(query);
  if (!options.ok()) return user.Refuse("InvalidParameterException", options.status().message());
  if (!http::IsWebSocketUpgrade(request)) {
    return user.Refuse("InvalidParameterException", "exec needs a WebSocket upgrade");
  }
  api::EcsApi::LogSource source;
  try {
    source = ecs_.FindLogSource(query["cluster"], task, container);
  } catch (const awsjson::ApiException& e) {
    return user.Refuse(e.error().type, e.error().message);
  }
  if (source.task_status != "RUNNING") {
    return user.Refuse("InvalidParameterException",
                       "task " + source.task_id + " is not running (" + source.task_status + ")");
  }
  if (source.container_status != "RUNNING") {
    return user.Refuse("InvalidParameterException", "container " + container + " of task " +
                                                        source.task_id + " is not running (" +
                                                        source.container_status + ")");
  }
  auto agent = TargetAgent(source, agents_);
  if (!agent.ok()) return user.Refuse("ServerException", agent.status().message(), 502);
  std::shared_ptr<void> slot = sessions_.Take();
  if (!slot) {
    return user.Refuse("ThrottlingException",
                       "too many exec sessions open (" + std::to_string(kMaxSessions) + "); retry",
                       429);
  }

  http::Request forward = agent->signer.BerthRequest(
      "GET",
      "/berth/v1/agent/exec?task=" + http::EncodeQueryValue(source.task_id) +
          "&container=" + http::EncodeQueryValue(container) + "&" + EncodeExecQuery(*options),
      "", clock_.NowSeconds());
  LogInfo("exec session requested", {{"task", source.task_id},
                                     {"container", container},
                                     {"instance", source.instance_id},
                                     {"remote", request.remote_address}});

  std::thread([forward = std::move(forward), agent = std::move(*agent), endpoint = source.endpoint,
               request_id = user.request_id(), slot = std::move(slot),
               respond = std::move(respond)]() mutable {
    http::Response refusal;
    auto to_agent = http::DialWebSocket(agent.host, agent.port, forward, kAgentDialSeconds,
                                        &refusal, agent.tls);
    if (!to_agent.ok()) {
      if (refusal.status != 0 && refusal.status != 101) {
        refusal.SetHeader("x-amzn-requestid", request_id);
        return respond(std::move(refusal));
      }
      return respond(awsjson::ErrorResponse(
          "ServerException",
          "exec: agent at " + endpoint + " unreachable: " + to_agent.status().message(), request_id,
          502));
    }
    // The client's socket arrives on an I/O thread; the session goes on here.
    auto opened = std::make_shared<std::promise<std::unique_ptr<http::WebSocket>>>();
    auto client_socket = opened->get_future();
    respond(http::UpgradeToWebSocket([opened](std::unique_ptr<http::WebSocket> socket) {
      opened->set_value(std::move(socket));
    }));
    opened.reset();  // the server holds the only other reference
    std::unique_ptr<http::WebSocket> to_client;
    try {
      to_client = client_socket.get();
    } catch (const std::future_error&) {  // the client's handshake failed
      return;
    }
    std::thread back([&] { Copy(**to_agent, *to_client, /*from_client=*/false); });
    Copy(*to_client, **to_agent, /*from_client=*/true);
    back.join();
  }).detach();
}

}  // namespace berth::server
