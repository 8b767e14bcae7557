// EcsApi task lifecycle over an in-memory store: placement bookkeeping,
// stop, and the cleanup of stopped tasks an hour later.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/api/ecs_api.h"
#include "server/api/ecs_api_testing.h"

namespace berth::server::api {

namespace {

namespace json = boost::json;

class EcsTasksTest : public testing::EcsApiTest {
 protected:
  void SetUp() override { ASSERT_TRUE(api_.Load().ok()); }

  // The first instance of cluster "c" in id order.
  std::string FirstInstance() {
    json::object list = Call("ListContainerInstances", R"({"cluster": "c"})");
    return std::string(list.at("containerInstanceArns").as_array()[0].as_string());
  }
};

TEST_F(EcsTasksTest, StopFreesAndCleanupRemovesAfterAnHour) {
  Call("CreateCluster", R"({"clusterName": "c"})");
  Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
      {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
      {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]})");
  Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
      {"name": "a", "image": "busybox", "cpu": 1024, "memory": 512}]})");

  json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
  ASSERT_EQ(run.at("tasks").as_array().size(), 1u);
  std::string arn(run.at("tasks").as_array()[0].as_object().at("taskArn").as_string());
  // The instance is full (1024 of 1024 CPU units).
  json::object full = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
  EXPECT_EQ(full.at("failures").as_array()[0].as_object().at("reason").as_string(), "RESOURCE:CPU");

  Call("StopTask", R"({"cluster": "c", "task": ")" + arn + R"("})");
  EXPECT_EQ(
      Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})").at("tasks").as_array().size(),
      1u);

  std::string describe = R"({"cluster": "c", "tasks": [")" + arn + R"("]})";
  api_.CleanUpStoppedTasks(kNow + 59 * 60 * 1000);  // still within the hour
  EXPECT_EQ(Call("DescribeTasks", describe).at("tasks").as_array().size(), 1u);
  api_.CleanUpStoppedTasks(kNow + 61 * 60 * 1000);
  json::object gone = Call("DescribeTasks", describe);
  EXPECT_TRUE(gone.at("tasks").as_array().empty());
  EXPECT_EQ(gone.at("failures").as_array()[0].as_object().at("reason").as_string(), "MISSING");

  // A server that loads the same store sees the running task and not the
  // removed one.
  EcsApi reloaded{*store_, tracker_, ArnScope{}};
  ASSERT_TRUE(reloaded.Load().ok());
  json::object in = json::parse(R"({"cluster": "c"})").as_object();
  json::object list = reloaded.Call("ListTasks", in, CallContext{"key", kNow}).body.as_object();
  EXPECT_EQ(list.at("taskArns").as_array().size(), 1u);
}

// Many threads call RunTask at once against a small cluster (each RunTask
// plans under the shared lock and commits under the exclusive one): no
// instance ends up with more CPU, memory, host ports or Neuron devices
// booked than it has, and the long-lived Placer agrees with the records.
TEST_F(EcsTasksTest, ConcurrentRunTaskNeverDoubleBooks) {
  Call("CreateCluster", R"({"clusterName": "c"})");
  constexpr int kInstances = 4;
  for (int i = 0; i < kInstances; ++i) {
    Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
        {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}],
        "platformDevices": [{"id": "0", "type": "NEURON_DEVICE"},
                            {"id": "1", "type": "NEURON_DEVICE"},
                            {"id": "2", "type": "NEURON_DEVICE"}],
        "attributes": [{"name": "ecs.availability-zone", "value": "az)" +
                                          std::to_string(i % 2) + R"("}]})");
  }
  // Three kinds: a host port (one per instance), a Neuron device (three per
  // instance), plain (cpu 256: the rest).
  Call("RegisterTaskDefinition", R"({"family": "port", "containerDefinitions": [
      {"name": "a", "image": "busybox", "cpu": 256, "memory": 256,
       "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]})");
  Call("RegisterTaskDefinition", R"({"family": "neuron", "containerDefinitions": [
      {"name": "a", "image": "busybox", "cpu": 256, "memory": 256,
       "resourceRequirements": [{"type": "NeuronDevice", "value": "1"}]}]})");
  Call("RegisterTaskDefinition", R"({"family": "plain", "containerDefinitions": [
      {"name": "a", "image": "busybox", "cpu": 256, "memory": 256}]})");

  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      static constexpr const char* kFamilies[] = {"port", "neuron", "plain"};
      for (int i = 0; i < kCallsPerThread; ++i) {
        std::string body = std::string(R"({"cluster": "c", "taskDefinition": ")") +
                           kFamilies[(t + i) % 3] + R"(", "placementStrategy": [
            {"type": "spread", "field": "attribute:ecs.availability-zone"},
            {"type": "binpack", "field": "memory"}]})";
        json::object in = json::parse(body).as_object();
        api_.Call("RunTask", in, CallContext{"key", kNow});
      }
    });
  }
  // Instance changes during the run make plans conflict (and re-plan).
  for (int i = 0; i < 5; ++i) {
    Call("PutAttributes", R"({"cluster": "c", "attributes": [{"name": "round", "value": ")" +
                              std::to_string(i) + R"(", "targetType": "container-instance",
        "targetId": ")" + FirstInstance() +
                              R"("}]})");
  }
  for (auto& thread : threads) thread.join();

  std::vector<std::string> arns;
  std::string next;
  do {
    std::string body = R"({"cluster": "c", "maxResults": 100)" +
                       (next.empty() ? std::string() : R"(, "nextToken": ")" + next + R"(")") + "}";
    json::object page = Call("ListTasks", body);
    for (const auto& a : page.at("taskArns").as_array()) arns.emplace_back(a.as_string());
    next = page.contains("nextToken") ? std::string(page.at("nextToken").as_string()) : "";
  } while (!next.empty());
  // 4 instances x 4096 cpu / 256 = 64 tasks fit; 320 calls were made.
  EXPECT_EQ(arns.size(), 64u);

  std::map<std::string, int64_t> cpu;
  std::map<std::string, std::set<std::string>> neuron;
  std::map<std::string, int> ports;
  for (size_t i = 0; i < arns.size(); i += 100) {
    json::array refs;
    for (size_t j = i; j < std::min(arns.size(), i + 100); ++j)
      refs.push_back(json::string(arns[j]));
    json::object in{{"cluster", "c"}, {"tasks", refs}};
    json::object tasks = api_.Call("DescribeTasks", in, CallContext{"key", kNow}).body.as_object();
    for (const auto& t : tasks.at("tasks").as_array()) {
      const json::object& task = t.as_object();
      std::string on(task.at("containerInstanceArn").as_string());
      cpu[on] += std::stoll(std::string(task.at("cpu").as_string()));
      for (const auto& c : task.at("containers").as_array()) {
        for (const auto& d : c.as_object().at("neuronDeviceIds").as_array()) {
          EXPECT_TRUE(neuron[on].insert(std::string(d.as_string())).second)
              << "Neuron device " << d.as_string() << " given twice on " << on;
        }
      }
      if (std::string(task.at("taskDefinitionArn").as_string()).find("/port:") !=
          std::string::npos) {
        ++ports[on];
      }
    }
  }
  for (const auto& [on, used] : cpu) EXPECT_LE(used, 4096) << on;
  for (const auto& [on, n] : ports) EXPECT_LE(n, 1) << "host port 8080 given twice on " << on;
  for (const auto& [on, ids] : neuron) EXPECT_LE(ids.size(), 3u) << on;
  EXPECT_TRUE(api_.CheckPlacers(kNow).ok()) << api_.CheckPlacers(kNow).ToString();
}

// Every path that changes instances or reservations keeps the Placer in
// step with the records.
TEST_F(EcsTasksTest, PlacerFollowsEveryChange) {
  auto check = [&](const char* after) {
    Status s = api_.CheckPlacers(kNow);
    EXPECT_TRUE(s.ok()) << after << ": " << s.ToString();
  };
  Call("CreateCluster", R"({"clusterName": "c"})");
  std::string register_body = R"({"cluster": "c", "totalResources": [
      {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
      {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048}]})";
  Call("RegisterContainerInstance", register_body);
  Call("RegisterContainerInstance", register_body);
  Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
      {"name": "a", "image": "busybox", "cpu": 512, "memory": 512}]})");
  json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f", "count": 3})");
  ASSERT_EQ(run.at("tasks").as_array().size(), 3u);
  check("RunTask");
  std::string first(run.at("tasks").as_array()[0].as_object().at("taskArn").as_string());
  Call("StopTask", R"({"cluster": "c", "task": ")" + first + R"("})");
  check("StopTask");
  Call("PutAttributes", R"({"cluster": "c", "attributes": [{"name": "x", "value": "1",
      "targetType": "container-instance", "targetId": ")" +
                            FirstInstance() + R"("}]})");
  // The Placer takes the attribute in place: only that instance matches.
  const std::string only_x = R"({"cluster": "c", "taskDefinition": "f", "count": 2,
      "placementConstraints": [{"type": "memberOf", "expression": "attribute:x == 1"}]})";
  json::object on_x = Call("RunTask", only_x);
  for (const auto& t : on_x.at("tasks").as_array()) {
    EXPECT_EQ(t.at("containerInstanceArn").as_string(), FirstInstance());
  }
  EXPECT_FALSE(on_x.at("tasks").as_array().empty());
  check("PutAttributes, RunTask");
  Call("DeleteAttributes", R"({"cluster": "c", "attributes": [{"name": "x",
      "targetType": "container-instance", "targetId": ")" +
                               FirstInstance() + R"("}]})");
  json::object none = Call("RunTask", only_x);
  EXPECT_TRUE(none.at("tasks").as_array().empty());
  EXPECT_EQ(none.at("failures").as_array()[0].at("reason").as_string(), "ATTRIBUTE");
  check("DeleteAttributes, RunTask");
  Call("UpdateContainerInstancesState", R"({"cluster": "c", "status": "DRAINING",
      "containerInstances": [")" + FirstInstance() +
                                            R"("]})");
  Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
  check("DRAINING");
  Call("DeregisterContainerInstance", R"({"cluster": "c", "force": true,
      "containerInstance": ")" + FirstInstance() +
                                          R"("})");
  Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
  check("DeregisterContainerInstance");
  api_.CleanUpStoppedTasks(kNow + 2 * 3600 * 1000);
  Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
  check("CleanUpStoppedTasks");
  // A registration joins the Placer in place, and is placed on at once.
  Call("RegisterContainerInstance", R"({"cluster": "c", "totalResources": [
      {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
      {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048}],
      "attributes": [{"name": "fresh"}]})");
  check("RegisterContainerInstance");
  json::object fresh = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f", "count": 4,
      "placementConstraints": [{"type": "memberOf", "expression": "attribute:fresh exists"}]})");
  EXPECT_EQ(fresh.at("tasks").as_array().size(), 4u);
  check("RegisterContainerInstance, RunTask");
}

// A forced deregistration stops the tasks no agent will run (no agent
// joined: STOPPED now, resources freed) and asks a joined agent to stop
// its tasks (desiredStatus STOPPED).
TEST_F(EcsTasksTest, ForceDeregistrationStopsTasks) {
  Call("CreateCluster", R"({"clusterName": "c"})");
  std::string register_body = R"({"cluster": "c", "totalResources": [
      {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
      {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]})";
  std::string with_agent(Call("RegisterContainerInstance", register_body)
                             .at("containerInstance")
                             .as_object()
                             .at("containerInstanceArn")
                             .as_string());
  api_.JoinAgent("c", with_agent, "127.0.0.1:1", kNow);
  Call("RegisterTaskDefinition", R"({"family": "f", "containerDefinitions": [
      {"name": "a", "image": "busybox", "cpu": 1024, "memory": 512}]})");
  json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f"})");
  ASSERT_EQ(run.at("tasks").as_array().size(), 1u);
  std::string task(run.at("tasks").as_array()[0].as_object().at("taskArn").as_string());
  Call("DeregisterContainerInstance",
       R"({"cluster": "c", "force": true, "containerInstance": ")" + with_agent + R"("})");
  json::object t = Call("DescribeTasks", R"({"cluster": "c", "tasks": [")" + task + R"("]})")
                       .at("tasks")
                       .as_array()[0]
                       .as_object();
  EXPECT_EQ(t.at("desiredStatus").as_string(), "STOPPED");
  EXPECT_EQ(t.at("lastStatus").as_string(), "PENDING");  // the agent reports it stopped
  EXPECT_EQ(t.at("stoppedReason").as_string(), "Container instance deregistered");
  EXPECT_TRUE(api_.CheckPlacers(kNow).ok());
}

// The names and values a task's overrides give container `name`, in order.
std::vector<std::pair<std::string, std::string>> OverrideEnvironment(const json::object& task,
                                                                     std::string_view name) {
  std::vector<std::pair<std::string, std::string>> env;
  for (const auto& o : task.at("overrides").at("containerOverrides").as_array()) {
    if (o.at("name").as_string() != name) continue;
    for (const auto& e : o.as_object().at("environment").as_array()) {
      env.emplace_back(e.at("name").as_string(), e.at("value").as_string());
    }
  }
  return env;
}

// A gang's tasks show the rendezvous environment in their overrides, under
// what the definition and the request set; rank 0's instance holds the two
// rendezvous ports (as a server that loads the store again sees) until that
// task stops.
TEST_F(EcsTasksTest, GangTasksGetTheRendezvousEnvironmentAndHoldItsPorts) {
  Call("CreateCluster", R"({"clusterName": "c"})");
  std::map<std::string, std::string> node_of;  // instance ARN -> its "node" attribute
  for (std::string node : {"n1", "n2"}) {
    json::object registered = Call("RegisterContainerInstance", R"({"cluster": "c",
        "totalResources": [
          {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
          {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096},
          {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]}],
        "attributes": [{"name": "node", "value": ")" + node + R"("},
                       {"name": "berth.address", "value": "10.0.0.)" +
                                                                    node.substr(1) + R"("}]})");
    node_of[std::string(
        registered.at("containerInstance").at("containerInstanceArn").as_string())] = node;
  }
  Call("RegisterTaskDefinition", R"({"family": "f", "networkMode": "host", "containerDefinitions": [
      {"name": "t", "image": "busybox", "cpu": 1024, "memory": 512,
       "environment": [{"name": "MASTER_PORT", "value": "1234"}]}]})");
  json::object run = Call("RunTask", R"({"cluster": "c", "taskDefinition": "f", "count": 2,
      "tags": [{"key": "berth:gang", "value": "g"}],
      "overrides": {"containerOverrides": [
        {"name": "t", "environment": [{"name": "WORLD_SIZE", "value": "8"}]}]}})");
  const json::array& tasks = run.at("tasks").as_array();
  ASSERT_EQ(tasks.size(), 2u);
  std::string rank0_instance, rank0_task, rank0_node;
  std::vector<std::string> address_of_rank(2);
  for (const auto& t : tasks) {
    const int64_t rank = t.at("berthGang").at("rank").as_int64();
    std::string on(t.at("containerInstanceArn").as_string());
    address_of_rank[rank] = "10.0.0." + node_of[on].substr(1);
    if (rank == 0) {
      rank0_instance = on;
      rank0_task = std::string(t.at("taskArn").as_string());
      rank0_node = node_of[on];
    }
  }
  for (const auto& t : tasks) {
    const json::object& task = t.as_object();
    const std::string rank = std::to_string(task.at("berthGang").at("rank").as_int64());
    EXPECT_EQ(task.at("berthGang").at("attempt").as_int64(), 0);
    EXPECT_EQ(task.at("berthGang").at("masterPort").as_int64(), 29500);
    EXPECT_EQ(task.at("berthGang").at("neuronCommPort").as_int64(), 29501);
    // The user's WORLD_SIZE first, then berth's variables; the definition's
    // MASTER_PORT is not overridden.
    std::vector<std::pair<std::string, std::string>> want{
        {"WORLD_SIZE", "8"},
        {"RANK", rank},
        {"NODE_RANK", rank},
        {"MASTER_ADDR", address_of_rank[0]},
        {"BERTH_GANG", "g"},
        {"BERTH_GANG_RANK", rank},
        {"BERTH_GANG_SIZE", "2"},
        {"BERTH_GANG_ATTEMPT", "0"},
        {"BERTH_GANG_HOSTS", address_of_rank[0] + "," + address_of_rank[1]},
        {"NEURON_RT_ROOT_COMM_ID", address_of_rank[0] + ":29501"},
    };
    EXPECT_EQ(OverrideEnvironment(task, "t"), want) << "rank " << rank;
  }

  // remainingResources lists the ports tasks hold, as ECS does.
  auto ports_held = [](EcsApi& api, const std::string& instance) {
    json::object in{{"cluster", "c"}, {"containerInstances", json::array{json::string(instance)}}};
    json::object out =
        api.Call("DescribeContainerInstances", in, CallContext{"key", kNow}).body.as_object();
    for (const auto& r :
         out.at("containerInstances").as_array()[0].at("remainingResources").as_array()) {
      if (r.at("name").as_string() != "PORTS") continue;
      std::set<std::string> ports;
      for (const auto& p : r.at("stringSetValue").as_array()) ports.emplace(p.as_string());
      return ports;
    }
    return std::set<std::string>();
  };
  EXPECT_EQ(ports_held(api_, rank0_instance), (std::set<std::string>{"22", "29500", "29501"}));
  for (const auto& [arn, node] : node_of) {
    if (arn != rank0_instance) {
      EXPECT_EQ(ports_held(api_, arn), std::set<std::string>{"22"});
    }
  }

  // A server that loads the store keeps them reserved: the next gang whose
  // rank 0 lands there gets the two after them.
  EcsApi reloaded{*store_, tracker_, ArnScope{}};
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(ports_held(reloaded, rank0_instance), (std::set<std::string>{"22", "29500", "29501"}));
  auto run_gang_of_one = [&](const std::string& group) {
    json::object in = json::parse(R"({"cluster": "c", "taskDefinition": "f", "group": ")" + group +
                                  R"(", "tags": [{"key": "berth:gang", "value": ")" + group +
                                  R"("}], "placementConstraints": [{"type": "memberOf",
        "expression": "attribute:node == )" +
                                  rank0_node + R"("}]})")
                          .as_object();
    json::object out = reloaded.Call("RunTask", in, CallContext{"key", kNow}).body.as_object();
    EXPECT_EQ(out.at("tasks").as_array().size(), 1u) << json::serialize(out);
    return out.at("tasks").as_array()[0].at("berthGang").at("masterPort").as_int64();
  };
  EXPECT_EQ(run_gang_of_one("h"), 29502);
  // Rank 0 of the first gang stops: its ports are free again.
  json::object stop{{"cluster", "c"}, {"task", rank0_task}};
  reloaded.Call("StopTask", stop, CallContext{"key", kNow});
  EXPECT_EQ(ports_held(reloaded, rank0_instance), (std::set<std::string>{"22", "29502", "29503"}));
  EXPECT_EQ(run_gang_of_one("k"), 29500);
  EXPECT_TRUE(reloaded.CheckPlacers(kNow).ok()) << reloaded.CheckPlacers(kNow).ToString();
}

}  // namespace
}  // namespace berth::server::api
