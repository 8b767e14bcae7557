// Splits a cluster query into tokens. Words are not classified here: "and",
// "in" or "equals" may be an operator or a value depending on where they
// stand, so the parser decides.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::scheduler::query_internal {

struct Token {
  enum class Kind {
    kWord,    // letters, digits and . - _ / : * +
    kQuoted,  // '...' or "..."; text is what is between the quotes
    kSymbol,  // == != > >= < <= =~ !~ !exists !in && || ! ( ) [ ] ,
    kError,   // text is the message; always the last token before kEnd
    kEnd,
  };
  Kind kind = Kind::kEnd;
  std::string_view text;  // into the query text, except for kError
  std::string error;      // for kError
  size_t position = 0;    // 1-based byte offset of the token's first character
};

// Never fails: a character that starts no token becomes a kError token, so
// that the parser reports whichever error comes first in the text.
// The last token is always kEnd, at position text.size() + 1.
std::vector<Token> Tokenize(std::string_view text);

// How a character appears in a message: 'x', or '\x07' when not printable.
std::string DescribeChar(char c);

}  // namespace berth::scheduler::query_internal
