// ECS task definitions: RegisterTaskDefinition, DescribeTaskDefinition,
// ListTaskDefinitions, ListTaskDefinitionFamilies, DeregisterTaskDefinition,
// DeleteTaskDefinitions.
#include <boost/json/serialize.hpp>
#include <cstdio>

#include "model/json_util.h"
#include "model/task_definition.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

// Sorts like (family, revision), so it serves as a page position.
std::string Position(std::string_view family, int64_t revision) {
  char rev[16];
  std::snprintf(rev, sizeof rev, " %010lld", static_cast<long long>(revision));
  return std::string(family) + rev;
}

}  // namespace

Reply EcsApi::RegisterTaskDefinition(json::object& in, const CallContext& ctx) {
  if (auto error = model::ValidateTaskDefinition(in)) Fail(error->type, error->message);
  ValidateTags(ArrayOr(in, "tags"));
  std::string family(StringOr(in, "family", ""));

  int64_t revision = 1;
  if (auto it = task_definitions_.find(family);
      it != task_definitions_.end() && !it->second.empty()) {
    revision = it->second.rbegin()->first + 1;
  }
  json::object td = in;
  td.erase("tags");
  for (auto& container : td["containerDefinitions"].as_array()) {
    auto& c = container.as_object();
    if (!c.contains("essential")) c["essential"] = true;  // ECS shows the default
  }
  td["taskDefinitionArn"] =
      MakeArn(scope_, "ecs", "task-definition/" + family + ":" + std::to_string(revision));
  td["revision"] = revision;
  td["status"] = kActive;
  td["registeredAt"] = static_cast<double>(ctx.now_millis) / 1000.0;
  td["registeredBy"] = MakeArn(ArnScope{"", scope_.account}, "iam", "root");
  model::ComputeTaskDefinitionFields(td);

  EmitEvent(ctx.now_millis, "TaskDefinitionRegistered", "",
            {std::string(AsString(td.at("taskDefinitionArn")))},
            "task definition " + family + ":" + std::to_string(revision) + " registered");
  json::object record{{"taskDefinition", std::move(td)}, {"tags", ArrayOr(in, "tags")}};
  uint64_t seq =
      Commit({store::Mutation::Put(TaskDefinitionKey(family, revision), json::serialize(record))});
  json::object reply = record;
  task_definitions_[family][revision] = std::move(record);
  return {std::move(reply), seq};
}

Reply EcsApi::DescribeTaskDefinition(json::object& in, const CallContext&) {
  TaskDefinitionRef ref = ParseTaskDefinitionRef(StringOr(in, "taskDefinition", ""));
  const json::object* found = nullptr;
  if (auto it = task_definitions_.find(ref.family); it != task_definitions_.end()) {
    if (ref.revision) {
      if (auto r = it->second.find(*ref.revision); r != it->second.end()) found = &r->second;
    } else {
      for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
        if (TaskDefinitionRecord(r->second).is_active()) {
          found = &r->second;
          break;
        }
      }
    }
  }
  if (found == nullptr) Fail("ClientException", "Unable to describe task definition.");
  json::object reply{{"taskDefinition", found->at("taskDefinition")}};
  if (ListContains(in, "include", "TAGS")) reply["tags"] = found->at("tags");
  return {std::move(reply)};
}

Reply EcsApi::ListTaskDefinitions(json::object& in, const CallContext&) {
  std::string_view status = StringOr(in, "status", "ACTIVE");
  auto family = OptString(in, "familyPrefix");  // despite its name, a whole family
  bool descending = StringOr(in, "sort", "ASC") == "DESC";
  Pager pager(page_tokens_, in, 100, descending);

  auto offer = [&](const std::string& name, int64_t revision, const json::object& record) {
    const TaskDefinitionRecord td(record);
    if (td.status() != status) return true;
    return pager.Add(Position(name, revision), json::string(td.arn()));
  };
  auto offer_family = [&](const auto& entry) {
    const auto& [name, revisions] = entry;
    if (descending) {
      for (auto r = revisions.rbegin(); r != revisions.rend(); ++r) {
        if (!offer(name, r->first, r->second)) return false;
      }
    } else {
      for (const auto& [revision, record] : revisions) {
        if (!offer(name, revision, record)) return false;
      }
    }
    return true;
  };
  if (family) {
    if (auto it = task_definitions_.find(*family); it != task_definitions_.end()) offer_family(*it);
  } else if (descending) {
    for (auto it = task_definitions_.rbegin(); it != task_definitions_.rend(); ++it) {
      if (!offer_family(*it)) break;
    }
  } else {
    for (const auto& entry : task_definitions_) {
      if (!offer_family(entry)) break;
    }
  }
  json::object reply;
  pager.Finish(reply, "taskDefinitionArns");
  return {std::move(reply)};
}

Reply EcsApi::ListTaskDefinitionFamilies(json::object& in, const CallContext&) {
  std::string_view prefix = StringOr(in, "familyPrefix", "");
  std::string_view status = StringOr(in, "status", "ALL");
  Pager pager(page_tokens_, in, 100);
  for (auto it = task_definitions_.lower_bound(prefix); it != task_definitions_.end(); ++it) {
    if (!it->first.starts_with(prefix)) break;
    bool active = false;
    for (const auto& [revision, record] : it->second) {
      active |= TaskDefinitionRecord(record).is_active();
    }
    if (status == kActive && !active) continue;
    if (status == kInactive && active) continue;
    if (!pager.Add(it->first, json::string(it->first))) break;
  }
  json::object reply;
  pager.Finish(reply, "families");
  return {std::move(reply)};
}

Reply EcsApi::DeregisterTaskDefinition(json::object& in, const CallContext& ctx) {
  TaskDefinitionRef ref = ParseTaskDefinitionRef(StringOr(in, "taskDefinition", ""));
  if (!ref.revision) {
    Fail("ClientException", "A revision is required: use family:revision or a full ARN");
  }
  auto family = task_definitions_.find(ref.family);
  if (family == task_definitions_.end() || !family->second.contains(*ref.revision)) {
    Fail("ClientException", "The specified task definition does not exist.");
  }
  json::object& record = family->second.at(*ref.revision);
  const std::string_view status = TaskDefinitionRecord(record).status();
  if (status == kDeleteInProgress) {
    Fail("ClientException", "The specified task definition is being deleted.");
  }
  if (status == kInactive) return {json::object{{"taskDefinition", record.at("taskDefinition")}}};
  json::object updated = record;
  MutableTaskDefinitionRecord td(updated);
  td.SetStatus(kInactive);
  td.SetDeregisteredAt(static_cast<double>(ctx.now_millis) / 1000.0);
  const std::string name = ref.family + ":" + std::to_string(*ref.revision);
  EmitEvent(ctx.now_millis, "TaskDefinitionDeregistered", "",
            {MakeArn(scope_, "ecs", "task-definition/" + name)},
            "task definition " + name + " deregistered");
  uint64_t seq = Commit({store::Mutation::Put(TaskDefinitionKey(ref.family, *ref.revision),
                                              json::serialize(updated))});
  record = std::move(updated);
  return {json::object{{"taskDefinition", record.at("taskDefinition")}}, seq};
}

Reply EcsApi::DeleteTaskDefinitions(json::object& in, const CallContext& ctx) {
  const json::array& refs = ArrayOr(in, "taskDefinitions");
  if (refs.empty() || refs.size() > 10) {
    Fail("InvalidParameterException", "taskDefinitions must name 1 to 10 task definitions");
  }
  // Validated and planned in full before anything changes.
  std::vector<std::pair<json::object*, json::object>> changes;
  json::array deleted, failures;
  for (const auto& r : refs) {
    std::string_view text = AsString(r);
    TaskDefinitionRef ref = ParseTaskDefinitionRef(text);
    if (!ref.revision) {
      Fail("ClientException", "A revision is required: use family:revision or a full ARN");
    }
    auto family = task_definitions_.find(ref.family);
    json::object* record = nullptr;
    if (family != task_definitions_.end()) {
      if (auto it = family->second.find(*ref.revision); it != family->second.end()) {
        record = &it->second;
      }
    }
    std::string arn = MakeArn(
        scope_, "ecs", "task-definition/" + ref.family + ":" + std::to_string(*ref.revision));
    if (record == nullptr) {
      failures.push_back(
          json::object{{"arn", arn}, {"reason", "The specified task definition does not exist."}});
      continue;
    }
    if (TaskDefinitionRecord(*record).is_active()) {
      failures.push_back(json::object{
          {"arn", arn},
          {"reason",
           "The specified task definition is still in ACTIVE status. Please deregister the "
           "target and try again."}});
      continue;
    }
    json::object updated = *record;
    MutableTaskDefinitionRecord(updated).SetStatus(kDeleteInProgress);
    deleted.push_back(updated.at("taskDefinition"));
    changes.emplace_back(record, std::move(updated));
  }
  uint64_t seq = 0;
  if (!changes.empty()) {
    store::Batch batch;
    for (auto& [record, updated] : changes) {
      const TaskDefinitionRecord td(updated);
      const std::string name = std::string(td.family()) + ":" + std::to_string(td.revision());
      EmitEvent(ctx.now_millis, "TaskDefinitionDeleted", "",
                {MakeArn(scope_, "ecs", "task-definition/" + name)},
                "task definition " + name + " deleted");
      batch.push_back(store::Mutation::Put(TaskDefinitionKey(td.family(), td.revision()),
                                           json::serialize(updated)));
    }
    seq = Commit(std::move(batch));
    for (auto& [record, updated] : changes) *record = std::move(updated);
  }
  return {json::object{{"taskDefinitions", std::move(deleted)}, {"failures", std::move(failures)}},
          seq};
}

}  // namespace berth::server::api
