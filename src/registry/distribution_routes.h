// Turning a /v2/ request target into what it asks for. Pure functions,
// free of HTTP and state, so the grammar is tested on its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace berth::registry {

struct DistributionRoute {
  enum class Kind {
    kBase,         // /v2/
    kCatalog,      // /v2/_catalog
    kTags,         // /v2/<name>/tags/list
    kManifest,     // /v2/<name>/manifests/<reference>
    kBlob,         // /v2/<name>/blobs/<digest>
    kUploadStart,  // /v2/<name>/blobs/uploads/
    kUpload,       // /v2/<name>/blobs/uploads/<id>
    kReferrers,    // /v2/<name>/referrers/<digest>
    kUnknown,
  };
  Kind kind = Kind::kUnknown;
  std::string name;       // repository, not yet checked against the grammar
  std::string reference;  // tag or digest, digest, upload id or subject digest
};

// path is already percent-decoded, so that an escaped ".." is seen as one.
// The route is chosen by the last components, because names contain '/'.
DistributionRoute ParseRoute(std::string_view path);

// Escapes what a query value must not carry raw (for Link headers).
std::string QueryEscape(std::string_view value);

// A Range header of a blob GET against a blob of size bytes. Only a single
// range is honoured; anything else is served whole, as RFC 9110 allows.
struct RangeRequest {
  enum class Kind { kWhole, kPartial, kUnsatisfiable };
  Kind kind = Kind::kWhole;
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};
RangeRequest ParseRange(std::string_view header, uint64_t size);

// The Content-Range of an upload chunk: "<first>-<last>" as the
// distribution spec writes it, also with a "bytes " or "bytes=" prefix and
// a "/<total>" suffix. nullopt when malformed or last < first.
struct ChunkRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};
std::optional<ChunkRange> ParseContentRange(std::string_view header);

}  // namespace berth::registry
