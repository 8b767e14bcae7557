// The grammars of repository names, tags and references, shared by the OCI
// distribution API and the ECR API so that both accept the same names.
#pragma once

#include <cstddef>
#include <string_view>

namespace berth::registry {

// ECR limits names to 2-256 characters; every repository here is an ECR
// repository, so the OCI face keeps to the same bounds.
inline constexpr size_t kMinRepositoryNameLength = 2;
inline constexpr size_t kMaxRepositoryNameLength = 256;

// The OCI distribution grammar:
//   [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
// within the length bounds. It admits no "..", no empty component, no
// leading or trailing '/', so a name is safe in paths and store keys.
bool IsValidRepositoryName(std::string_view name);

// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool IsValidTag(std::string_view tag);

// Whether pattern, with '*' matching any run of characters (also none) and
// nothing else special, matches the whole of text: ECR's tag wildcards
// (lifecycle rules' tagPatternList, tag mutability exclusion filters).
bool WildcardMatches(std::string_view pattern, std::string_view text);

// A reference that names a digest (contains ':') rather than a tag; whether
// the digest is well-formed is Digest::Parse's business.
inline bool IsDigestReference(std::string_view reference) {
  return reference.find(':') != std::string_view::npos;
}

}  // namespace berth::registry
