#include "server/agent_channel.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/ids.h"
#include "common/log.h"
#include "http/query_string.h"
#include "model/json_util.h"
#include "server/agent_endpoint.h"
#include "server/api/agent_credentials.h"

namespace berth::server {

using awsjson::CommitTracker;

namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "/berth/v1/agent/";
constexpr size_t kMaxJoinBytes = 16 * 1024;

http::Response JsonOk(const json::object& body) {
  http::Response response;
  response.SetHeader("content-type", "application/json");
  response.body = json::serialize(body);
  return response;
}

}  // namespace

AgentChannel::AgentChannel(api::EcsApi& ecs, CommitTracker& tracker, http::SecretLookup secrets,
                           const Clock& clock, std::string agent_key, const api::TaskRoles& roles)
    : ecs_(ecs),
      tracker_(tracker),
      secrets_(std::move(secrets)),
      clock_(clock),
      agent_key_(std::move(agent_key)),
      roles_(roles) {
  // Runs under the ECS lock: Wake only notes the instance.
  ecs_.agents().set_on_bump([this](const std::string& instance_id) { held_.Wake(instance_id); });
}

AgentChannel::~AgentChannel() { Stop(); }

void AgentChannel::Stop() {
  held_.Stop();
  ecs_.agents().set_on_bump(nullptr);
}

int64_t AgentChannel::OpenPolls() { return held_.Open(); }

bool AgentChannel::Accepts(const http::Request& request) {
  return request.Path().starts_with(kPrefix);
}

void AgentChannel::Handle(http::Request&& request, http::Responder respond) {
  std::string_view path = request.Path();
  if (path == "/berth/v1/agent/credentials" && request.method == "POST") {
    return Join(request, std::move(respond));
  }
  if (path == "/berth/v1/agent/tasks" && request.method == "GET") {
    return Poll(request, std::move(respond));
  }
  respond(awsjson::ErrorResponse("UnknownOperationException",
                                 "the agent channel serves POST /berth/v1/agent/credentials and "
                                 "GET /berth/v1/agent/tasks, not " +
                                     request.method + " " + std::string(path),
                                 "", 404));
}

void AgentChannel::Join(const http::Request& request, http::Responder respond) {
  const std::string request_id = NewUuid();
  auto refuse = [&](std::string_view type, std::string_view message) {
    respond(awsjson::ErrorResponse(type, "agent join: " + std::string(message), request_id));
  };
  auto identity = http::VerifySigV4(request, secrets_, clock_.NowSeconds());
  if (auto* error = std::get_if<http::SigV4Error>(&identity)) {
    return refuse(error->type, error->message);
  }
  if (api::IsAgentKey(std::get<http::SigV4Identity>(identity).access_key_id)) {
    return refuse("AccessDeniedException",
                  "an instance credential cannot join; sign with a user key (DATA/credentials)");
  }
  if (request.body.size() > kMaxJoinBytes) {
    return refuse("RequestEntityTooLargeException",
                  "body is larger than " + std::to_string(kMaxJoinBytes) + " bytes");
  }
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) {
    return refuse("SerializationException",
                  "body must be a JSON object {\"cluster\", \"containerInstanceArn\", "
                  "\"agentEndpoint\"}");
  }
  const json::object& in = body.as_object();
  for (std::string_view field : {"cluster", "containerInstanceArn", "agentEndpoint"}) {
    auto* v = in.if_contains(field);
    bool optional = field == "cluster";  // ECS's "default", as for RegisterContainerInstance
    if ((v == nullptr && !optional) ||
        (v != nullptr && (!v->is_string() || v->get_string().empty()))) {
      return refuse("InvalidParameterException",
                    std::string(field) + " must be a non-empty string");
    }
  }
  std::string_view endpoint = model::StringOr(in, "agentEndpoint", "");
  if (auto parsed = ParseAgentEndpoint(endpoint); !parsed.ok()) {
    return refuse("InvalidParameterException",
                  "agentEndpoint must be [https://]HOST:PORT where this server reaches the "
                  "agent's log server: " +
                      parsed.status().message());
  }
  api::EcsApi::AgentJoin join;
  try {
    join = ecs_.JoinAgent(model::StringOr(in, "cluster", "default"),
                          model::StringOr(in, "containerInstanceArn", ""), endpoint,
                          clock_.NowMillis());
  } catch (const awsjson::ApiException& e) {
    return refuse(e.error().type, e.error().message);
  }
  std::string key_id = api::AgentKeyId(join.instance_id);
  json::object reply{{"accessKeyId", key_id},
                     {"secretAccessKey", api::AgentSecret(agent_key_, key_id)}};
  LogInfo("agent joined", {{"instance", join.instance_id}, {"endpoint", std::string(endpoint)}});
  tracker_.WhenDurable(join.commit_seq,
                       [respond = std::move(respond), reply]() mutable { respond(JsonOk(reply)); });
}

void AgentChannel::Poll(const http::Request& request, http::Responder respond) {
  const std::string request_id = NewUuid();
  auto refuse = [&](std::string_view type, std::string_view message) {
    respond(awsjson::ErrorResponse(type, "agent poll: " + std::string(message), request_id));
  };
  auto identity = http::VerifySigV4(request, secrets_, clock_.NowSeconds());
  if (auto* error = std::get_if<http::SigV4Error>(&identity)) {
    return refuse(error->type, error->message);
  }
  auto instance_id = api::InstanceOfAgentKey(std::get<http::SigV4Identity>(identity).access_key_id);
  if (!instance_id) {
    return refuse("AccessDeniedException",
                  "only an instance credential (from POST /berth/v1/agent/credentials) polls "
                  "for assignments");
  }
  auto query = http::ParseQueryString(request.Query());
  int wait = kDefaultWaitSeconds;
  if (auto it = query.find("waitSeconds"); it != query.end()) {
    auto seconds = http::ParseQueryCount(it->second);
    if (!seconds) {
      return refuse("InvalidParameterException",
                    "waitSeconds must be a non-negative whole number, got '" + it->second + "'");
    }
    wait = static_cast<int>(std::min<uint64_t>(*seconds, kMaxWaitSeconds));
  }
  // A held poll counts as a heartbeat, and a killed agent's poll is only
  // noticed when it is answered: hold it at most half the heartbeat timeout
  // so that a dead agent shows agentConnected=false within about 1.5 of it.
  wait = std::min<int>(wait, std::max<int64_t>(1, ecs_.agents().heartbeat_timeout_millis() / 2000));
  std::string version = query.contains("version") ? query.at("version") : "";
  const bool delta = query.contains("delta") && query.at("delta") == "1";

  ecs_.agents().PollStarted(*instance_id, clock_.NowMillis());
  held_.Hold(*instance_id, std::chrono::seconds(wait),
             [this, poll = HeldPoll{*instance_id, std::move(version), delta, std::move(respond)}](
                 bool time_is_up) mutable { return MaybeAnswer(poll, time_is_up); });
}

void AgentChannel::AddRoleCredentials(api::EcsApi::AgentAnswer& answer) const {
  if (answer.roles.empty()) return;
  const int64_t now = clock_.NowMillis();
  json::object credentials;
  for (const api::EcsApi::AgentTaskRoles& task : answer.roles) {
    json::object issued;
    for (auto [arn, member] : {std::pair{&task.task_role_arn, "roleCredentials"},
                               std::pair{&task.execution_role_arn, "executionRoleCredentials"}}) {
      if (arn->empty()) continue;
      // A role taken out of the roles file since the task started: its
      // containers get no credentials from now on.
      if (auto issue = roles_.Issue(*arn, agent_key_, now)) {
        issued[member] = api::RoleCredentialsJson(*issue);
      }
    }
    if (!issued.empty()) credentials[task.task_arn] = std::move(issued);
  }
  if (credentials.empty()) return;
  // The body is an object: its closing brace gives way to one more member.
  answer.body.pop_back();
  answer.body += ",\"credentials\":";
  answer.body += json::serialize(credentials);
  answer.body += '}';
}

bool AgentChannel::MaybeAnswer(HeldPoll& poll, bool time_is_up) {
  // Most polls find nothing changed: that costs a version read, not a
  // list of the instance's tasks. (A Bump after this read wakes the poll.)
  if (!time_is_up && ecs_.agents().Version(poll.instance_id) == poll.version) return false;
  // What the agent holds, when it takes a delta and has what was last sent.
  std::optional<Sent> known;
  if (poll.delta && !poll.version.empty()) {
    std::lock_guard lock(sent_mu_);
    if (auto it = sent_.find(poll.instance_id);
        it != sent_.end() && it->second.version == poll.version) {
      known = it->second;
    }
  }
  Sent sent;
  std::optional<api::EcsApi::AgentAnswer> assignments =
      ecs_.AgentAnswerFor(poll.instance_id, known ? &known->marks : nullptr, &sent.marks);
  if (!assignments) {
    {
      std::lock_guard lock(sent_mu_);
      sent_.erase(poll.instance_id);
    }
    ecs_.agents().PollEnded(poll.instance_id, clock_.NowMillis());
    poll.respond(awsjson::ErrorResponse(
        "AccessDeniedException",
        "agent poll: container instance " + poll.instance_id + " is deregistered", NewUuid()));
    return true;
  }
  sent.version = assignments->version;
  if (!time_is_up && sent.version == poll.version) return false;
  {
    // Replaced by every answer: the agent's next poll names this version
    // once it has this answer; a poll with any other gets every task.
    std::lock_guard lock(sent_mu_);
    sent_[poll.instance_id] = std::move(sent);
  }
  ecs_.agents().PollEnded(poll.instance_id, clock_.NowMillis());
  AddRoleCredentials(*assignments);
  std::string body = std::move(assignments->body);
  tracker_.WhenDurable(tracker_.LastAssigned(),
                       [respond = std::move(poll.respond), body = std::move(body)]() mutable {
                         http::Response response;
                         response.SetHeader("content-type", "application/json");
                         response.body = std::move(body);
                         respond(std::move(response));
                       });
  return true;
}

}  // namespace berth::server
