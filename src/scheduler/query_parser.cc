#include "scheduler/query_parser.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/query_lexer.h"

namespace berth::scheduler::query_internal {
namespace {

using NodePtr = std::unique_ptr<Query::Node>;
using Kind = Token::Kind;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// User text as it appears in a message: quoted, cut short, and with
// unprintable bytes replaced, since messages end up in logs and JSON replies.
std::string Echo(std::string_view text) {
  constexpr size_t kMaxEcho = 40;
  std::string out = "'";
  for (char c : text.substr(0, kMaxEcho)) {
    out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  if (text.size() > kMaxEcho) out += "...";
  return out + "'";
}

struct OperatorSpelling {
  std::string_view symbol;  // empty when there is none (exists, in)
  std::string_view word;
  Operator op;
  bool negated;
};

constexpr std::array<OperatorSpelling, 12> kOperators = {{
    {"==", "equals", Operator::kEquals, false},
    {"!=", "not_equals", Operator::kEquals, true},
    {">", "greater_than", Operator::kGreater, false},
    {">=", "greater_than_equal", Operator::kGreaterEqual, false},
    {"<", "less_than", Operator::kLess, false},
    {"<=", "less_than_equal", Operator::kLessEqual, false},
    {"", "exists", Operator::kExists, false},
    {"!exists", "not_exists", Operator::kExists, true},
    {"", "in", Operator::kIn, false},
    {"!in", "not_in", Operator::kIn, true},
    {"=~", "matches", Operator::kMatches, false},
    {"!~", "not_matches", Operator::kMatches, true},
}};

const OperatorSpelling* FindOperator(const Token& token) {
  for (const OperatorSpelling& spelling : kOperators) {
    if (token.kind == Kind::kSymbol && !spelling.symbol.empty() &&
        EqualsIgnoreCase(token.text, spelling.symbol)) {
      return &spelling;
    }
    if (token.kind == Kind::kWord && EqualsIgnoreCase(token.text, spelling.word)) {
      return &spelling;
    }
  }
  return nullptr;
}

struct SubjectSpelling {
  std::string_view name;
  Subject subject;
};

constexpr std::string_view kAttributePrefix = "attribute:";

constexpr std::array<SubjectSpelling, 6> kSubjects = {{
    {"agentConnected", Subject::kAgentConnected},
    {"agentVersion", Subject::kAgentVersion},
    {"ec2InstanceId", Subject::kEc2InstanceId},
    {"registeredAt", Subject::kRegisteredAt},
    {"runningTasksCount", Subject::kRunningTasksCount},
    {"task:group", Subject::kTaskGroup},
}};

// The operators ECS documents for each subject; attributes take them all.
bool OperatorApplies(Subject subject, Operator op) {
  switch (subject) {
    case Subject::kAttribute:
      return true;
    case Subject::kAgentConnected:
    case Subject::kEc2InstanceId:
    case Subject::kTaskGroup:
      return op == Operator::kEquals || op == Operator::kIn || op == Operator::kMatches;
    case Subject::kAgentVersion:
    case Subject::kRegisteredAt:
    case Subject::kRunningTasksCount:
      return op == Operator::kEquals || op == Operator::kGreater || op == Operator::kGreaterEqual ||
             op == Operator::kLess || op == Operator::kLessEqual;
  }
  return false;
}

std::string_view AllowedOperators(Subject subject) {
  switch (subject) {
    case Subject::kAgentConnected:
    case Subject::kEc2InstanceId:
    case Subject::kTaskGroup:
      return "==, !=, in, !in, =~ or !~";
    default:
      return "==, !=, >, >=, < or <=";
  }
}

bool IsAttributeNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
         c == '/' || c == ':';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : tokens_(Tokenize(text)) {}

  StatusOr<NodePtr> ParseAll() {
    if (Peek().kind == Kind::kEnd) return Error(Peek(), "the expression is empty");
    StatusOr<NodePtr> root = ParseOr(0);
    if (!root.ok()) return root;
    const Token& rest = Peek();
    if (rest.kind == Kind::kEnd) return root;
    if (rest.kind == Kind::kSymbol && rest.text == ")") {
      return Error(rest, "')' without a matching '('");
    }
    return Error(rest, "unexpected " + Describe(rest) +
                           "; expected 'and', 'or' or the end of the expression");
  }

 private:
  const Token& Peek() const { return tokens_[next_]; }
  const Token& Take() {
    const Token& token = tokens_[next_];
    if (token.kind != Kind::kEnd) ++next_;
    return token;
  }
  // The token before the next one, for "expected X after Y".
  const Token* Previous() const { return next_ == 0 ? nullptr : &tokens_[next_ - 1]; }

  static bool IsSymbol(const Token& token, std::string_view symbol) {
    return token.kind == Kind::kSymbol && token.text == symbol;
  }
  static bool IsWord(const Token& token, std::string_view word) {
    return token.kind == Kind::kWord && EqualsIgnoreCase(token.text, word);
  }
  static bool IsAnd(const Token& t) { return IsSymbol(t, "&&") || IsWord(t, "and"); }
  static bool IsOr(const Token& t) { return IsSymbol(t, "||") || IsWord(t, "or"); }
  static bool IsNot(const Token& t) { return IsSymbol(t, "!") || IsWord(t, "not"); }

  static std::string Describe(const Token& token) {
    return token.kind == Kind::kEnd ? "the end of the expression" : Echo(token.text);
  }

  // A lexer error wins over what the parser expected at the same place,
  // since it says what is actually wrong there.
  static Status Error(const Token& at, const std::string& message) {
    const std::string& text = at.kind == Kind::kError ? at.error : message;
    return InvalidArgument("position " + std::to_string(at.position) + ": " + text);
  }
  static Status ErrorAtPosition(size_t position, const std::string& message) {
    return InvalidArgument("position " + std::to_string(position) + ": " + message);
  }

  std::string After() const {
    const Token* previous = Previous();
    return previous == nullptr ? "" : " after " + Echo(previous->text);
  }

  static NodePtr Combine(Query::Node::Kind kind, std::vector<NodePtr> children) {
    if (children.size() == 1) return std::move(children.front());
    auto node = std::make_unique<Query::Node>();
    node->kind = kind;
    for (NodePtr& child : children) node->children.push_back(std::move(child));
    return node;
  }

  StatusOr<NodePtr> ParseOr(int depth) {
    std::vector<NodePtr> children;
    while (true) {
      StatusOr<NodePtr> child = ParseAnd(depth);
      if (!child.ok()) return child;
      children.push_back(std::move(child).value());
      if (!IsOr(Peek())) break;
      Take();
    }
    return Combine(Query::Node::Kind::kOr, std::move(children));
  }

  StatusOr<NodePtr> ParseAnd(int depth) {
    std::vector<NodePtr> children;
    while (true) {
      StatusOr<NodePtr> child = ParseUnary(depth);
      if (!child.ok()) return child;
      children.push_back(std::move(child).value());
      if (!IsAnd(Peek())) break;
      Take();
    }
    return Combine(Query::Node::Kind::kAnd, std::move(children));
  }

  StatusOr<NodePtr> ParseUnary(int depth) {
    const Token& token = Peek();
    const bool opens = IsNot(token) || IsSymbol(token, "(");
    if (opens && depth + 1 > kMaxQueryDepth) {
      return Error(token, "the expression nests more than " + std::to_string(kMaxQueryDepth) +
                              " levels of parentheses and 'not'");
    }
    if (IsNot(token)) {
      Take();
      StatusOr<NodePtr> operand = ParseUnary(depth + 1);
      if (!operand.ok()) return operand;
      auto node = std::make_unique<Query::Node>();
      node->kind = Query::Node::Kind::kNot;
      node->children.push_back(std::move(operand).value());
      return node;
    }
    if (IsSymbol(token, "(")) {
      const size_t open_position = Take().position;
      StatusOr<NodePtr> inner = ParseOr(depth + 1);
      if (!inner.ok()) return inner;
      if (!IsSymbol(Peek(), ")")) {
        return Error(Peek(), "expected ')' to close the '(' at position " +
                                 std::to_string(open_position) + ", found " + Describe(Peek()));
      }
      Take();
      return inner;
    }
    // "a or or b": a joining word where a condition belongs is not a subject.
    if (token.kind != Kind::kWord || IsAnd(token) || IsOr(token)) {
      return Error(token, "expected a condition such as 'attribute:name == value'" + After());
    }
    return ParseCondition();
  }

  StatusOr<NodePtr> ParseCondition() {
    auto node = std::make_unique<Query::Node>();
    node->kind = Query::Node::Kind::kCondition;
    Condition& condition = node->condition;

    const Token& subject = Take();
    BERTH_RETURN_IF_ERROR(ReadSubject(subject, &condition));

    const Token& op_token = Peek();
    const OperatorSpelling* spelling = FindOperator(op_token);
    if (spelling == nullptr) {
      if (op_token.kind == Kind::kWord) {
        return Error(op_token, "unknown operator " + Echo(op_token.text));
      }
      return Error(op_token, "expected an operator after " + Echo(subject.text));
    }
    Take();
    if (!OperatorApplies(condition.subject, spelling->op)) {
      return Error(op_token, "operator " + Echo(op_token.text) + " does not apply to " +
                                 std::string(subject.text) + " (use " +
                                 std::string(AllowedOperators(condition.subject)) + ")");
    }
    condition.op = spelling->op;
    condition.negated = spelling->negated;

    if (condition.op == Operator::kExists) return node;
    if (condition.op == Operator::kIn) {
      BERTH_RETURN_IF_ERROR(ReadList(op_token, &condition));
    } else {
      BERTH_RETURN_IF_ERROR(ReadArgument(&condition));
    }
    return node;
  }

  Status ReadSubject(const Token& token, Condition* condition) {
    std::string_view name = token.text;
    if (name.substr(0, kAttributePrefix.size()) == kAttributePrefix) {
      std::string_view attribute = name.substr(kAttributePrefix.size());
      if (attribute.empty()) {
        return ErrorAtPosition(token.position + name.size(),
                               "expected an attribute name after 'attribute:'");
      }
      for (size_t i = 0; i < attribute.size(); ++i) {
        if (!IsAttributeNameChar(attribute[i])) {
          return ErrorAtPosition(token.position + kAttributePrefix.size() + i,
                                 "attribute names may not contain " + DescribeChar(attribute[i]));
        }
      }
      condition->subject = Subject::kAttribute;
      condition->attribute_name = std::string(attribute);
      return Status::Ok();
    }
    for (const SubjectSpelling& spelling : kSubjects) {
      if (name == spelling.name) {
        condition->subject = spelling.subject;
        return Status::Ok();
      }
    }
    std::string message = "unknown subject " + Echo(name);
    for (const SubjectSpelling& spelling : kSubjects) {
      if (EqualsIgnoreCase(name, spelling.name)) {
        message += "; subjects are case-sensitive: '" + std::string(spelling.name) + "'";
      }
    }
    return Error(token, message);
  }

  // in [a, b, c]: ECS's list form, at least one value.
  Status ReadList(const Token& op_token, Condition* condition) {
    const Token& open = Peek();
    if (!IsSymbol(open, "[")) {
      return Error(open, "expected '[' after " + Echo(op_token.text) + ", as in 'in [a, b]'");
    }
    Take();
    while (true) {
      BERTH_RETURN_IF_ERROR(ReadArgument(condition));
      const Token& separator = Peek();
      if (IsSymbol(separator, "]")) {
        Take();
        return Status::Ok();
      }
      if (!IsSymbol(separator, ",")) {
        return Error(separator, "expected ',' or ']' in the list that starts at position " +
                                    std::to_string(open.position) + ", found " +
                                    Describe(separator));
      }
      Take();
    }
  }

  // One value: a bare word or a quoted string, converted for the subject.
  Status ReadArgument(Condition* condition) {
    const Token& value = Peek();
    if (value.kind != Kind::kWord && value.kind != Kind::kQuoted) {
      return Error(value, "expected a value" + After());
    }
    Take();
    // Where the value's text starts, past an opening quote.
    const size_t text_position = value.position + (value.kind == Kind::kQuoted ? 1 : 0);
    Argument argument;
    argument.text = std::string(value.text);

    if (condition->op == Operator::kMatches) {
      QueryPattern pattern;
      size_t offset = 0;
      std::string error;
      if (!QueryPattern::Compile(value.text, &pattern, &offset, &error)) {
        return ErrorAtPosition(text_position + offset, error);
      }
      condition->pattern = std::move(pattern);
      condition->arguments.push_back(std::move(argument));
      return Status::Ok();
    }

    switch (condition->subject) {
      case Subject::kAgentConnected:
        std::transform(argument.text.begin(), argument.text.end(), argument.text.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (argument.text != "true" && argument.text != "false") {
          return ErrorAtPosition(
              text_position,
              "agentConnected is compared with true or false, not " + Echo(value.text));
        }
        break;
      case Subject::kRunningTasksCount:
        argument.integer = ParseInteger(value.text);
        if (!argument.integer) {
          return ErrorAtPosition(
              text_position,
              "runningTasksCount is compared with a whole number, not " + Echo(value.text));
        }
        break;
      case Subject::kRegisteredAt:
        argument.time = ParseTimestamp(value.text);
        if (!argument.time) {
          return ErrorAtPosition(
              text_position, "expected a date such as 2018-06-18 or 2018-06-18T22:28:28Z, not " +
                                 Echo(value.text));
        }
        break;
      default:
        break;
    }
    condition->arguments.push_back(std::move(argument));
    return Status::Ok();
  }

  std::vector<Token> tokens_;
  size_t next_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<const Query::Node>> ParseQueryTree(std::string_view text) {
  if (text.size() > kMaxQueryLength) {
    return InvalidArgument("expression is longer than " + std::to_string(kMaxQueryLength) +
                           " characters");
  }
  StatusOr<NodePtr> root = Parser(text).ParseAll();
  if (!root.ok()) return root.status();
  return std::unique_ptr<const Query::Node>(std::move(root).value());
}

}  // namespace berth::scheduler::query_internal
