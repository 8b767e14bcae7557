// Hashing, HMAC and randomness (OpenSSL), with hex helpers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace berth {

// Raw 32-byte SHA-256 digest of data.
std::string Sha256(std::string_view data);
// Lowercase hex SHA-256 of data.
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256 of data under key.
std::string HmacSha256(std::string_view key, std::string_view data);

std::string HexEncode(std::string_view bytes);

// Compares in time that depends only on the lengths, so that a signature
// check leaks nothing about how many leading bytes matched.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// n bytes from the operating system's cryptographic generator.
std::string RandomBytes(size_t n);

// Incremental SHA-256 for streams (image layers, blobs).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::string_view data);
  // Lowercase hex digest; the hasher may not be updated afterwards.
  std::string FinishHex();

 private:
  void* ctx_;  // EVP_MD_CTX, kept opaque so that OpenSSL headers stay out of includers.
};

}  // namespace berth
