#include "registry/digest.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "common/crypto.h"

namespace berth::registry {

namespace {

// Only these two: they are the algorithms the OCI image spec registers, and
// every path built from a digest relies on the hex having been checked here.
std::optional<size_t> HexLengthOf(std::string_view algorithm) {
  if (algorithm == "sha256") return 64;
  if (algorithm == "sha512") return 128;
  return std::nullopt;
}

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

const EVP_MD* MessageDigestFor(std::string_view algorithm) {
  if (algorithm == "sha256") return EVP_sha256();
  if (algorithm == "sha512") return EVP_sha512();
  // Callers take the algorithm from a parsed Digest, so anything else is a bug.
  throw std::invalid_argument("unsupported digest algorithm: " + std::string(algorithm));
}

}  // namespace

std::optional<Digest> Digest::Parse(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view algorithm = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  std::optional<size_t> hex_length = HexLengthOf(algorithm);
  // Uppercase hex is refused rather than folded: the digest names a file and
  // must compare equal byte for byte with what clients send back.
  if (!hex_length || hex.size() != *hex_length || !IsLowerHex(hex)) return std::nullopt;
  return Digest{std::string(algorithm), std::string(hex)};
}

Digest Digest::Sha256Of(std::string_view bytes) { return Digest{"sha256", Sha256Hex(bytes)}; }

DigestHasher::DigestHasher(std::string_view algorithm) : algorithm_(algorithm), ctx_(nullptr) {
  const EVP_MD* md = MessageDigestFor(algorithm);  // before allocating, so a throw leaks nothing
  ctx_ = EVP_MD_CTX_new();
  if (ctx_ == nullptr || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), md, nullptr) != 1) {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
    throw std::runtime_error("cannot initialise " + algorithm_ + " hashing");
  }
}

DigestHasher::~DigestHasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void DigestHasher::Update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

Digest DigestHasher::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &length);
  return Digest{algorithm_, HexEncode(std::string_view(reinterpret_cast<char*>(md), length))};
}

}  // namespace berth::registry
