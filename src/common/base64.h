// Base64 (RFC 4648), standard and URL-safe alphabets.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth {

std::string Base64Encode(std::string_view bytes);
std::string Base64UrlEncode(std::string_view bytes);  // no padding
// nullopt when text is not valid base64 in the given alphabet; padding optional.
std::optional<std::string> Base64Decode(std::string_view text);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace berth
