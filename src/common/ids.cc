#include "common/ids.h"

#include "common/crypto.h"

namespace berth {

std::string NewUuid() {
  std::string b = RandomBytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string NewTimeOrderedId(int64_t unix_millis) {
  std::string b = RandomBytes(16);
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
