#include "agent/assignments.h"

#include <boost/json/parse.hpp>

#include "agent/state_files.h"

namespace berth::agent {

namespace json = boost::json;

namespace {

constexpr size_t kMaxNameLength = 255;

bool IsName(std::string_view text) {
  if (text.empty() || text.size() > kMaxNameLength) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The list at key (absent is an empty one when optional) whose elements are
// all objects, or nullptr.
const json::array* ObjectList(const json::object& o, std::string_view key, bool optional) {
  static const json::array kEmpty;
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return optional ? &kEmpty : nullptr;
  if (!v->is_array()) return nullptr;
  for (const json::value& item : v->get_array()) {
    if (!item.is_object()) return nullptr;
  }
  return &v->get_array();
}

Status CheckNamedObjects(const json::object& o, std::string_view key, bool optional) {
  const json::array* list = ObjectList(o, key, optional);
  if (list == nullptr) return InvalidArgument(std::string(key) + " is not a list of objects");
  for (const json::value& item : *list) {
    std::string_view name = StringField(item.get_object(), "name");
    if (!IsName(name)) {
      return InvalidArgument(std::string(key) + ": name \"" + std::string(name.substr(0, 64)) +
                             "\" is not 1 to 255 of [A-Za-z0-9_-]");
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckAssignedTask(const json::object& task) {
  std::string_view arn = StringField(task, "taskArn");
  std::string_view id = arn.substr(arn.rfind('/') + 1);
  if (!IsName(id)) return InvalidArgument("taskArn \"" + std::string(arn) + "\" names no task id");
  auto refuse = [&](const Status& why) { return why.WithContext("task " + std::string(id)); };

  const json::value* definition = task.if_contains("taskDefinition");
  if (definition == nullptr || !definition->is_object()) {
    return refuse(InvalidArgument("taskDefinition is not an object"));
  }
  BERTH_RETURN_IF_ERROR(
      refuse(CheckNamedObjects(definition->get_object(), "containerDefinitions", false)));
  BERTH_RETURN_IF_ERROR(refuse(CheckNamedObjects(definition->get_object(), "volumes", true)));
  if (ObjectList(task, "containers", true) == nullptr) {
    return refuse(InvalidArgument("containers is not a list of objects"));
  }
  if (const json::value* overrides = task.if_contains("overrides"); overrides != nullptr) {
    if (!overrides->is_object() ||
        ObjectList(overrides->get_object(), "containerOverrides", true) == nullptr) {
      return refuse(InvalidArgument("overrides.containerOverrides is not a list of objects"));
    }
  }
  return Status::Ok();
}

StatusOr<Assignments> ParseAssignments(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return InvalidArgument("assignments: not a JSON object");
  json::object& o = v.get_object();
  const json::value* version = o.if_contains("version");
  json::value* tasks = o.if_contains("tasks");
  if (version == nullptr || !version->is_string() || tasks == nullptr || !tasks->is_array()) {
    return InvalidArgument("assignments: want {\"version\": string, \"tasks\": [...]}");
  }
  Assignments out;
  out.version = std::string(version->get_string());
  for (json::value& task : tasks->get_array()) {
    if (!task.is_object()) return InvalidArgument("assignments: a task is not an object");
    BERTH_RETURN_IF_ERROR(CheckAssignedTask(task.get_object()).WithContext("assignments"));
    out.tasks.push_back(std::move(task.get_object()));
  }
  if (const json::value* unchanged = o.if_contains("unchangedTaskArns")) {
    if (!unchanged->is_array())
      return InvalidArgument("assignments: unchangedTaskArns is not a list");
    for (const json::value& arn : unchanged->get_array()) {
      if (!arn.is_string())
        return InvalidArgument("assignments: an unchanged task ARN is not a string");
      out.unchanged_task_arns.emplace_back(arn.get_string());
    }
  }
  if (json::value* credentials = o.if_contains("credentials")) {
    if (!credentials->is_object())
      return InvalidArgument("assignments: credentials is not an object");
    for (const auto& [arn, roles] : credentials->get_object()) {
      bool ok = roles.is_object();
      if (ok) {
        for (const auto& [member, document] : roles.get_object()) ok &= document.is_object();
      }
      if (!ok) {
        return InvalidArgument("assignments: credentials of " + std::string(arn) +
                               " are not objects");
      }
    }
    out.credentials = std::move(credentials->get_object());
  }
  return out;
}

}  // namespace berth::agent
