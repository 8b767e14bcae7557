#include "server/api/ecs_api.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/log.h"
#include "model/json_util.h"
#include "model/service_model.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {

using awsjson::CommitTracker;

namespace json = boost::json;

namespace {
constexpr std::string_view kClustersPrefix = "ecs/clusters/";
constexpr std::string_view kTaskDefinitionsPrefix = "ecs/taskdefs/";
constexpr std::string_view kInstancesPrefix = "ecs/instances/";
constexpr std::string_view kTasksPrefix = "ecs/tasks/";
constexpr std::string_view kServicesPrefix = "ecs/services/";
constexpr std::string_view kGangsPrefix = "ecs/gangs/";
constexpr std::string_view kQueuePrefix = "ecs/queue/";
constexpr std::string_view kPageTokenKey = "meta/page-token-key";
}  // namespace

EcsApi::EcsApi(store::Store& store, CommitTracker& tracker, ArnScope scope)
    : store_(store),
      tracker_(tracker),
      scope_(std::move(scope)),
      agents_(HexEncode(RandomBytes(6)), SystemClock().NowMillis()) {}

const model::ServiceModel& EcsApi::Model() const { return model::ServiceModel::Ecs(); }

const std::unordered_map<std::string_view, EcsApi::Operation>& EcsApi::Operations() {
  static const std::unordered_map<std::string_view, Operation> operations = {
      {"CreateCluster", &EcsApi::CreateCluster},
      {"DescribeClusters", &EcsApi::DescribeClusters},
      {"ListClusters", &EcsApi::ListClusters},
      {"UpdateCluster", &EcsApi::UpdateCluster},
      {"UpdateClusterSettings", &EcsApi::UpdateClusterSettings},
      {"DeleteCluster", &EcsApi::DeleteCluster},
      {"RegisterTaskDefinition", &EcsApi::RegisterTaskDefinition},
      {"DescribeTaskDefinition", &EcsApi::DescribeTaskDefinition},
      {"ListTaskDefinitions", &EcsApi::ListTaskDefinitions},
      {"ListTaskDefinitionFamilies", &EcsApi::ListTaskDefinitionFamilies},
      {"DeregisterTaskDefinition", &EcsApi::DeregisterTaskDefinition},
      {"DeleteTaskDefinitions", &EcsApi::DeleteTaskDefinitions},
      {"RegisterContainerInstance", &EcsApi::RegisterContainerInstance},
      {"DeregisterContainerInstance", &EcsApi::DeregisterContainerInstance},
      {"DescribeContainerInstances", &EcsApi::DescribeContainerInstances},
      {"ListContainerInstances", &EcsApi::ListContainerInstances},
      {"UpdateContainerInstancesState", &EcsApi::UpdateContainerInstancesState},
      {"PutAttributes", &EcsApi::PutAttributes},
      {"DeleteAttributes", &EcsApi::DeleteAttributes},
      {"ListAttributes", &EcsApi::ListAttributes},
      {"TagResource", &EcsApi::TagResource},
      {"UntagResource", &EcsApi::UntagResource},
      {"ListTagsForResource", &EcsApi::ListTagsForResource},
      {"RunTask", &EcsApi::RunTask},
      {"StartTask", &EcsApi::StartTask},
      {"StopTask", &EcsApi::StopTask},
      {"DescribeTasks", &EcsApi::DescribeTasks},
      {"ListTasks", &EcsApi::ListTasks},
      {"SubmitTaskStateChange", &EcsApi::SubmitTaskStateChange},
      {"SubmitContainerStateChange", &EcsApi::SubmitContainerStateChange},
      {"CreateService", &EcsApi::CreateService},
      {"UpdateService", &EcsApi::UpdateService},
      {"DeleteService", &EcsApi::DeleteService},
      {"DescribeServices", &EcsApi::DescribeServices},
      {"ListServices", &EcsApi::ListServices},
      {"ListServiceDeployments", &EcsApi::ListServiceDeployments},
      {"DescribeServiceDeployments", &EcsApi::DescribeServiceDeployments},
      {"DescribeServiceRevisions", &EcsApi::DescribeServiceRevisions},
  };
  return operations;
}

bool EcsApi::Implements(std::string_view operation) const {
  return Operations().contains(operation);
}

Reply EcsApi::Call(std::string_view operation, json::object& input, const CallContext& context) {
  Operation op = Operations().at(operation);
  // Reads share the lock; a read's reply still waits for the writes it saw.
  if (operation.starts_with("Describe") || operation.starts_with("List")) {
    std::shared_lock lock(mu_);
    Reply reply = (this->*op)(input, context);
    reply.commit_seq = tracker_.LastAssigned();
    return reply;
  }
  // Checks the Placers against the records after every change (tests).
  static const bool check_placers = [] {
    const char* v = std::getenv("BERTH_CHECK_PLACER");
    return v != nullptr && std::string_view(v) == "1";
  }();
  Reply reply;
  if (operation == "RunTask") {
    // Takes the lock itself: plans under the shared lock, commits under the
    // exclusive one.
    reply = (this->*op)(input, context);
  } else {
    std::unique_lock lock(mu_);
    reply = (this->*op)(input, context);
  }
  if (reply.commit_seq == 0) reply.commit_seq = tracker_.LastAssigned();
  if (check_placers) {
    if (Status s = CheckPlacers(context.now_millis); !s.ok()) {
      LogError("placer check failed",
               {{"operation", std::string(operation)}, {"error", s.ToString()}});
      std::abort();
    }
  }
  return reply;
}

Status EcsApi::Load() {
  std::unique_lock lock(mu_);
  Status bad = Status::Ok();
  auto parse = [&](std::string_view key, std::string_view value) -> json::object {
    boost::system::error_code ec;
    json::value v = json::parse(value, ec);
    if (ec || !v.is_object()) {
      bad = Internal("record " + std::string(key) + " is not a JSON object");
      return {};
    }
    return std::move(v.as_object());
  };
  BERTH_RETURN_IF_ERROR(store_.Scan(kClustersPrefix, [&](std::string_view key, std::string_view v) {
    clusters_[std::string(key.substr(kClustersPrefix.size()))] = parse(key, v);
  }));
  BERTH_RETURN_IF_ERROR(
      store_.Scan(kTaskDefinitionsPrefix, [&](std::string_view key, std::string_view v) {
        json::object record = parse(key, v);
        const TaskDefinitionRecord td(record);
        if (td.family().empty() || td.revision() < 1) {
          bad = Internal("record " + std::string(key) + " has no family and revision");
          return;
        }
        task_definitions_[std::string(td.family())][td.revision()] = std::move(record);
      }));
  BERTH_RETURN_IF_ERROR(
      store_.Scan(kInstancesPrefix, [&](std::string_view key, std::string_view v) {
        std::string_view rest = key.substr(kInstancesPrefix.size());
        size_t slash = rest.find('/');
        instances_[std::string(rest.substr(0, slash))][std::string(rest.substr(slash + 1))] =
            parse(key, v);
      }));
  BERTH_RETURN_IF_ERROR(store_.Scan(kTasksPrefix, [&](std::string_view key, std::string_view v) {
    std::string_view rest = key.substr(kTasksPrefix.size());
    size_t slash = rest.find('/');
    tasks_[std::string(rest.substr(0, slash))][std::string(rest.substr(slash + 1))] = parse(key, v);
  }));
  BERTH_RETURN_IF_ERROR(store_.Scan(kServicesPrefix, [&](std::string_view key, std::string_view v) {
    std::string_view rest = key.substr(kServicesPrefix.size());
    size_t slash = rest.find('/');
    services_[std::string(rest.substr(0, slash))][std::string(rest.substr(slash + 1))] =
        parse(key, v);
  }));
  BERTH_RETURN_IF_ERROR(store_.Scan(kGangsPrefix, [&](std::string_view key, std::string_view v) {
    std::string_view rest = key.substr(kGangsPrefix.size());
    size_t slash = rest.find('/');
    gangs_[std::string(rest.substr(0, slash))][std::string(rest.substr(slash + 1))] = parse(key, v);
  }));
  BERTH_RETURN_IF_ERROR(store_.Scan(kQueuePrefix, [&](std::string_view key, std::string_view v) {
    std::string_view rest = key.substr(kQueuePrefix.size());
    json::object entry = parse(key, v);
    const int64_t seq = OptInt(entry, "seq").value_or(0);
    const int64_t priority = OptInt(entry, "priority").value_or(0);
    queue_seq_ = std::max(queue_seq_, seq);
    queue_[std::string(rest.substr(0, rest.find('/')))].emplace(std::make_pair(-priority, seq),
                                                                std::move(entry));
  }));
  BERTH_RETURN_IF_ERROR(bad);
  // What the tasks hold on each instance, and the fields derived from it
  // (remainingResources, task counts), which the store does not keep
  // current; a Placer per cluster is built from the records at the first plan.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> on;  // tasks by instance
  for (const auto& [cluster, tasks] : tasks_) {
    for (const auto& [id, task] : tasks) {
      on[{cluster, TaskRecord(task).instance_id()}].push_back(id);
    }
  }
  for (const auto& [where, ids] : on) AccountTasks(where.first, where.second, ids);
  for (const auto& [cluster, instances] : instances_) {
    for (const auto& [id, instance] : instances) {
      if (!on.contains({cluster, id})) AccountTasks(cluster, id, {});  // derived fields only
    }
  }
  for (const auto& [cluster, record] : clusters_) PlacerOf(cluster);
  events_.DropPending();  // accounting what was stored changed nothing
  BERTH_RETURN_IF_ERROR(events_.Load(store_));

  std::string token_key;
  BERTH_RETURN_IF_ERROR(store_.Scan(
      kPageTokenKey, [&](std::string_view, std::string_view v) { token_key = std::string(v); }));
  if (token_key.empty()) {
    token_key = HexEncode(RandomBytes(32));
    BERTH_RETURN_IF_ERROR(
        store_.CommitAndWait({store::Mutation::Put(std::string(kPageTokenKey), token_key)}));
  }
  page_tokens_.set_key(token_key);
  LogInfo("ecs state loaded", {{"clusters", std::to_string(clusters_.size())},
                               {"families", std::to_string(task_definitions_.size())}});
  return Status::Ok();
}

uint64_t EcsApi::Commit(store::Batch batch) {
  ++commits_;
  uint64_t seq = tracker_.Next();
  // After Next: a reader that sees these events waits for this commit.
  events_.TakePending(batch);
  store_.Commit(std::move(batch), [this, seq](Status status) {
    if (!status.ok()) return tracker_.CommitFailed("state", status);
    tracker_.MarkDurable(seq);
  });
  return seq;
}

void EcsApi::SweepEvents(int64_t now_millis) {
  std::unique_lock lock(mu_);
  store::Batch batch;
  if (events_.Sweep(now_millis, batch) > 0) Commit(std::move(batch));
}

std::string EcsApi::ClusterKey(std::string_view name) {
  return std::string(kClustersPrefix) + std::string(name);
}

std::string EcsApi::TaskDefinitionKey(std::string_view family, int64_t revision) {
  char rev[16];
  std::snprintf(rev, sizeof rev, "%010lld", static_cast<long long>(revision));
  return std::string(kTaskDefinitionsPrefix) + std::string(family) + "/" + rev;
}

std::string EcsApi::InstanceKey(std::string_view cluster, std::string_view id) {
  return std::string(kInstancesPrefix) + std::string(cluster) + "/" + std::string(id);
}

std::string EcsApi::TaskKey(std::string_view cluster, std::string_view id) {
  return std::string(kTasksPrefix) + std::string(cluster) + "/" + std::string(id);
}

std::string EcsApi::ServiceKey(std::string_view cluster, std::string_view name) {
  return std::string(kServicesPrefix) + std::string(cluster) + "/" + std::string(name);
}

std::string EcsApi::ClusterArn(std::string_view name) const {
  return MakeArn(scope_, "ecs", "cluster/" + std::string(name));
}

}  // namespace berth::server::api
