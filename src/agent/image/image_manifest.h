// OCI / Docker schema 2 manifests, indexes and image configs, parsed with
// Boost.JSON. The agent does not link the registry library, so it reads
// these documents itself, and only the fields a pull needs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/image/image_config.h"
#include "common/status.h"

namespace berth::agent {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
// Sent as Accept with every manifest request.
inline constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<64 hex>", checked
  int64_t size = 0;
  std::string os;  // platform, for index entries
  std::string architecture;
  std::string variant;
};

struct Manifest {
  bool is_index = false;
  std::vector<Descriptor> manifests;  // an index's entries
  Descriptor config;                  // an image manifest's config and layers
  std::vector<Descriptor> layers;
};

// "sha256:" and 64 lowercase hex digits: the only digest berth pulls by.
bool IsSha256Digest(std::string_view digest);

// The media type comes from Content-Type, else from the document's own
// "mediaType". Schema 1 and unknown types are refused.
StatusOr<Manifest> ParseManifest(std::string_view body, std::string_view content_type);

// The index entry for os/architecture; the error lists the platforms there are.
StatusOr<Descriptor> SelectPlatform(const Manifest& index, std::string_view os,
                                    std::string_view architecture);

// Whether a layer of this media type can be unpacked (tar, gzip, zstd).
bool IsLayerMediaType(std::string_view media_type);

StatusOr<ImageConfig> ParseImageConfig(std::string_view body);

// The record of a pulled image in images/sha256/<hex>.json.
struct ImageRecord {
  std::string manifest_digest;
  std::string config_digest;
  ImageConfig config;
  std::vector<std::string> layers;  // digests, lowest first
};
std::string SerializeImageRecord(const ImageRecord& record);
StatusOr<ImageRecord> ParseImageRecord(std::string_view body);

}  // namespace berth::agent
