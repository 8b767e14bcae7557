#include "registry/tag_mutability.h"

#include <algorithm>

#include "registry/names.h"

namespace berth::registry {

namespace {

bool WithExclusion(std::string_view mutability) {
  return mutability == "IMMUTABLE_WITH_EXCLUSION" || mutability == "MUTABLE_WITH_EXCLUSION";
}

}  // namespace

bool TagIsImmutable(std::string_view mutability, const std::vector<std::string>& exclusions,
                    std::string_view tag) {
  const bool excluded = std::any_of(exclusions.begin(), exclusions.end(),
                                    [&](const std::string& f) { return WildcardMatches(f, tag); });
  if (mutability == "IMMUTABLE") return true;
  if (mutability == "IMMUTABLE_WITH_EXCLUSION") return !excluded;
  if (mutability == "MUTABLE_WITH_EXCLUSION") return excluded;
  return false;
}

std::optional<std::string> TagMutabilityProblem(std::string_view mutability,
                                                const std::vector<std::string>& exclusions) {
  if (WithExclusion(mutability) && exclusions.empty()) {
    return "Invalid parameter at 'imageTagMutabilityExclusionFilters': " + std::string(mutability) +
           " needs at least one exclusion filter";
  }
  if (!WithExclusion(mutability) && !exclusions.empty()) {
    return "Invalid parameter at 'imageTagMutabilityExclusionFilters': exclusion filters apply "
           "only to IMMUTABLE_WITH_EXCLUSION and MUTABLE_WITH_EXCLUSION, not to " +
           std::string(mutability);
  }
  return std::nullopt;
}

}  // namespace berth::registry
