// libFuzzer target: what the OCI distribution API reads from a request
// besides its body: the path (percent-decoded, then routed, with the
// repository name, tag and digest grammars) and the Range and Content-Range
// headers. Input: "<path>\n<Range>\n<Content-Range>\n<blob size>".
//
// Checked: a partial range lies inside the blob; a chunk range is ordered;
// a routed name and reference are substrings of the decoded path, and a
// name that passes the grammar has no empty or dot-dot component.
#include <charconv>

#include "common/fuzz_testing.h"
#include "http/query_string.h"
#include "registry/digest.h"
#include "registry/distribution_routes.h"
#include "registry/names.h"

namespace {

using namespace berth::registry;

uint64_t BlobSize(std::string_view text) {
  uint64_t size = 0;
  std::from_chars(text.data(), text.data() + text.size(), size);
  return size;
}

void CheckRoute(std::string_view raw_path) {
  auto path = berth::http::PercentDecode(raw_path);
  if (!path) return;
  DistributionRoute route = ParseRoute(*path);
  BERTH_FUZZ_CHECK(path->find(route.name) != std::string::npos);
  BERTH_FUZZ_CHECK(path->find(route.reference) != std::string::npos);
  if (IsValidRepositoryName(route.name)) {
    BERTH_FUZZ_CHECK(route.name.find("..") == std::string::npos);
    BERTH_FUZZ_CHECK(route.name.find("//") == std::string::npos);
    BERTH_FUZZ_CHECK(route.name.front() != '/' && route.name.back() != '/');
  }
  if (IsDigestReference(route.reference)) {
    if (auto digest = Digest::Parse(route.reference)) {
      BERTH_FUZZ_CHECK(digest->ToString() == route.reference);
    }
  } else {
    (void)IsValidTag(route.reference);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [path, rest] = berth::fuzz::SplitLine(berth::fuzz::AsText(data, size));
  auto [range_header, rest2] = berth::fuzz::SplitLine(rest);
  auto [content_range, size_text] = berth::fuzz::SplitLine(rest2);
  CheckRoute(path);

  uint64_t blob_size = BlobSize(size_text);
  RangeRequest range = ParseRange(range_header, blob_size);
  if (range.kind == RangeRequest::Kind::kPartial) {
    BERTH_FUZZ_CHECK(range.first <= range.last && range.last < blob_size);
  }
  if (auto chunk = ParseContentRange(content_range)) {
    BERTH_FUZZ_CHECK(chunk->first <= chunk->last);
  }
  return 0;
}
