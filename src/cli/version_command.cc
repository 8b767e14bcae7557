// `berth version`: berth's own version and the service models it validates
// requests against (what a newer SDK may send beyond them is kept, see the
// README).
#include <cstdio>
#include <string>

#include "cli/verbs.h"
#include "model/service_model.h"

namespace berth::cli {

namespace {
constexpr const char* kVersion = "0.1.0";
}  // namespace

Verb AddVersionCommand(CLI::App& parent) {
  auto* cmd = parent.add_subcommand(
      "version", "print the version and the ECS / ECR models requests are checked against");
  return {
      "version", cmd, []() -> StatusOr<int> {
        std::printf("berth %s\n", kVersion);
        std::printf("ecs model: %s\n", std::string(model::ServiceModel::Ecs().version()).c_str());
        std::printf("ecr model: %s\n", std::string(model::ServiceModel::Ecr().version()).c_str());
        return 0;
      }};
}

}  // namespace berth::cli
