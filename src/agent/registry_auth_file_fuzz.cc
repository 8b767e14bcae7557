// libFuzzer target: Docker's config.json as the agent reads it for
// --registry-auth-file (registry_auth_file.h).
//
// Checked: no registry key of an accepted file keeps a scheme or a path.
#include "agent/registry_auth_file.h"
#include "common/fuzz_testing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto auths = berth::agent::ParseRegistryAuths(berth::fuzz::AsText(data, size));
  if (!auths.ok()) return 0;
  for (const auto& [registry, credentials] : *auths) {
    BERTH_FUZZ_CHECK(registry.find('/') == std::string::npos);
  }
  return 0;
}
