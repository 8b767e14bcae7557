#include "common/ids.h"

#include <cstring>
#include <random>

#include "common/crypto.h"

namespace berth {
namespace {

// 16 random bytes for an id. Ids name things and are never secrets (keys
// and tokens come from RandomBytes), so a per-thread generator seeded from
// the system's CSPRNG serves: it costs nanoseconds where RAND_bytes takes
// locks and a getpid per call, and RunTask makes two ids per task.
std::string IdBytes() {
  thread_local std::mt19937_64 generator = [] {
    std::string seed = RandomBytes(sizeof(uint64_t) * 4);
    std::seed_seq sequence(seed.begin(), seed.end());
    return std::mt19937_64(sequence);
  }();
  uint64_t words[2] = {generator(), generator()};
  std::string out(sizeof words, '\0');
  std::memcpy(out.data(), words, sizeof words);
  return out;
}

}  // namespace

std::string NewUuid() {
  std::string b = IdBytes();
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string NewTimeOrderedId(int64_t unix_millis) {
  std::string b = IdBytes();
  for (int i = 0; i < 6; ++i) {
    b[i] = static_cast<char>((static_cast<uint64_t>(unix_millis) >> (8 * (5 - i))) & 0xff);
  }
  return HexEncode(b);
}

std::string MakeArn(const ArnScope& scope, std::string_view service, std::string_view resource) {
  std::string arn = "arn:aws:";
  arn += service;
  arn += ':';
  arn += scope.region;
  arn += ':';
  arn += scope.account;
  arn += ':';
  arn += resource;
  return arn;
}

}  // namespace berth
