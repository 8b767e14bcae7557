// ECS attributes and tags: PutAttributes, DeleteAttributes, ListAttributes,
// TagResource, UntagResource, ListTagsForResource.
#include <boost/json/serialize.hpp>
#include <map>

#include "model/json_util.h"
#include "server/api/ecs_api.h"
#include "server/api/ecs_attributes.h"
#include "server/api/ecs_names.h"
#include "server/api/ecs_records.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

constexpr size_t kMaxAttributesPerCall = 10;
constexpr size_t kMaxCustomAttributes = 10;
constexpr std::string_view kTargetType = "container-instance";

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '/' || c == '\\' || c == '.';
}

bool IsValueChar(char c) { return IsNameChar(c) || c == '@' || c == ':' || c == ' '; }

// ECS's own "ecs.*" attributes (from the agent) do not count against the limit.
size_t CustomCount(const json::array& attributes) {
  size_t n = 0;
  for (const auto& a : attributes) n += !StringOr(a.as_object(), "name", "").starts_with("ecs.");
  return n;
}

}  // namespace

void ValidateAttributes(const json::array& attributes, bool need_target) {
  for (const auto& a : attributes) {
    const auto& attribute = a.as_object();
    std::string name(StringOr(attribute, "name", ""));
    if (name.empty() || name.size() > 128 || !std::all_of(name.begin(), name.end(), IsNameChar)) {
      Fail("InvalidParameterException",
           "Attribute name '" + name +
               "' must be 1-128 letters, numbers, hyphens, underscores, slashes or periods");
    }
    if (auto value = OptString(attribute, "value")) {
      if (value->empty() || value->size() > 128 ||
          !std::all_of(value->begin(), value->end(), IsValueChar) || value->front() == ' ' ||
          value->back() == ' ') {
        Fail("InvalidParameterException",
             "Attribute '" + name + "' has an invalid value '" + std::string(*value) + "'");
      }
    }
    if (need_target) {
      std::string_view target = StringOr(attribute, "targetId", "");
      if (target.empty()) {
        Fail("InvalidParameterException", "Attribute '" + name + "' has no targetId");
      }
      // As in ECS: a short id says nothing of what it names, an ARN does.
      if (!target.starts_with("arn:") && !attribute.contains("targetType")) {
        Fail("InvalidParameterException", "Attribute '" + name +
                                              "': targetType is required when targetId is not "
                                              "an ARN");
      }
      if (StringOr(attribute, "targetType", kTargetType) != kTargetType) {
        Fail("InvalidParameterException", "targetType must be container-instance");
      }
    }
  }
}

Reply EcsApi::PutAttributes(json::object& in, const CallContext& ctx) {
  std::string cluster_name = ActiveClusterName(StringOr(in, "cluster", ""));
  const json::array& attributes = ArrayOr(in, "attributes");
  if (attributes.size() > kMaxAttributesPerCall) {
    Fail("InvalidParameterException", "At most 10 attributes can be put in one call");
  }
  ValidateAttributes(attributes, /*need_target=*/true);

  // Changes are planned on copies, so that a refusal part-way changes nothing.
  std::map<std::string, json::object> updated;  // instance id -> new record
  for (const auto& a : attributes) {
    const auto& attribute = a.as_object();
    std::string id = ContainerInstanceId(StringOr(attribute, "targetId", ""));
    if (!updated.contains(id)) {
      json::object* instance = FindInstance(cluster_name, id);
      if (instance == nullptr || InstanceRecord(*instance).is_inactive()) {
        Fail("TargetNotFoundException",
             "Could not find container instance " + id + " in cluster " + cluster_name);
      }
      updated[id] = *instance;
    }
    json::array& list = updated[id]["attributes"].as_array();
    json::object stored{{"name", attribute.at("name")}};
    if (auto* v = attribute.if_contains("value")) stored["value"] = *v;
    auto same = std::find_if(list.begin(), list.end(), [&](const json::value& e) {
      return e.as_object().at("name") == attribute.at("name");
    });
    if (same != list.end()) {
      *same = std::move(stored);
    } else {
      list.push_back(std::move(stored));
    }
    if (CustomCount(list) > kMaxCustomAttributes) {
      Fail("AttributeLimitExceededException",
           "Container instance " + id + " would have more than 10 custom attributes");
    }
  }
  store::Batch batch;
  for (const auto& [id, record] : updated) {
    batch.push_back(store::Mutation::Put(InstanceKey(cluster_name, id), json::serialize(record)));
  }
  uint64_t seq = Commit(std::move(batch));
  for (auto& [id, record] : updated) *FindInstance(cluster_name, id) = std::move(record);
  // memberOf and spread read attributes.
  for (const auto& [id, record] : updated) InstanceFactsChanged(cluster_name, id, ctx.now_millis);
  return {json::object{{"attributes", attributes}}, seq};
}

Reply EcsApi::DeleteAttributes(json::object& in, const CallContext& ctx) {
  std::string cluster_name = ActiveClusterName(StringOr(in, "cluster", ""));
  const json::array& attributes = ArrayOr(in, "attributes");
  ValidateAttributes(attributes, /*need_target=*/true);
  std::map<std::string, json::object> updated;
  for (const auto& a : attributes) {
    const auto& attribute = a.as_object();
    std::string id = ContainerInstanceId(StringOr(attribute, "targetId", ""));
    if (!updated.contains(id)) {
      json::object* instance = FindInstance(cluster_name, id);
      if (instance == nullptr) {
        Fail("TargetNotFoundException",
             "Could not find container instance " + id + " in cluster " + cluster_name);
      }
      updated[id] = *instance;
    }
    json::array& list = updated[id]["attributes"].as_array();
    EraseIf(list,
            [&](const json::value& e) { return e.as_object().at("name") == attribute.at("name"); });
  }
  store::Batch batch;
  for (const auto& [id, record] : updated) {
    batch.push_back(store::Mutation::Put(InstanceKey(cluster_name, id), json::serialize(record)));
  }
  uint64_t seq = batch.empty() ? 0 : Commit(std::move(batch));
  for (auto& [id, record] : updated) *FindInstance(cluster_name, id) = std::move(record);
  // memberOf and spread read attributes.
  for (const auto& [id, record] : updated) InstanceFactsChanged(cluster_name, id, ctx.now_millis);
  return {json::object{{"attributes", attributes}}, seq};
}

Reply EcsApi::ListAttributes(json::object& in, const CallContext&) {
  std::string cluster_name = ActiveClusterName(StringOr(in, "cluster", ""));
  if (StringOr(in, "targetType", "") != kTargetType) {
    Fail("InvalidParameterException", "targetType must be container-instance");
  }
  auto name = OptString(in, "attributeName");
  auto value = OptString(in, "attributeValue");
  if (value && !name) {
    Fail("InvalidParameterException", "attributeValue can only be given with attributeName");
  }
  Pager pager(page_tokens_, in, 100);
  auto c = instances_.find(cluster_name);
  if (c != instances_.end()) {
    for (const auto& [id, instance] : c->second) {
      if (InstanceRecord(instance).is_inactive()) continue;
      bool more = true;
      for (const auto& a : ArrayOr(instance, "attributes")) {
        const auto& attribute = a.as_object();
        std::string_view n = StringOr(attribute, "name", "");
        if (name && n != *name) continue;
        if (value && StringOr(attribute, "value", "") != *value) continue;
        json::object item{
            {"name", n}, {"targetType", kTargetType}, {"targetId", InstanceRecord(instance).arn()}};
        if (auto* v = attribute.if_contains("value")) item["value"] = *v;
        // Space sorts before every character allowed in an id or a name.
        if (!(more = pager.Add(id + " " + std::string(n), std::move(item)))) break;
      }
      if (!more) break;
    }
  }
  json::object reply;
  pager.Finish(reply, "attributes");
  return {std::move(reply)};
}

// --- tags ---

namespace {

enum class ArnKind { kCluster, kTaskDefinition, kContainerInstance, kService };

struct ParsedArn {
  ArnKind kind;
  std::string cluster;  // kCluster, kContainerInstance, kService
  std::string rest;     // task definition "family:rev", instance id, or service name
};

ParsedArn ParseResourceArn(std::string_view arn) {
  // arn:aws:ecs:REGION:ACCOUNT:TYPE/...
  size_t colons = 0, pos = 0;
  while (colons < 5 && pos != std::string_view::npos) {
    pos = arn.find(':', pos);
    if (pos != std::string_view::npos) ++pos, ++colons;
  }
  if (!arn.starts_with("arn:aws:ecs:") || colons < 5) {
    Fail("InvalidParameterException", "Invalid resource ARN: " + std::string(arn));
  }
  std::string_view resource = arn.substr(pos);
  if (resource.starts_with("cluster/")) {
    return {ArnKind::kCluster, std::string(resource.substr(8)), ""};
  }
  if (resource.starts_with("task-definition/")) {
    return {ArnKind::kTaskDefinition, "", std::string(resource.substr(16))};
  }
  if (resource.starts_with("container-instance/")) {
    std::string_view rest = resource.substr(19);
    size_t slash = rest.find('/');
    if (slash != std::string_view::npos) {
      return {ArnKind::kContainerInstance, std::string(rest.substr(0, slash)),
              std::string(rest.substr(slash + 1))};
    }
  }
  if (resource.starts_with("service/")) {
    // service/CLUSTER/NAME, or the older service/NAME (the default cluster).
    std::string_view rest = resource.substr(8);
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return {ArnKind::kService, "default", std::string(rest)};
    return {ArnKind::kService, std::string(rest.substr(0, slash)),
            std::string(rest.substr(slash + 1))};
  }
  Fail("InvalidParameterException", "Tags are not supported for resource " + std::string(arn));
}

}  // namespace

// A tagged record and the store key it lives under. Throws when absent.
struct EcsApi::TaggedResource {
  json::object* record;
  std::string key;
};

EcsApi::TaggedResource EcsApi::FindTagged(std::string_view arn) {
  ParsedArn parsed = ParseResourceArn(arn);
  switch (parsed.kind) {
    case ArnKind::kCluster: {
      json::object& cluster = ActiveCluster(parsed.cluster);
      return {&cluster, ClusterKey(parsed.cluster)};
    }
    case ArnKind::kTaskDefinition: {
      TaskDefinitionRef ref = ParseTaskDefinitionRef(parsed.rest);
      auto family = task_definitions_.find(ref.family);
      if (ref.revision && family != task_definitions_.end()) {
        if (auto it = family->second.find(*ref.revision); it != family->second.end()) {
          return {&it->second, TaskDefinitionKey(ref.family, *ref.revision)};
        }
      }
      break;
    }
    case ArnKind::kContainerInstance: {
      ActiveCluster(parsed.cluster);
      if (json::object* instance = FindInstance(parsed.cluster, parsed.rest)) {
        return {instance, InstanceKey(parsed.cluster, parsed.rest)};
      }
      break;
    }
    case ArnKind::kService: {
      ActiveCluster(parsed.cluster);
      json::object* service = FindService(parsed.cluster, parsed.rest);
      if (service != nullptr && ServiceStatus(parsed.cluster, *service) != kInactive) {
        return {service, ServiceKey(parsed.cluster, parsed.rest)};
      }
      break;
    }
  }
  Fail("ResourceNotFoundException",
       "The specified resource could not be found: " + std::string(arn));
}

Reply EcsApi::TagResource(json::object& in, const CallContext&) {
  TaggedResource target = FindTagged(StringOr(in, "resourceArn", ""));
  json::object updated = *target.record;
  json::array& tags = updated["tags"].as_array();
  MergeTags(tags, ArrayOr(in, "tags"));
  ValidateTags(tags);
  uint64_t seq = Commit({store::Mutation::Put(target.key, json::serialize(updated))});
  *target.record = std::move(updated);
  return {json::object{}, seq};
}

Reply EcsApi::UntagResource(json::object& in, const CallContext&) {
  TaggedResource target = FindTagged(StringOr(in, "resourceArn", ""));
  json::object updated = *target.record;
  json::array& tags = updated["tags"].as_array();
  for (const auto& key : ArrayOr(in, "tagKeys")) {
    EraseIf(tags, [&](const json::value& t) { return t.as_object().at("key") == key; });
  }
  uint64_t seq = Commit({store::Mutation::Put(target.key, json::serialize(updated))});
  *target.record = std::move(updated);
  return {json::object{}, seq};
}

Reply EcsApi::ListTagsForResource(json::object& in, const CallContext&) {
  TaggedResource target = FindTagged(StringOr(in, "resourceArn", ""));
  return {json::object{{"tags", target.record->at("tags")}}};
}

}  // namespace berth::server::api
