// libFuzzer target: RegisterTaskDefinition bodies through the whole path
// the ECS API takes them: the service model's validation, the ECS rules
// (ValidateTaskDefinition, which also reads task cpu / memory strings), and
// the fields computed for the stored definition.
//
// Checked: refusals are ClientExceptions with a message; every attribute a
// definition requires is one an agent can advertise (KnownRequiredAttributes
// or a log driver's), and compatibilities always holds EC2 and EXTERNAL.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/fuzz_testing.h"
#include "model/json_util.h"
#include "model/service_model.h"
#include "model/task_definition.h"

namespace {

namespace json = boost::json;
using namespace berth::model;

bool IsKnownAttribute(std::string_view name) {
  auto known = KnownRequiredAttributes();
  return std::find(known.begin(), known.end(), name) != known.end() ||
         name.starts_with("com.amazonaws.ecs.capability.logging-driver.");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  boost::system::error_code ec;
  json::value input = json::parse(berth::fuzz::AsText(data, size), ec);
  if (ec) return 0;
  if (ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", input)) return 0;
  if (auto error = ValidateTaskDefinition(input.as_object())) {
    BERTH_FUZZ_CHECK(error->type == "ClientException" && !error->message.empty());
    return 0;
  }

  json::object taskdef = input.as_object();
  ComputeTaskDefinitionFields(taskdef);
  BERTH_FUZZ_CHECK(taskdef.contains("requiresAttributes"));
  for (const json::value& attribute : ArrayOr(taskdef, "requiresAttributes")) {
    BERTH_FUZZ_CHECK(IsKnownAttribute(StringOr(AsObject(attribute), "name", "")));
  }
  BERTH_FUZZ_CHECK(ListContains(taskdef, "compatibilities", "EC2"));
  BERTH_FUZZ_CHECK(ListContains(taskdef, "compatibilities", "EXTERNAL"));
  return 0;
}
