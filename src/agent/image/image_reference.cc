// ImageReference::Parse and ToString: the grammar of Docker's reference
// package, without its defaults (no implicit docker.io, no "library/").
#include <string>
#include <string_view>

#include "agent/image/image_store.h"

namespace berth::agent {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// A path component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool ValidComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    // A separator run: ".", "_", "__" or any number of "-".
    size_t j = i;
    while (j < c.size() && !IsLowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

bool ValidRepository(std::string_view repo) {
  if (repo.empty() || repo.size() > 255) return false;
  size_t start = 0;
  for (;;) {
    size_t slash = repo.find('/', start);
    std::string_view part =
        repo.substr(start, slash == std::string_view::npos ? repo.npos : slash - start);
    if (!ValidComponent(part)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool ValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  if (!(IsAlnum(tag[0]) || tag[0] == '_')) return false;
  for (char c : tag) {
    if (!(IsAlnum(c) || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

// host[:port] where host is a DNS name, an IPv4 address or "[v6]".
bool ValidRegistry(std::string_view r) {
  std::string_view host = r;
  std::string_view port;
  if (!r.empty() && r.front() == '[') {
    size_t close = r.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : r.substr(1, close - 1)) {
      if (!(IsHex(c) || (c >= 'A' && c <= 'F') || c == ':' || c == '.')) return false;
    }
    std::string_view rest = r.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    port = rest.substr(1);
    if (port.empty()) return false;
  } else {
    size_t colon = r.find(':');
    if (colon != std::string_view::npos) {
      host = r.substr(0, colon);
      port = r.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    if (host.front() == '.' || host.front() == '-' || host.back() == '.' || host.back() == '-') {
      return false;
    }
    for (char c : host) {
      if (!(IsAlnum(c) || c == '.' || c == '-')) return false;
    }
  }
  if (port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return port.empty() || std::stoul(std::string(port)) <= 65535;
}

}  // namespace

StatusOr<ImageReference> ImageReference::Parse(std::string_view image) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("image \"" + std::string(image) + "\": " + why);
  };
  if (image.empty()) return InvalidArgument("image name is empty");
  if (image.size() > 1024) return bad("longer than 1024 characters");

  size_t slash = image.find('/');
  std::string_view first = slash == std::string_view::npos ? image : image.substr(0, slash);
  bool names_registry =
      slash != std::string_view::npos &&
      (first.find_first_of(".:[") != std::string_view::npos || first == "localhost");
  if (!names_registry) {
    return bad(
        "names no registry host; berth has no default registry, write "
        "host[:port]/repository[:tag] (for example 127.0.0.1:8080/train:1)");
  }
  ImageReference ref;
  ref.registry = std::string(first);
  if (!ValidRegistry(ref.registry)) return bad("bad registry host \"" + ref.registry + "\"");

  std::string_view rest = image.substr(slash + 1);
  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    size_t colon = digest.find(':');
    if (colon == std::string_view::npos) return bad("bad digest \"" + std::string(digest) + "\"");
    std::string_view algorithm = digest.substr(0, colon);
    std::string_view hex = digest.substr(colon + 1);
    if (algorithm != "sha256") {
      return bad("unsupported digest algorithm \"" + std::string(algorithm) + "\" (only sha256)");
    }
    bool hex_ok = hex.size() == 64;
    for (char c : hex) hex_ok = hex_ok && IsHex(c);
    if (!hex_ok) {
      return bad("bad digest \"" + std::string(digest) +
                 "\": want sha256: and 64 lowercase hex digits");
    }
    ref.digest = std::string(digest);
  }
  // A tag follows the last ':' after the last '/'.
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.find(':', last_slash == std::string_view::npos ? 0 : last_slash);
  if (colon != std::string_view::npos) {
    std::string_view tag = rest.substr(colon + 1);
    if (!ValidTag(tag)) {
      return bad("bad tag \"" + std::string(tag) +
                 "\": want up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'");
    }
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (!ValidRepository(rest)) {
    return bad("bad repository name \"" + std::string(rest) +
               "\": want lowercase [a-z0-9] components separated by '/', joined inside by "
               "'.', '_', '__' or '-'");
  }
  ref.repository = std::string(rest);
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::string ImageReference::ToString() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

}  // namespace berth::agent
