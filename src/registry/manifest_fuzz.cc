// libFuzzer target: image manifests and indexes as a client pushes them
// (PUT /v2/<name>/manifests/<reference>, ECR PutImage). Input:
// "<Content-Type>\n<manifest bytes>"; the first line may be empty.
//
// Checked: a refusal is MANIFEST_INVALID or too large; an accepted manifest
// has a supported media type, is an index exactly when that type is one, and
// every descriptor it refers to names a well-formed digest.
#include "common/fuzz_testing.h"
#include "registry/digest.h"
#include "registry/manifest.h"

namespace {

using namespace berth::registry;

void CheckDescriptor(const ManifestDescriptor& d) {
  BERTH_FUZZ_CHECK(Digest::Parse(d.digest).has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [content_type, bytes] = berth::fuzz::SplitLine(berth::fuzz::AsText(data, size));
  auto parsed = ParseManifest(bytes, content_type);
  if (!parsed.ok()) {
    BERTH_FUZZ_CHECK(parsed.error().kind == RegistryErrorKind::kManifestInvalid ||
                     parsed.error().kind == RegistryErrorKind::kManifestTooLarge);
    return 0;
  }
  BERTH_FUZZ_CHECK(IsSupportedManifestType(parsed->media_type));
  BERTH_FUZZ_CHECK(parsed->is_index == IsIndexType(parsed->media_type));
  if (parsed->config) CheckDescriptor(*parsed->config);
  if (parsed->subject) CheckDescriptor(*parsed->subject);
  for (const auto& d : parsed->layers) CheckDescriptor(d);
  for (const auto& d : parsed->manifests) CheckDescriptor(d);
  return 0;
}
