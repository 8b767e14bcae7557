// How RegistryState's records are kept in the store: keys and JSON values.
// Internal to RegistryState.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "registry/registry_state.h"

namespace berth::registry::records {

inline constexpr std::string_view kRepositoriesPrefix = "ecr/repos/";
inline constexpr std::string_view kImagesPrefix = "ecr/images/";
inline constexpr std::string_view kTagsPrefix = "ecr/tags/";
inline constexpr std::string_view kLinksPrefix = "ecr/links/";

std::string RepositoryKey(std::string_view name);
std::string ImageKey(std::string_view repository, std::string_view digest);
std::string TagKey(std::string_view repository, std::string_view tag);
std::string LinkKey(std::string_view repository, std::string_view digest);

// Splits the part of an image, tag or link key after its prefix at the '@'
// into repository and digest or tag. False when there is no '@'.
bool SplitKey(std::string_view rest, std::string_view& repository, std::string_view& second);

// The stored form keeps only what cannot be derived: the ARN, registry id
// and URI follow the server's scope and address, which may change.
std::string EncodeRepository(const Repository& repository);
Status DecodeRepository(std::string_view value, Repository& out);

// Without repository, digest and tags, which the keys carry.
std::string EncodeImage(const Image& image);
Status DecodeImage(std::string_view value, Image& out);

}  // namespace berth::registry::records
