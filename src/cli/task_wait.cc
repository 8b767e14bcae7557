#include "cli/task_wait.h"

#include "model/json_util.h"

namespace berth::cli {

namespace json = boost::json;

std::string EssentialContainer(const json::object& definition) {
  for (const auto& c : model::ArrayOr(definition, "containerDefinitions")) {
    if (!c.is_object()) continue;
    const json::object& container = c.get_object();
    const json::value* essential = container.if_contains("essential");
    if (essential == nullptr || !essential->is_bool() || essential->get_bool()) {
      return std::string(model::StringOr(container, "name", ""));
    }
  }
  return "";
}

TaskExit ExitOf(const json::object& task, const std::string& container) {
  TaskExit exit;
  exit.reason = std::string(model::StringOr(task, "stoppedReason", ""));
  for (const auto& c : model::ArrayOr(task, "containers")) {
    if (!c.is_object() || model::StringOr(c.get_object(), "name", "") != container) continue;
    const json::value* code = c.get_object().if_contains("exitCode");
    if (code != nullptr && code->is_int64()) exit.code = static_cast<int>(code->get_int64());
  }
  return exit;
}

}  // namespace berth::cli
