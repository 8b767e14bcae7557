// libFuzzer target: the server's side of the agent channel, against an ECS
// API in memory with one cluster and one registered instance. Input:
// "<join body>\n<poll query>". The join body (POST
// /berth/v1/agent/credentials) is signed with a user key, and the poll
// (GET /berth/v1/agent/tasks?<query>) with the instance's credential, so
// every input reaches the channel's own checks. "INSTANCE_ARN" in the input
// stands for the registered instance's ARN, which is new in every process.
//
// Checked: both are answered before Handle returns (the memory store
// commits in place and a poll whose version is not current is answered at
// once); an answer is 200 with a credential or assignments, or an AWS error.
#include <boost/json/parse.hpp>
#include <optional>

#include "common/fuzz_testing.h"
#include "http/query_string.h"
#include "server/agent_channel.h"
#include "server/api/agent_credentials.h"
#include "server/api/ecs_names.h"
#include "server/api/task_roles.h"
#include "store/store.h"

namespace {

namespace json = boost::json;
using namespace berth;

constexpr std::string_view kAgentKey = "the server's durable agent key";
const http::SigV4Credentials kUser{"AKIDUSER", "user secret"};

struct Server {
  std::unique_ptr<store::Store> store = store::NewMemoryStore();
  awsjson::CommitTracker tracker;
  server::api::EcsApi ecs{*store, tracker, ArnScope{}};
  server::api::TaskRoles roles;  // none
  std::optional<server::AgentChannel> channel;
  std::string instance_arn;
  http::SigV4Credentials agent;

  Server() {
    BERTH_FUZZ_CHECK(ecs.Load().ok());
    ecs.agents().set_heartbeat_timeout_millis(30'000);
    channel.emplace(
        ecs, tracker,
        [this](std::string_view id) -> std::optional<std::string> {
          if (id == kUser.access_key_id) return kUser.secret_access_key;
          auto instance = server::api::InstanceOfAgentKey(id);
          if (instance && ecs.AgentMayAuthenticate(*instance)) {
            return server::api::AgentSecret(kAgentKey, id);
          }
          return std::nullopt;
        },
        SystemClock(), std::string(kAgentKey), roles);
    Call("CreateCluster", R"({"clusterName": "c"})");
    json::object reply = Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
        {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]})");
    instance_arn = reply.at("containerInstance").at("containerInstanceArn").as_string();
    ecs.JoinAgent("c", instance_arn, "10.0.0.1:9100", SystemClock().NowMillis());
    std::string key_id = server::api::AgentKeyId(server::api::ContainerInstanceId(instance_arn));
    agent = {key_id, server::api::AgentSecret(kAgentKey, key_id)};
  }

  json::object Call(std::string_view operation, std::string_view body) {
    json::object in = json::parse(body).as_object();
    return ecs.Call(operation, in, {kUser.access_key_id, SystemClock().NowMillis()})
        .body.as_object();
  }

  // Signs and sends a request; the answer, which must come before Handle returns.
  http::Response Send(http::Request request, const http::SigV4Credentials& key) {
    request.headers.emplace_back("host", "127.0.0.1:8080");
    http::SignSigV4(request, key, "us-east-1", "ecs", SystemClock().NowSeconds());
    std::optional<http::Response> answer;
    channel->Handle(std::move(request), [&answer](http::Response r) { answer = std::move(r); });
    BERTH_FUZZ_CHECK(answer.has_value());
    return std::move(*answer);
  }
};

std::string WithInstance(std::string_view text, const std::string& arn) {
  std::string out(text);
  constexpr std::string_view kPlaceholder = "INSTANCE_ARN";
  for (size_t at = out.find(kPlaceholder); at != std::string::npos;
       at = out.find(kPlaceholder, at + arn.size())) {
    out.replace(at, kPlaceholder.size(), arn);
  }
  return out;
}

void CheckAnswer(const http::Response& answer, std::string_view member) {
  json::error_code ec;
  json::value body = json::parse(answer.body, ec);
  BERTH_FUZZ_CHECK(!ec && body.is_object());
  if (answer.status == 200) {
    BERTH_FUZZ_CHECK(body.as_object().contains(member));
  } else {
    BERTH_FUZZ_CHECK(answer.status >= 400 && answer.status < 500);
    BERTH_FUZZ_CHECK(body.as_object().contains("__type"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server* server = new Server();
  auto [join_body, poll_query] = fuzz::SplitLine(fuzz::AsText(data, size));

  http::Request join{.method = "POST", .target = "/berth/v1/agent/credentials"};
  join.body = WithInstance(join_body, server->instance_arn);
  CheckAnswer(server->Send(std::move(join), kUser), "accessKeyId");

  // A poll that names the current version would be held: not what this fuzzes.
  std::string query = WithInstance(poll_query, server->instance_arn);
  auto parameters = http::ParseQueryString(query);
  auto version = parameters.find("version");
  std::string id = server::api::ContainerInstanceId(server->instance_arn);
  if (version != parameters.end() && version->second == server->ecs.agents().Version(id)) return 0;
  http::Request poll{.method = "GET", .target = "/berth/v1/agent/tasks?" + query};
  CheckAnswer(server->Send(std::move(poll), server->agent), "tasks");
  return 0;
}
