// `berth taskdef ls|show|register FILE`: task definitions, over
// ListTaskDefinitions, DescribeTaskDefinition and RegisterTaskDefinition.
#include <boost/json/parse.hpp>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/client_verb.h"
#include "cli/views.h"
#include "model/json_util.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

Status ListDefinitions(awsjson::Client& client, const ClientVerbOptions& options,
                       const std::string& family) {
  json::object input;
  if (!family.empty()) input["familyPrefix"] = family;
  auto arns = ListAll(client, awsjson::kEcsTargetPrefix, "ListTaskDefinitions", input,
                      "taskDefinitionArns");
  if (!arns.ok()) return arns.status();
  return PrintReply(options, json::object{{"taskDefinitionArns", *arns}},
                    [&] { PrintTable(TaskDefinitionRows(*arns)); });
}

// The definition's head and its containers.
void PrintDefinition(const json::object& definition) {
  Print(FormatFields(TaskDefinitionFields(definition)));
  Print("\n");
  PrintTable(ContainerDefinitionRows(definition));
}

Status ShowDefinition(awsjson::Client& client, const ClientVerbOptions& options,
                      const std::string& name) {
  auto reply = CallEcs(client, "DescribeTaskDefinition", json::object{{"taskDefinition", name}});
  if (!reply.ok()) return reply.status();
  return PrintReply(options, *reply, [&] {
    if (const json::object* definition = model::ObjectAt(*reply, "taskDefinition")) {
      PrintDefinition(*definition);
    }
  });
}

Status RegisterDefinition(awsjson::Client& client, const ClientVerbOptions& options,
                          const std::string& file) {
  std::ifstream in(file);
  if (!in) return NotFound(file + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value input = json::parse(text.str(), ec);
  if (ec) return InvalidArgument(file + ": not JSON: " + ec.message());
  auto reply = CallEcs(client, "RegisterTaskDefinition", input);
  if (!reply.ok()) return reply.status().WithContext(file);
  return PrintReply(options, *reply, [&] {
    if (const json::object* definition = model::ObjectAt(*reply, "taskDefinition")) {
      PrintDefinition(*definition);
    }
  });
}

}  // namespace

std::vector<Verb> AddTaskDefinitionCommands(CLI::App& parent) {
  auto* noun = AddNoun(parent, "taskdef", "list, show and register task definitions");
  std::vector<Verb> verbs;

  auto ls = std::make_shared<ClientVerbOptions>();
  auto family = std::make_shared<std::string>();
  Verb list = AddClientVerb(
      *noun, "ls", "list task definitions (FAMILY: those of one family)",
      "berth taskdef ls bert-training", ls,
      [ls, family](awsjson::Client& client) { return ListDefinitions(client, *ls, *family); },
      false);
  list.command->add_option("family", *family, "only this family");
  verbs.push_back(std::move(list));

  auto show = std::make_shared<ClientVerbOptions>();
  auto name = std::make_shared<std::string>();
  Verb describe = AddClientVerb(
      *noun, "show", "show a task definition and its containers",
      "berth taskdef show bert-training:3", show,
      [show, name](awsjson::Client& client) { return ShowDefinition(client, *show, *name); },
      false);
  describe.command->add_option("taskdef", *name, "FAMILY, FAMILY:REVISION or ARN")->required();
  verbs.push_back(std::move(describe));

  auto reg = std::make_shared<ClientVerbOptions>();
  auto file = std::make_shared<std::string>();
  Verb add = AddClientVerb(
      *noun, "register", "register a task definition from a JSON file (as aws ecs takes)",
      "berth taskdef register bert-training.json", reg,
      [reg, file](awsjson::Client& client) { return RegisterDefinition(client, *reg, *file); },
      false);
  add.command->add_option("file", *file, "RegisterTaskDefinition's input as JSON")->required();
  verbs.push_back(std::move(add));
  return verbs;
}

}  // namespace berth::cli
