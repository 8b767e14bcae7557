#include "model/pattern.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace berth::model {

namespace {

using CharSet = Pattern::CharSet;
using Inst = Pattern::Inst;
using Op = Pattern::Op;

// Bounds what a model pattern may expand to; the models' largest is ~60.
constexpr size_t kMaxProgram = 4096;
constexpr int kMaxRepeat = 1000;
constexpr int kMaxNesting = 100;
// Code point that stands for every character outside ASCII.
constexpr uint32_t kNonAscii = 0x80;

// A parsed pattern before it is laid out as a program.
struct Node {
  enum Kind { kEmpty, kSet, kBegin, kEnd, kConcat, kAlt, kRepeat } kind = kEmpty;
  uint32_t set = 0;  // kSet
  int min = 0;       // kRepeat
  int max = 0;       // kRepeat; -1 for unbounded
  std::vector<Node> kids;
};

void AddRange(CharSet& set, unsigned char lo, unsigned char hi) {
  for (unsigned c = lo; c <= hi; ++c) set.ascii.set(c);
}

void AddAlnum(CharSet& set) {
  AddRange(set, 'a', 'z');
  AddRange(set, 'A', 'Z');
  AddRange(set, '0', '9');
}

void AddWord(CharSet& set) {
  AddAlnum(set);
  set.ascii.set('_');
}

void AddSpace(CharSet& set) {
  for (unsigned char c : {' ', '\t', '\n', '\v', '\f', '\r'}) set.ascii.set(c);
}

void Negate(CharSet& set) {
  set.ascii.flip();
  set.non_ascii = !set.non_ascii;
}

// Recursive descent over Java regex syntax, the subset described in pattern.h.
class Parser {
 public:
  Parser(std::string_view text, std::vector<CharSet>& sets) : text_(text), sets_(sets) {}

  std::optional<Node> ParseAll() {
    std::optional<Node> node = ParseAlternation(0);
    if (!node || pos_ != text_.size()) return std::nullopt;
    return node;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }

  Node SetNode(const CharSet& set) {
    sets_.push_back(set);
    Node node;
    node.kind = Node::kSet;
    node.set = static_cast<uint32_t>(sets_.size() - 1);
    return node;
  }

  std::optional<Node> ParseAlternation(int nesting) {
    if (nesting > kMaxNesting) return std::nullopt;
    Node alt;
    alt.kind = Node::kAlt;
    while (true) {
      std::optional<Node> branch = ParseConcatenation(nesting);
      if (!branch) return std::nullopt;
      alt.kids.push_back(std::move(*branch));
      if (Peek() != '|' || AtEnd()) break;
      ++pos_;
    }
    if (alt.kids.size() == 1) return std::move(alt.kids.front());
    return alt;
  }

  std::optional<Node> ParseConcatenation(int nesting) {
    Node concat;
    concat.kind = Node::kConcat;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      std::optional<Node> atom = ParseAtom(nesting);
      if (!atom) return std::nullopt;
      std::optional<Node> repeated = ParseQuantifier(std::move(*atom));
      if (!repeated) return std::nullopt;
      concat.kids.push_back(std::move(*repeated));
    }
    if (concat.kids.size() == 1) return std::move(concat.kids.front());
    return concat;
  }

  std::optional<Node> ParseQuantifier(Node atom) {
    int min = 0;
    int max = 0;
    switch (Peek()) {
      case '*':
        min = 0;
        max = -1;
        ++pos_;
        break;
      case '+':
        min = 1;
        max = -1;
        ++pos_;
        break;
      case '?':
        min = 0;
        max = 1;
        ++pos_;
        break;
      case '{': {
        ++pos_;
        std::optional<int> lo = ParseNumber();
        if (!lo) return std::nullopt;
        min = max = *lo;
        if (Peek() == ',') {
          ++pos_;
          if (Peek() == '}') {
            max = -1;
          } else {
            std::optional<int> hi = ParseNumber();
            if (!hi || *hi < min) return std::nullopt;
            max = *hi;
          }
        }
        if (Peek() != '}') return std::nullopt;
        ++pos_;
        break;
      }
      default:
        return atom;
    }
    if (atom.kind == Node::kBegin || atom.kind == Node::kEnd) return std::nullopt;
    // A lazy quantifier matches the same set of whole strings; a possessive
    // one does not, and is not supported.
    if (Peek() == '?') ++pos_;
    if (Peek() == '+' || Peek() == '*' || Peek() == '{') return std::nullopt;
    Node repeat;
    repeat.kind = Node::kRepeat;
    repeat.min = min;
    repeat.max = max;
    repeat.kids.push_back(std::move(atom));
    return repeat;
  }

  std::optional<int> ParseNumber() {
    int value = 0;
    size_t start = pos_;
    while (Peek() >= '0' && Peek() <= '9') {
      value = value * 10 + (Peek() - '0');
      if (value > kMaxRepeat) return std::nullopt;
      ++pos_;
    }
    if (pos_ == start) return std::nullopt;
    return value;
  }

  std::optional<Node> ParseAtom(int nesting) {
    char c = text_[pos_++];
    switch (c) {
      case '(': {
        if (Peek() == '?') {
          if (Peek(1) != ':') return std::nullopt;  // lookaround, named group, flags
          pos_ += 2;
        }
        std::optional<Node> inner = ParseAlternation(nesting + 1);
        if (!inner || Peek() != ')' || AtEnd()) return std::nullopt;
        ++pos_;
        return inner;
      }
      case '[':
        return ParseClass();
      case '.': {
        CharSet set;
        set.ascii.set();
        set.ascii.reset('\n');
        set.ascii.reset('\r');
        set.non_ascii = true;
        return SetNode(set);
      }
      case '^': {
        Node node;
        node.kind = Node::kBegin;
        return node;
      }
      case '$': {
        Node node;
        node.kind = Node::kEnd;
        return node;
      }
      case '\\': {
        CharSet set;
        if (!ParseEscape(set)) return std::nullopt;
        return SetNode(set);
      }
      case '*':
      case '+':
      case '?':
      case '{':
      case ')':
        return std::nullopt;
      default: {
        if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
        CharSet set;
        set.ascii.set(static_cast<unsigned char>(c));
        return SetNode(set);
      }
    }
  }

  // After a backslash: fills set with a class escape or one escaped character.
  bool ParseEscape(CharSet& set) {
    if (AtEnd()) return false;
    char c = text_[pos_++];
    switch (c) {
      case 'd':
        AddRange(set, '0', '9');
        return true;
      case 'D':
        AddRange(set, '0', '9');
        Negate(set);
        return true;
      case 's':
        AddSpace(set);
        return true;
      case 'S':
        AddSpace(set);
        Negate(set);
        return true;
      case 'w':
        AddWord(set);
        return true;
      case 'W':
        AddWord(set);
        Negate(set);
        return true;
      case 'p':
      case 'P':
        return ParseProperty(c == 'P', set);
      case 't':
        set.ascii.set('\t');
        return true;
      case 'n':
        set.ascii.set('\n');
        return true;
      case 'r':
        set.ascii.set('\r');
        return true;
      case 'f':
        set.ascii.set('\f');
        return true;
      default:
        // Escaped punctuation is itself; escaped letters and digits are
        // classes or back references this subset does not have.
        if (static_cast<unsigned char>(c) >= 0x80 || std::isalnum(static_cast<unsigned char>(c))) {
          return false;
        }
        set.ascii.set(static_cast<unsigned char>(c));
        return true;
    }
  }

  // \p{Name} or \P{Name}, the pos_ after the 'p'.
  bool ParseProperty(bool negated, CharSet& set) {
    if (Peek() != '{') return false;
    size_t close = text_.find('}', pos_);
    if (close == std::string_view::npos) return false;
    std::string_view name = text_.substr(pos_ + 1, close - pos_ - 1);
    pos_ = close + 1;
    if (name.starts_with("Is")) name.remove_prefix(2);
    if (name == "L" || name == "Letter" || name == "Alpha" || name == "Alphabetic") {
      AddRange(set, 'a', 'z');
      AddRange(set, 'A', 'Z');
    } else if (name == "Lu" || name == "Upper" || name == "Uppercase") {
      AddRange(set, 'A', 'Z');
    } else if (name == "Ll" || name == "Lower" || name == "Lowercase") {
      AddRange(set, 'a', 'z');
    } else if (name == "N" || name == "Nd" || name == "Digit") {
      AddRange(set, '0', '9');
    } else if (name == "Alnum") {
      AddAlnum(set);
    } else if (name == "Z" || name == "Zs") {
      set.ascii.set(' ');
    } else if (name == "Space" || name == "White_Space") {
      AddSpace(set);
    } else if (name == "P" || name == "Punct") {
      for (unsigned c = 0x21; c < 0x7f; ++c) {
        if (!std::isalnum(c)) set.ascii.set(c);
      }
    } else {
      return false;
    }
    if (negated) set.ascii.flip();
    set.non_ascii = true;  // see pattern.h: categories outside ASCII are not carried
    return true;
  }

  // After '[': a class up to and including its ']'.
  std::optional<Node> ParseClass() {
    CharSet set;
    bool negated = false;
    if (Peek() == '^') {
      negated = true;
      ++pos_;
    }
    bool first = true;
    while (true) {
      if (AtEnd()) return std::nullopt;
      char c = text_[pos_];
      if (c == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      if (c == '[' || (c == '&' && Peek(1) == '&')) return std::nullopt;  // union, intersection
      unsigned char lo = 0;
      ++pos_;
      if (c == '\\') {
        CharSet escaped;
        if (!ParseEscape(escaped)) return std::nullopt;
        if (escaped.non_ascii || escaped.ascii.count() != 1) {
          set.ascii |= escaped.ascii;  // a class escape cannot start a range
          set.non_ascii = set.non_ascii || escaped.non_ascii;
          continue;
        }
        while (!escaped.ascii.test(lo)) ++lo;
      } else {
        if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
        lo = static_cast<unsigned char>(c);
      }
      unsigned char hi = lo;
      // A '-' is a range only between two characters; first, last or after
      // a range it is itself, as in [a-zA-Z0-9-_+.].
      if (Peek() == '-' && Peek(1) != ']' && pos_ + 1 < text_.size()) {
        ++pos_;
        char h = text_[pos_++];
        if (h == '\\') {
          CharSet escaped;
          if (!ParseEscape(escaped) || escaped.non_ascii || escaped.ascii.count() != 1) {
            return std::nullopt;
          }
          hi = 0;
          while (!escaped.ascii.test(hi)) ++hi;
        } else {
          if (static_cast<unsigned char>(h) >= 0x80 || h == '[') return std::nullopt;
          hi = static_cast<unsigned char>(h);
        }
        if (hi < lo) return std::nullopt;
      }
      AddRange(set, lo, hi);
    }
    if (negated) Negate(set);
    return SetNode(set);
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::vector<CharSet>& sets_;
};

// Lays a parsed pattern out as a program (Thompson construction).
class Emitter {
 public:
  explicit Emitter(std::vector<Inst>& program) : program_(program) {}

  bool Emit(const Node& node) {
    if (program_.size() > kMaxProgram) return false;
    switch (node.kind) {
      case Node::kEmpty:
        return true;
      case Node::kSet:
        Push(Op::kSet, node.set);
        return true;
      case Node::kBegin:
        Push(Op::kBegin);
        return true;
      case Node::kEnd:
        Push(Op::kEnd);
        return true;
      case Node::kConcat:
        for (const Node& kid : node.kids) {
          if (!Emit(kid)) return false;
        }
        return true;
      case Node::kAlt: {
        std::vector<size_t> exits;
        for (size_t i = 0; i < node.kids.size(); ++i) {
          size_t split = 0;
          bool last = i + 1 == node.kids.size();
          if (!last) split = Push(Op::kSplit, Here() + 1);
          if (!Emit(node.kids[i])) return false;
          if (!last) {
            exits.push_back(Push(Op::kJmp));
            program_[split].y = Here();
          }
        }
        for (size_t exit : exits) program_[exit].x = Here();
        return true;
      }
      case Node::kRepeat: {
        const Node& kid = node.kids.front();
        for (int i = 0; i < node.min; ++i) {
          if (!Emit(kid)) return false;
        }
        if (node.max < 0) {
          uint32_t loop = Here();
          size_t split = Push(Op::kSplit, loop + 1);
          if (!Emit(kid)) return false;
          Push(Op::kJmp, loop);
          program_[split].y = Here();
          return true;
        }
        std::vector<size_t> skips;
        for (int i = node.min; i < node.max; ++i) {
          skips.push_back(Push(Op::kSplit, Here() + 1));
          if (!Emit(kid)) return false;
        }
        for (size_t skip : skips) program_[skip].y = Here();
        return true;
      }
    }
    return false;
  }

 private:
  uint32_t Here() const { return static_cast<uint32_t>(program_.size()); }
  size_t Push(Op op, uint32_t x = 0) {
    program_.push_back(Inst{op, x, 0});
    return program_.size() - 1;
  }

  std::vector<Inst>& program_;
};

}  // namespace

std::optional<Pattern> Pattern::Compile(std::string_view pattern) {
  Pattern compiled;
  compiled.source_ = std::string(pattern);
  std::optional<Node> root = Parser(pattern, compiled.sets_).ParseAll();
  if (!root) return std::nullopt;
  if (!Emitter(compiled.program_).Emit(*root)) return std::nullopt;
  compiled.program_.push_back(Inst{Op::kMatch});
  if (compiled.program_.size() > kMaxProgram) return std::nullopt;
  return compiled;
}

bool Pattern::Matches(std::string_view text) const {
  constexpr size_t kInline = 256;
  const size_t n = program_.size();
  // Four arrays of n: the generation each instruction was last added in,
  // the current and next thread lists, and the stack of AddThread.
  std::array<uint32_t, 4 * kInline> inline_buffer;
  std::vector<uint32_t> heap_buffer;
  uint32_t* buffer = inline_buffer.data();
  if (n > kInline) {
    heap_buffer.resize(4 * n);
    buffer = heap_buffer.data();
  }
  uint32_t* added_in = buffer;
  uint32_t* current = buffer + n;
  uint32_t* next = buffer + 2 * n;
  uint32_t* stack = buffer + 3 * n;
  std::fill(added_in, added_in + n, 0);
  uint32_t generation = 1;
  size_t current_size = 0;
  size_t next_size = 0;

  // Follows jumps, splits and assertions from start, adding the instructions
  // that consume a character (or accept) to list. Each instruction is visited
  // at most once per generation, so empty loops terminate.
  auto add_thread = [&](uint32_t* list, size_t& size, uint32_t start, bool at_begin, bool at_end) {
    size_t depth = 0;
    auto push = [&](uint32_t pc) {
      if (added_in[pc] == generation) return;
      added_in[pc] = generation;
      stack[depth++] = pc;
    };
    push(start);
    while (depth > 0) {
      uint32_t pc = stack[--depth];
      const Inst& inst = program_[pc];
      switch (inst.op) {
        case Op::kJmp:
          push(inst.x);
          break;
        case Op::kSplit:
          push(inst.y);
          push(inst.x);
          break;
        case Op::kBegin:
          if (at_begin) push(pc + 1);
          break;
        case Op::kEnd:
          if (at_end) push(pc + 1);
          break;
        case Op::kSet:
        case Op::kMatch:
          list[size++] = pc;
          break;
      }
    }
  };

  add_thread(current, current_size, 0, true, text.empty());
  size_t i = 0;
  while (i < text.size()) {
    if (current_size == 0) return false;
    auto byte = static_cast<unsigned char>(text[i++]);
    uint32_t code_point = byte;
    if (byte >= 0x80) {
      code_point = kNonAscii;
      while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    }
    ++generation;
    next_size = 0;
    for (size_t t = 0; t < current_size; ++t) {
      const Inst& inst = program_[current[t]];
      if (inst.op != Op::kSet) continue;
      const CharSet& set = sets_[inst.x];
      bool in_set = code_point < 0x80 ? set.ascii.test(code_point) : set.non_ascii;
      if (in_set) add_thread(next, next_size, current[t] + 1, false, i == text.size());
    }
    std::swap(current, next);
    current_size = next_size;
  }
  for (size_t t = 0; t < current_size; ++t) {
    if (program_[current[t]].op == Op::kMatch) return true;
  }
  return false;
}

}  // namespace berth::model
