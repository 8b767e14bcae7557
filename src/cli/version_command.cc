// `berth version`.
#include <cstdio>

#include "cli/verbs.h"

namespace berth::cli {

namespace {
constexpr const char* kVersion = "0.1.0";
}  // namespace

Verb AddVersionCommand(CLI::App& parent) {
  auto* cmd = parent.add_subcommand("version", "print the version");
  return {"version", cmd, []() -> StatusOr<int> {
            std::printf("berth %s\n", kVersion);
            return 0;
          }};
}

}  // namespace berth::cli
