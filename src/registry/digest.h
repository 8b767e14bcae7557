// OCI content digests: "sha256:<64 hex>" and "sha512:<128 hex>".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth::registry {

struct Digest {
  std::string algorithm;  // "sha256" or "sha512"
  std::string hex;        // lowercase

  std::string ToString() const { return algorithm + ":" + hex; }
  bool operator==(const Digest&) const = default;

  // nullopt unless text is a digest of a supported algorithm with the right
  // number of lowercase hex digits.
  static std::optional<Digest> Parse(std::string_view text);
  // The sha256 digest of bytes.
  static Digest Sha256Of(std::string_view bytes);
};

// Incremental hashing for the digest's algorithm.
class DigestHasher {
 public:
  // "sha256" or "sha512" (std::invalid_argument otherwise: take it from a
  // parsed Digest).
  explicit DigestHasher(std::string_view algorithm);
  ~DigestHasher();
  DigestHasher(const DigestHasher&) = delete;
  DigestHasher& operator=(const DigestHasher&) = delete;

  void Update(std::string_view data);
  Digest Finish();  // no Update afterwards

 private:
  std::string algorithm_;
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace berth::registry
