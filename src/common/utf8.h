// UTF-8 for text that goes into JSON: a JSON body must be valid UTF-8, but
// what a client sends in a query string or a header need not be.
#pragma once

#include <string>
#include <string_view>

namespace berth {

// text with every byte that is not part of a well-formed UTF-8 sequence
// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF)
// replaced by U+FFFD, as a browser decodes it.
std::string ValidUtf8(std::string_view text);

}  // namespace berth
