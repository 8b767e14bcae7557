#include "registry/distribution_routes.h"

#include <charconv>
#include <vector>

namespace berth::registry {

namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

std::string Join(const std::vector<std::string_view>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out.push_back('/');
    out.append(parts[i]);
  }
  return out;
}

// A whole, unsigned decimal number.
std::optional<uint64_t> Number(std::string_view text) {
  uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

DistributionRoute ParseRoute(std::string_view path) {
  using Kind = DistributionRoute::Kind;
  DistributionRoute route;
  if (path == "/v2" || path == "/v2/") {
    route.kind = Kind::kBase;
    return route;
  }
  if (!path.starts_with("/v2/")) return route;
  std::vector<std::string_view> parts = Split(path.substr(4));
  size_t n = parts.size();
  if (n == 1 && parts[0] == "_catalog") {
    route.kind = Kind::kCatalog;
    return route;
  }
  auto set = [&](Kind kind, size_t name_parts, std::string_view reference) {
    if (name_parts == 0) return;
    route.kind = kind;
    route.name = Join(parts, name_parts);
    route.reference = std::string(reference);
  };
  // Most specific first: ".../blobs/uploads/<id>" before ".../blobs/<digest>".
  if (n >= 3 && parts[n - 3] == "blobs" && parts[n - 2] == "uploads") {
    set(parts[n - 1].empty() ? Kind::kUploadStart : Kind::kUpload, n - 3, parts[n - 1]);
  } else if (n >= 3 && parts[n - 2] == "blobs" && parts[n - 1] == "uploads") {
    set(Kind::kUploadStart, n - 2, "");
  } else if (n >= 3 && parts[n - 2] == "tags" && parts[n - 1] == "list") {
    set(Kind::kTags, n - 2, "");
  } else if (n >= 2 && parts[n - 2] == "manifests" && !parts[n - 1].empty()) {
    set(Kind::kManifest, n - 2, parts[n - 1]);
  } else if (n >= 2 && parts[n - 2] == "blobs" && !parts[n - 1].empty()) {
    set(Kind::kBlob, n - 2, parts[n - 1]);
  } else if (n >= 2 && parts[n - 2] == "referrers" && !parts[n - 1].empty()) {
    set(Kind::kReferrers, n - 2, parts[n - 1]);
  }
  return route;
}

std::string QueryEscape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == ':';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

RangeRequest ParseRange(std::string_view header, uint64_t size) {
  using Kind = RangeRequest::Kind;
  RangeRequest whole;
  header = Trim(header);
  if (!header.starts_with("bytes=")) return whole;
  std::string_view spec = Trim(header.substr(6));
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos) return whole;
  std::string_view first_text = Trim(spec.substr(0, dash));
  std::string_view last_text = Trim(spec.substr(dash + 1));
  RangeRequest range{Kind::kPartial, 0, 0};
  if (first_text.empty()) {
    // A suffix: the last n bytes.
    auto n = Number(last_text);
    if (!n) return whole;
    if (*n == 0 || size == 0) return {Kind::kUnsatisfiable, 0, 0};
    range.first = size > *n ? size - *n : 0;
    range.last = size - 1;
    return range;
  }
  auto first = Number(first_text);
  if (!first) return whole;
  std::optional<uint64_t> last;
  if (!last_text.empty()) {
    last = Number(last_text);
    if (!last || *last < *first) return whole;
  }
  if (*first >= size) return {Kind::kUnsatisfiable, 0, 0};
  range.first = *first;
  range.last = last && *last < size ? *last : size - 1;
  return range;
}

std::optional<ChunkRange> ParseContentRange(std::string_view header) {
  header = Trim(header);
  if (header.starts_with("bytes=")) {
    header.remove_prefix(6);
  } else if (header.starts_with("bytes ")) {
    header.remove_prefix(6);
  }
  header = Trim(header);
  header = header.substr(0, header.find('/'));
  size_t dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto first = Number(Trim(header.substr(0, dash)));
  auto last = Number(Trim(header.substr(dash + 1)));
  if (!first || !last || *last < *first) return std::nullopt;
  return ChunkRange{*first, *last};
}

}  // namespace berth::registry
