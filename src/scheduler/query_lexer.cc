#include "scheduler/query_lexer.h"

#include <cctype>
#include <cstdio>

namespace berth::scheduler::query_internal {
namespace {

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
         c == '/' || c == ':' || c == '*' || c == '+';
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// True when text[at...] starts with `word` (any case) and the word ends there,
// so that "!in" is an operator but "!inside" is '!' and a word.
bool WordAt(std::string_view text, size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i]) return false;
  }
  return at + word.size() == text.size() || !IsWordChar(text[at + word.size()]);
}

// The length of the symbol at text[at], longest first; 0 when none.
size_t SymbolLength(std::string_view text, size_t at) {
  static constexpr std::string_view kTwoChar[] = {"==", "!=", ">=", "<=", "=~", "!~", "&&", "||"};
  for (std::string_view s : kTwoChar) {
    if (text.substr(at, 2) == s) return 2;
  }
  if (text[at] == '!') {
    if (WordAt(text, at + 1, "exists")) return 7;
    if (WordAt(text, at + 1, "in")) return 3;
  }
  static constexpr std::string_view kOneChar = "><!()[],";
  return kOneChar.find(text[at]) != std::string_view::npos ? 1 : 0;
}

Token ErrorAt(size_t at, std::string message) {
  Token t;
  t.kind = Token::Kind::kError;
  t.error = std::move(message);
  t.position = at + 1;
  return t;
}

// The message for a character that starts no token, with the likely intent.
std::string UnexpectedChar(std::string_view text, size_t at) {
  switch (text[at]) {
    case '=':
      return "unexpected '='; the equality operator is '=='";
    case '&':
      return "unexpected '&'; the 'and' operator is '&&'";
    case '|':
      return "unexpected '|'; the 'or' operator is '||'";
    default:
      return "unexpected character " + DescribeChar(text[at]);
  }
}

}  // namespace

std::string DescribeChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (std::isprint(byte)) return std::string("'") + c + "'";
  char hex[8];
  std::snprintf(hex, sizeof(hex), "'\\x%02x'", byte);
  return hex;
}

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t at = 0;
  while (true) {
    while (at < text.size() && IsSpace(text[at])) ++at;
    if (at == text.size()) break;
    Token token;
    token.position = at + 1;
    const char c = text[at];
    if (c == '"' || c == '\'') {
      size_t close = text.find(c, at + 1);
      if (close == std::string_view::npos) {
        tokens.push_back(ErrorAt(at, std::string("quote ") + DescribeChar(c) + " is never closed"));
        break;
      }
      token.kind = Token::Kind::kQuoted;
      token.text = text.substr(at + 1, close - at - 1);
      at = close + 1;
    } else if (IsWordChar(c)) {
      size_t end = at;
      while (end < text.size() && IsWordChar(text[end])) ++end;
      token.kind = Token::Kind::kWord;
      token.text = text.substr(at, end - at);
      at = end;
    } else if (size_t length = SymbolLength(text, at); length > 0) {
      token.kind = Token::Kind::kSymbol;
      token.text = text.substr(at, length);
      at += length;
    } else {
      tokens.push_back(ErrorAt(at, UnexpectedChar(text, at)));
      break;
    }
    tokens.push_back(std::move(token));
  }
  Token end;
  end.kind = Token::Kind::kEnd;
  end.position = text.size() + 1;
  tokens.push_back(std::move(end));
  return tokens;
}

}  // namespace berth::scheduler::query_internal
