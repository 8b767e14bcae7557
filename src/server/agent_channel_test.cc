// AgentChannel over the ECS API on a SQLite store: the join's checks, and
// many agents polling while tasks are placed, reported and stopped from
// other threads, as the HTTP server's I/O threads, the store's commit
// thread and the channel's own thread interleave in `berth server`. The
// concurrent test is one of those CI runs under ThreadSanitizer.
#include "server/agent_channel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "http/query_string.h"
#include "server/api/agent_credentials.h"
#include "server/api/ecs_names.h"
#include "server/api/task_roles.h"
#include "store/store.h"
#include "store/store_test_util.h"

namespace berth::server {
namespace {

namespace json = boost::json;

constexpr std::string_view kUserKey = "AKIDUSER";
constexpr std::string_view kUserSecret = "user secret";
constexpr std::string_view kAgentKey = "the server's durable agent key";

class AgentChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::OpenSqliteStore(dir_.path() + "/state.db");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    ecs_ = std::make_unique<api::EcsApi>(*store_, tracker_, ArnScope{});
    ASSERT_TRUE(ecs_->Load().ok());
    ecs_->agents().set_heartbeat_timeout_millis(30'000);
    channel_ = std::make_unique<AgentChannel>(
        *ecs_, tracker_,
        [this](std::string_view id) -> std::optional<std::string> {
          if (id == kUserKey) return std::string(kUserSecret);
          auto instance = api::InstanceOfAgentKey(id);
          if (instance && ecs_->AgentMayAuthenticate(*instance)) {
            return api::AgentSecret(kAgentKey, id);
          }
          return std::nullopt;
        },
        SystemClock(), std::string(kAgentKey), roles_);
    Call("CreateCluster", R"({"clusterName": "c"})");
    Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
        {"name": "a", "image": "h:5000/busybox", "cpu": 1, "memory": 6}]})");
  }

  // The store's writer thread calls back into the ECS state for every
  // commit: it stops before that state is destroyed.
  void TearDown() override {
    channel_->Stop();
    store_->Close();
  }

  // An ECS call as the API endpoint makes it, from the calling thread.
  json::object Call(std::string_view operation, std::string_view body,
                    std::string access_key_id = std::string(kUserKey)) {
    json::object in = json::parse(body).as_object();
    return ecs_->Call(operation, in, {std::move(access_key_id), SystemClock().NowMillis()})
        .body.as_object();
  }

  std::string RegisterInstance() {
    json::object reply = Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
        {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192}]})");
    return std::string(reply.at("containerInstance").at("containerInstanceArn").as_string());
  }

  // Sends a signed request through the channel and waits for its answer.
  http::Response Send(http::Request request, const http::SigV4Credentials& key) {
    request.headers.emplace_back("host", "127.0.0.1:8080");
    http::SignSigV4(request, key, "us-east-1", "ecs", SystemClock().NowSeconds());
    auto answered = std::make_shared<std::promise<http::Response>>();
    channel_->Handle(std::move(request),
                     [answered](http::Response response) { answered->set_value(response); });
    return answered->get_future().get();
  }

  http::Response Join(std::string body) {
    http::Request request{.method = "POST", .target = "/berth/v1/agent/credentials"};
    request.body = std::move(body);
    return Send(std::move(request), {std::string(kUserKey), std::string(kUserSecret)});
  }

  // Joins an agent for the instance: its credential.
  http::SigV4Credentials JoinAgent(const std::string& instance_arn) {
    http::Response reply = Join(R"({"cluster": "c", "containerInstanceArn": ")" + instance_arn +
                                R"(", "agentEndpoint": "10.0.0.1:9100"})");
    EXPECT_EQ(reply.status, 200) << reply.body;
    json::object key = json::parse(reply.body).as_object();
    return {std::string(key.at("accessKeyId").as_string()),
            std::string(key.at("secretAccessKey").as_string())};
  }

  json::object Poll(const http::SigV4Credentials& key, std::string_view version, int wait,
                    bool delta = false) {
    http::Request request{
        .method = "GET",
        .target = "/berth/v1/agent/tasks?version=" + http::EncodeQueryValue(version) +
                  "&waitSeconds=" + std::to_string(wait) + (delta ? "&delta=1" : "")};
    http::Response reply = Send(std::move(request), key);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body).as_object();
  }

  store::testing::TempDir dir_;
  // Before the store: the store's writer thread marks commits durable in it
  // until the store is closed.
  awsjson::CommitTracker tracker_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<api::EcsApi> ecs_;
  api::TaskRoles roles_;  // none
  std::unique_ptr<AgentChannel> channel_;
};

TEST_F(AgentChannelTest, JoinRefusesWhatIsNotAnInstanceToJoin) {
  std::string arn = RegisterInstance();
  struct Case {
    std::string body;
    std::string type;
  };
  for (const Case& c : std::vector<Case>{
           {"", "SerializationException"},
           {"[]", "SerializationException"},
           {R"({"cluster": "c", "agentEndpoint": "h:1"})", "InvalidParameterException"},
           {R"({"cluster": 7, "containerInstanceArn": ")" + arn + R"(", "agentEndpoint": "h:1"})",
            "InvalidParameterException"},
           {R"({"containerInstanceArn": ")" + arn + R"(", "agentEndpoint": "h"})",
            "InvalidParameterException"},
           {R"({"containerInstanceArn": ")" + arn + R"(", "agentEndpoint": "h:0"})",
            "InvalidParameterException"},
           {R"({"cluster": "c", "containerInstanceArn": "nope", "agentEndpoint": "h:1"})",
            "InvalidParameterException"},
       }) {
    SCOPED_TRACE(c.body);
    http::Response reply = Join(c.body);
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_EQ(json::parse(reply.body).at("__type").as_string(), c.type) << reply.body;
  }
  EXPECT_EQ(Join(R"({"cluster": "c", "containerInstanceArn": ")" + arn +
                 R"(", "agentEndpoint": "[::1]:9100"})")
                .status,
            200);
}

// Found by agent_channel_fuzz (fuzz/corpus/agent_channel_fuzz/
// regression-invalid-utf8-in-query): the error quoted the raw byte, and the
// body was not JSON an agent could parse.
TEST_F(AgentChannelTest, AnErrorQuotingBytesThatAreNotUtf8IsStillJson) {
  http::SigV4Credentials key = JoinAgent(RegisterInstance());
  http::Request request{.method = "GET", .target = "/berth/v1/agent/tasks?waitSeconds=0%FA"};
  http::Response reply = Send(std::move(request), key);
  EXPECT_EQ(reply.status, 400);
  json::error_code ec;
  json::value body = json::parse(reply.body, ec);
  ASSERT_FALSE(ec) << reply.body;
  EXPECT_EQ(body.at("__type").as_string(), "InvalidParameterException");
  EXPECT_EQ(body.at("message").as_string(),
            "agent poll: waitSeconds must be a non-negative whole number, got '0\xEF\xBF\xBD'");
}

// A delta answer names an unchanged task by its ARN alone, yet its role's
// credentials come again in every answer: they are issued afresh, and the
// containers' SDKs refresh them before they expire.
TEST_F(AgentChannelTest, EveryAnswerCarriesTheRoleCredentialsOfChangedAndUnchangedTasks) {
  constexpr std::string_view kRole = "arn:aws:iam::123456789012:role/trainer";
  const std::string roles_file = dir_.path() + "/roles";
  std::ofstream(roles_file) << "[" << kRole
                            << "]\naws_access_key_id = AKIATRAINER\n"
                               "aws_secret_access_key = trainer-secret\n";
  auto roles = api::TaskRoles::Load(roles_file, {});
  ASSERT_TRUE(roles.ok()) << roles.status().message();
  roles_ = std::move(*roles);
  ecs_->set_task_roles(&roles_);
  Call("RegisterTaskDefinition", R"({"family": "trainer", "taskRoleArn": ")" + std::string(kRole) +
                                     R"(", "containerDefinitions": [
        {"name": "a", "image": "h:5000/busybox", "cpu": 1, "memory": 6}]})");
  http::SigV4Credentials key = JoinAgent(RegisterInstance());
  json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "trainer"})");
  const std::string arn(run.at("tasks").at(0).at("taskArn").as_string());
  auto role_key = [&](const json::object& answer) {
    return answer.at("credentials").at(arn).at("roleCredentials").at("AccessKeyId");
  };

  json::object full = Poll(key, "", 0, true);
  ASSERT_EQ(full.at("tasks").as_array().size(), 1u);
  EXPECT_EQ(role_key(full), "AKIATRAINER");
  EXPECT_FALSE(full.at("tasks").at(0).as_object().contains("roleCredentials"))
      << "credentials are the answer's, never part of the task an agent writes down";

  json::object delta = Poll(key, full.at("version").as_string(), 0, true);
  EXPECT_TRUE(delta.at("tasks").as_array().empty());
  EXPECT_EQ(delta.at("unchangedTaskArns"), json::array{json::string(arn)});
  EXPECT_EQ(role_key(delta), "AKIATRAINER");
}

TEST_F(AgentChannelTest, StopAnswersEveryHeldPoll) {
  http::SigV4Credentials key = JoinAgent(RegisterInstance());
  std::string version(Poll(key, "", 1).at("version").as_string());
  std::future<json::object> held =
      std::async(std::launch::async, [&] { return Poll(key, version, 20); });
  while (channel_->OpenPolls() == 0) std::this_thread::yield();
  channel_->Stop();
  ASSERT_EQ(held.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(held.get().at("version").as_string(), version);
}

// Agents poll (each answer is the whole set of its tasks) and report their
// tasks RUNNING while another thread places and stops tasks: once the
// placing is over, every agent's last answer is what the API holds for its
// instance.
TEST_F(AgentChannelTest, ConcurrentPollsSeeEveryChangeOfTheirInstance) {
  constexpr int kAgents = 4;
  constexpr int kTasks = 24;
  std::vector<std::string> instances;
  std::vector<http::SigV4Credentials> keys;
  for (int i = 0; i < kAgents; ++i) {
    instances.push_back(RegisterInstance());
    keys.push_back(JoinAgent(instances.back()));
  }

  std::atomic<bool> placing{true};
  std::vector<std::set<std::string>> seen(kAgents);  // each agent's last answer, by task ARN
  std::vector<std::string> versions(kAgents);
  std::vector<std::thread> agents;
  for (int i = 0; i < kAgents; ++i) {
    agents.emplace_back([&, i] {
      std::string id = api::ContainerInstanceId(instances[i]);
      // Polls go on until placing has ended and the last answer is current.
      while (placing.load() || versions[i] != ecs_->agents().Version(id)) {
        json::object answer = Poll(keys[i], versions[i], 1);
        versions[i] = std::string(answer.at("version").as_string());
        seen[i].clear();
        for (const json::value& task : answer.at("tasks").as_array()) {
          std::string arn(task.at("taskArn").as_string());
          seen[i].insert(arn);
          if (task.at("lastStatus").as_string() == "PENDING") {
            Call("SubmitTaskStateChange",
                 R"({"cluster": "c", "task": ")" + arn + R"(", "status": "RUNNING"})",
                 keys[i].access_key_id);
          }
        }
      }
    });
  }

  std::thread placer([&] {
    std::vector<std::string> placed;
    for (int t = 0; t < kTasks; ++t) {
      json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
      const json::array& tasks = run.at("tasks").as_array();
      EXPECT_EQ(tasks.size(), 1u) << json::serialize(run);
      if (tasks.empty()) break;
      placed.emplace_back(tasks[0].at("taskArn").as_string());
      if (t % 3 == 2) {
        Call("StopTask", R"({"cluster": "c", "task": ")" + placed[t - 1] + R"("})");
      }
    }
    placing = false;
  });
  placer.join();
  for (std::thread& agent : agents) agent.join();

  for (int i = 0; i < kAgents; ++i) {
    std::set<std::string> expected;
    auto assignments = ecs_->AgentAssignments(api::ContainerInstanceId(instances[i]));
    ASSERT_TRUE(assignments.has_value());
    for (const json::value& task : assignments->at("tasks").as_array()) {
      expected.emplace(task.at("taskArn").as_string());
    }
    EXPECT_EQ(seen[i], expected) << "agent " << i;
  }
}

}  // namespace
}  // namespace berth::server
