// libFuzzer target: what a pull reads from a registry: manifests and
// indexes (with the Content-Type the registry sent), the image config, and
// the cache's image record. Input: "<Content-Type>\n<document>"; the
// document is read as all three.
//
// Checked: every descriptor of an accepted manifest has a sha256 digest and
// a size; an image manifest's layers are unpackable media types; the
// platform chosen from an index is one of its entries; an image record
// written back reads the same.
#include "agent/image/image_manifest.h"
#include "common/fuzz_testing.h"

namespace {

using namespace berth::agent;

void CheckDescriptor(const Descriptor& d) {
  BERTH_FUZZ_CHECK(IsSha256Digest(d.digest) && d.size >= 0);
}

void CheckManifest(const Manifest& m) {
  for (const Descriptor& d : m.manifests) CheckDescriptor(d);
  if (m.is_index) {
    auto chosen = SelectPlatform(m, "linux", "amd64");
    if (chosen.ok()) BERTH_FUZZ_CHECK(chosen->os == "linux" && chosen->architecture == "amd64");
    return;
  }
  CheckDescriptor(m.config);
  for (const Descriptor& d : m.layers) {
    CheckDescriptor(d);
    BERTH_FUZZ_CHECK(IsLayerMediaType(d.media_type));
  }
}

bool SameConfig(const ImageConfig& a, const ImageConfig& b) {
  return a.entrypoint == b.entrypoint && a.cmd == b.cmd && a.env == b.env &&
         a.working_dir == b.working_dir && a.user == b.user;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [content_type, document] = berth::fuzz::SplitLine(berth::fuzz::AsText(data, size));
  if (auto manifest = ParseManifest(document, content_type); manifest.ok())
    CheckManifest(*manifest);
  (void)ParseImageConfig(document);
  if (auto record = ParseImageRecord(document); record.ok()) {
    auto again = ParseImageRecord(SerializeImageRecord(*record));
    BERTH_FUZZ_CHECK(again.ok());
    BERTH_FUZZ_CHECK(again->manifest_digest == record->manifest_digest &&
                     again->config_digest == record->config_digest &&
                     again->layers == record->layers && SameConfig(again->config, record->config));
  }
  return 0;
}
