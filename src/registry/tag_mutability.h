// ECR's image tag mutability: whether a push may move a tag that already
// points at another image.
//
// MUTABLE and IMMUTABLE apply to every tag. The WITH_EXCLUSION settings
// (2025) carry 1-5 WILDCARD filters ('*' matches any run of characters,
// nothing else is special): IMMUTABLE_WITH_EXCLUSION keeps every tag fixed
// except those matching a filter ("latest", "dev-*"), MUTABLE_WITH_EXCLUSION
// lets every tag move except those matching a filter ("release-*").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::registry {

// Whether tag may not move in a repository with this setting.
bool TagIsImmutable(std::string_view mutability, const std::vector<std::string>& exclusions,
                    std::string_view tag);

// Why a setting is refused, as ECR words it; nullopt when it is well formed:
// the WITH_EXCLUSION settings need filters, the others take none.
std::optional<std::string> TagMutabilityProblem(std::string_view mutability,
                                                const std::vector<std::string>& exclusions);

}  // namespace berth::registry
