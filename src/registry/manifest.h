// Reading image manifests and indexes: enough of their structure to check
// them and to know what they refer to. The bytes themselves are never
// re-serialised; they are stored and served exactly as pushed, so their
// digest stays what the client computed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/registry_error.h"

namespace berth::registry {

// Larger manifests are refused (413), as the distribution spec suggests a
// registry may; 4 MiB is what common registries accept.
inline constexpr size_t kMaxManifestBytes = 4 << 20;

inline constexpr std::string_view kOciManifestType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndexType = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifestType =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestListType =
    "application/vnd.docker.distribution.manifest.list.v2+json";

bool IsSupportedManifestType(std::string_view media_type);
bool IsIndexType(std::string_view media_type);

struct ManifestDescriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
  std::string artifact_type;
  std::map<std::string, std::string> annotations;
  // Foreign / non-distributable layers carry urls and are fetched from
  // there, not from this registry; they need not be present here.
  bool external = false;
};

struct ParsedManifest {
  std::string media_type;  // resolved: body mediaType, else Content-Type, else inferred
  bool is_index = false;
  std::optional<ManifestDescriptor> config;   // image manifests
  std::vector<ManifestDescriptor> layers;     // image manifests
  std::vector<ManifestDescriptor> manifests;  // indexes
  std::optional<ManifestDescriptor> subject;
  std::map<std::string, std::string> annotations;
  // As the referrers API reports it: the artifactType field, else (image
  // manifests only) config.mediaType.
  std::string artifact_type;
};

// The media type part of a Content-Type value (parameters and surrounding
// blanks dropped, lowercased).
std::string BaseMediaType(std::string_view content_type);

// Parses and checks a manifest of a supported type. content_type is what the
// client declared (may be empty); when the body also has a mediaType the two
// must agree. kManifestInvalid with the reason otherwise; kManifestTooLarge
// over kMaxManifestBytes.
RegistryOr<ParsedManifest> ParseManifest(std::string_view bytes, std::string_view content_type);

}  // namespace berth::registry
