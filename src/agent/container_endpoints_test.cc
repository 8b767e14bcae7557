// The endpoint handlers, called directly (no listener, no namespace).
#include "agent/container_endpoints.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <map>

namespace berth::agent {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTask[] = "arn:aws:ecs:us-east-1:123456789012:task/train/aaaa";
constexpr char kOther[] = "arn:aws:ecs:us-east-1:123456789012:task/train/bbbb";

std::map<std::string, std::string> EnvOf(const ContainerAccess& access) {
  return {access.env.begin(), access.env.end()};
}

class ContainerEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-endpoints-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "aaaa");
    fs::create_directories(root_ / "bbbb");
    endpoints_ = Open();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<ContainerEndpoints> Open() {
    ContainerEndpoints::Options options;
    options.serve = false;
    auto endpoints = ContainerEndpoints::Start(options);
    EXPECT_TRUE(endpoints.ok());
    return std::move(*endpoints);
  }

  ContainerAccess Attach(const std::string& task_arn, const std::string& dir,
                         const std::string& name, bool role) {
    ContainerEndpoints::Container c;
    c.task_arn = task_arn;
    c.task_dir = (root_ / dir).string();
    c.name = name;
    c.task_role = role;
    auto access = endpoints_->Attach(c);
    EXPECT_TRUE(access.ok()) << access.status().ToString();
    return *access;
  }

  static TaskSnapshot Snapshot(const std::string& task_arn, const std::string& container) {
    TaskSnapshot task;
    task.task_arn = task_arn;
    task.family = "train";
    task.revision = "1";
    ContainerSnapshot c;
    c.name = container;
    c.runtime_id = task_arn.substr(task_arn.rfind('/') + 1) + "-" + container;
    task.containers.push_back(c);
    return task;
  }

  http::Response Get(const std::string& url, const std::string& scope = "",
                     const std::string& authorization = "") {
    http::Request request;
    request.method = "GET";
    // "http://127.0.0.1:PORT/path" -> "/path"
    request.target = url.substr(url.find('/', std::string("http://").size()));
    if (!authorization.empty()) request.headers.emplace_back("authorization", authorization);
    return endpoints_->Handle(request, scope);
  }

  fs::path root_;
  std::unique_ptr<ContainerEndpoints> endpoints_;
};

TEST_F(ContainerEndpointsTest, AContainerReadsItsOwnMetadataThroughTheURIsItIsGiven) {
  ContainerAccess access = Attach(kTask, "aaaa", "main", false);
  auto env = EnvOf(access);
  ASSERT_TRUE(env.contains("ECS_CONTAINER_METADATA_URI_V4"));
  const std::string v4 = env["ECS_CONTAINER_METADATA_URI_V4"];
  EXPECT_THAT(v4, StartsWith("http://127.0.0.1:"));
  EXPECT_THAT(env["ECS_CONTAINER_METADATA_URI"], HasSubstr("/v3/"));
  EXPECT_FALSE(env.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI"));  // no role
  EXPECT_TRUE(access.network_namespace.empty());

  // Before the worker published anything: not ready.
  EXPECT_EQ(Get(v4).status, 503);
  endpoints_->Publish(Snapshot(kTask, "main"));
  http::Response container = Get(v4);
  ASSERT_EQ(container.status, 200) << container.body;
  EXPECT_EQ(json::parse(container.body).at("Name"), json::value("main"));
  EXPECT_EQ(json::parse(Get(v4 + "/task").body).at("TaskARN"), json::value(kTask));
  EXPECT_TRUE(json::parse(Get(v4 + "/taskWithTags").body).as_object().contains("TaskTags"));
  EXPECT_EQ(json::parse(Get(env["ECS_CONTAINER_METADATA_URI"] + "/task").body).at("Family"),
            json::value("train"));
  // Stats of a container that does not run.
  http::Response stats = Get(v4 + "/stats");
  EXPECT_EQ(stats.status, 404);
  EXPECT_THAT(stats.body, HasSubstr("is not running"));
  EXPECT_EQ(json::parse(Get(v4 + "/task/stats").body), json::parse(R"({"aaaa-main": null})"));
  EXPECT_EQ(Get(v4 + "/nothing").status, 404);
}

TEST_F(ContainerEndpointsTest, OneTaskCannotReadAnothers) {
  auto mine = EnvOf(Attach(kTask, "aaaa", "main", false));
  auto theirs = EnvOf(Attach(kOther, "bbbb", "main", false));
  endpoints_->Publish(Snapshot(kTask, "main"));
  endpoints_->Publish(Snapshot(kOther, "main"));
  EXPECT_NE(mine["ECS_CONTAINER_METADATA_URI_V4"], theirs["ECS_CONTAINER_METADATA_URI_V4"]);
  // An id nobody was given.
  http::Response guessed = Get("http://127.0.0.1:1/v4/" + std::string(32, '0') + "/task");
  EXPECT_EQ(guessed.status, 404);
  EXPECT_THAT(guessed.body, HasSubstr("V4 container metadata handler"));
  // A container's own listener answers for it alone, whatever id it is asked.
  const std::string my_scope = std::string(kTask) + "/main";
  EXPECT_EQ(Get(mine["ECS_CONTAINER_METADATA_URI_V4"], my_scope).status, 200);
  EXPECT_EQ(Get(theirs["ECS_CONTAINER_METADATA_URI_V4"], my_scope).status, 404);

  // A stopped task's ids are answered 404.
  endpoints_->Release(kOther);
  EXPECT_EQ(Get(theirs["ECS_CONTAINER_METADATA_URI_V4"]).status, 404);
  EXPECT_EQ(Get(mine["ECS_CONTAINER_METADATA_URI_V4"]).status, 200);
}

TEST_F(ContainerEndpointsTest, TaskRoleCredentialsNeedTheTasksToken) {
  auto env = EnvOf(Attach(kTask, "aaaa", "main", true));
  auto sidecar = EnvOf(Attach(kTask, "aaaa", "sidecar", true));
  auto other = EnvOf(Attach(kOther, "bbbb", "main", true));
  const std::string uri = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"];
  const std::string token = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"];
  EXPECT_THAT(uri, HasSubstr("/v2/credentials/"));
  EXPECT_EQ(token.size(), 32u);
  // One task, one credentials endpoint; another task, another.
  EXPECT_EQ(sidecar["AWS_CONTAINER_CREDENTIALS_FULL_URI"], uri);
  EXPECT_NE(other["AWS_CONTAINER_CREDENTIALS_FULL_URI"], uri);
  EXPECT_NE(other["AWS_CONTAINER_AUTHORIZATION_TOKEN"], token);

  // Before the server sent them (an agent that just started).
  http::Response early = Get(uri, "", token);
  EXPECT_EQ(early.status, 503);
  EXPECT_EQ(json::parse(early.body).at("code"), json::value("CredentialsUninitialized"));

  json::object credentials{{"RoleArn", "arn:aws:iam::123456789012:role/trainer"},
                           {"AccessKeyId", "BERTHROLE00655400AKIA"},
                           {"SecretAccessKey", "s"},
                           {"Token", "t"},
                           {"Expiration", "2023-11-14T23:15:00Z"}};
  endpoints_->SetRoleCredentials(kTask, credentials);
  http::Response ok = Get(uri, "", token);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body), json::value(credentials));

  // Without the token, with another task's, or through another task's own
  // listener: refused.
  EXPECT_EQ(Get(uri).status, 401);
  EXPECT_EQ(Get(uri, "", other["AWS_CONTAINER_AUTHORIZATION_TOKEN"]).status, 401);
  EXPECT_EQ(Get(uri, std::string(kOther) + "/main", token).status, 400);
  http::Response unknown = Get("http://127.0.0.1:1/v2/credentials/nope", "", token);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(json::parse(unknown.body).at("code"), json::value("InvalidIdInRequest"));

  // The server stops sending them: none are served.
  endpoints_->SetRoleCredentials(kTask, std::nullopt);
  EXPECT_EQ(Get(uri, "", token).status, 503);
}

TEST_F(ContainerEndpointsTest, IdsOutliveTheAgentInTheTasksFolder) {
  auto first = EnvOf(Attach(kTask, "aaaa", "main", true));
  struct stat st {};
  ASSERT_EQ(stat((root_ / "aaaa/endpoints.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // it holds the credentials token

  endpoints_ = Open();  // a restarted agent
  auto again = EnvOf(Attach(kTask, "aaaa", "main", true));
  EXPECT_EQ(again, first);
  endpoints_->Publish(Snapshot(kTask, "main"));
  EXPECT_EQ(Get(first["ECS_CONTAINER_METADATA_URI_V4"]).status, 200);
}

TEST_F(ContainerEndpointsTest, OnlyGetIsServed) {
  auto env = EnvOf(Attach(kTask, "aaaa", "main", false));
  http::Request post;
  post.method = "POST";
  post.target = "/v4/x";
  EXPECT_EQ(endpoints_->Handle(post, "").status, 405);
}

}  // namespace
}  // namespace berth::agent
