// libFuzzer target: image references as task definitions name them
// ("host[:port]/repository[:tag][@sha256:...]").
//
// Checked: an accepted reference has a registry, a repository and a tag or
// digest, and its ToString parses back to the same parts.
#include "agent/image/image_store.h"
#include "common/fuzz_testing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using berth::agent::ImageReference;
  auto reference = ImageReference::Parse(berth::fuzz::AsText(data, size));
  if (!reference.ok()) return 0;
  BERTH_FUZZ_CHECK(!reference->registry.empty() && !reference->repository.empty());
  BERTH_FUZZ_CHECK(!reference->tag.empty() || !reference->digest.empty());
  auto again = ImageReference::Parse(reference->ToString());
  BERTH_FUZZ_CHECK(again.ok());
  BERTH_FUZZ_CHECK(again->registry == reference->registry &&
                   again->repository == reference->repository && again->tag == reference->tag &&
                   again->digest == reference->digest);
  return 0;
}
