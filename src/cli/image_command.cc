// `berth image ls [REPOSITORY]`: the registry's images, tag and digest per
// repository (ECR DescribeRepositories and ListImages).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/client_verb.h"
#include "cli/views.h"
#include "model/json_util.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

Status ListImages(awsjson::Client& client, const ClientVerbOptions& options,
                  const std::string& repository) {
  std::vector<std::string> names;
  if (!repository.empty()) {
    names.push_back(repository);
  } else {
    auto repositories = ListAll(client, awsjson::kEcrTargetPrefix, "DescribeRepositories",
                                json::object{}, "repositories");
    if (!repositories.ok()) return repositories.status();
    for (const auto& r : *repositories) {
      names.emplace_back(model::StringOr(model::AsObject(r), "repositoryName", ""));
    }
  }
  std::vector<std::pair<std::string, json::array>> images;
  json::array as_json;
  for (const auto& name : names) {
    auto ids = ListAll(client, awsjson::kEcrTargetPrefix, "ListImages",
                       json::object{{"repositoryName", name}}, "imageIds");
    if (!ids.ok()) return ids.status();
    as_json.push_back(json::object{{"repositoryName", name}, {"imageIds", *ids}});
    images.emplace_back(name, std::move(*ids));
  }
  return PrintReply(options, json::object{{"repositories", std::move(as_json)}},
                    [&] { PrintTable(ImageRows(images)); });
}

}  // namespace

std::vector<Verb> AddImageCommands(CLI::App& parent) {
  auto* noun = AddNoun(parent, "image", "list the registry's images");
  auto ls = std::make_shared<ClientVerbOptions>();
  auto repository = std::make_shared<std::string>();
  Verb list = AddClientVerb(
      *noun, "ls", "list images: tag and digest, per repository", "berth image ls bert", ls,
      [ls, repository](awsjson::Client& client) { return ListImages(client, *ls, *repository); },
      false);
  list.command->add_option("repository", *repository, "only this repository");
  return {std::move(list)};
}

}  // namespace berth::cli
