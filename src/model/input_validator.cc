#include "model/input_validator.h"

#include <algorithm>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "model/unknown_members.h"

namespace berth::model {

namespace {

// Values are quoted in messages only up to this many bytes: the message is
// for a person, and echoing a hostile megabyte back helps no one.
constexpr size_t kMaxQuotedBytes = 100;

struct PathSegment {
  std::string key;
  size_t index = 0;
  bool is_index = false;
};

// The first error found. Built only when validation fails, so that valid
// requests allocate nothing for it.
struct Failure {
  bool serialization = false;
  bool too_large = false;         // the kept members' bytes (with serialization)
  std::string value;              // constraint errors: "'abc'", "null", "with 51 items"
  std::string detail;             // "Member must ..." or "expected integer, found string"
  std::vector<PathSegment> path;  // innermost first
};

std::string Quote(std::string_view text) {
  std::string out = "'";
  if (text.size() <= kMaxQuotedBytes) {
    out += text;
  } else {
    size_t end = kMaxQuotedBytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    out += text.substr(0, end);
    out += "...";
  }
  out += "'";
  return out;
}

std::string NumberText(double d) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.17g", d);
  return buffer;
}

std::string BoundText(const Bound& bound) {
  return bound.integral ? std::to_string(bound.integer) : NumberText(bound.real);
}

// Lengths of strings count characters, as the services (Java) do; for the
// ASCII that nearly all values are, that is the byte count.
size_t CodePoints(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

bool IsBase64(std::string_view text) {
  size_t padding = 0;
  for (char c : text) {
    bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (c == '=') {
      ++padding;
    } else if (!alphabet || padding > 0) {
      return false;  // a stranger, or data after padding
    }
  }
  // Padding is optional, but when present it completes the last quantum.
  if (padding > 2) return false;
  if (padding > 0) return text.size() % 4 == 0;
  return text.size() % 4 != 1;
}

size_t Base64DecodedSize(std::string_view text) {
  size_t data = text.size();
  while (data > 0 && text[data - 1] == '=') --data;
  return data * 3 / 4;
}

const char* KindName(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "integer";
    case boost::json::kind::double_:
      return "number";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::array:
      return "array";
    case boost::json::kind::object:
      return "object";
  }
  return "value";
}

const char* ExpectedName(ShapeType type) {
  switch (type) {
    case ShapeType::kStructure:
    case ShapeType::kMap:
      return "object";
    case ShapeType::kList:
      return "array";
    case ShapeType::kString:
      return "string";
    case ShapeType::kInteger:
      return "integer";
    case ShapeType::kLong:
      return "integer";
    case ShapeType::kBoolean:
      return "boolean";
    case ShapeType::kDouble:
    case ShapeType::kFloat:
      return "number";
    case ShapeType::kTimestamp:
      return "timestamp (epoch seconds or string)";
    case ShapeType::kBlob:
      return "base64-encoded string";
  }
  return "value";
}

bool Below(const Bound& bound, int64_t n) {
  return bound.set && (bound.integral ? n < bound.integer : static_cast<double>(n) < bound.real);
}
bool Above(const Bound& bound, int64_t n) {
  return bound.set && (bound.integral ? n > bound.integer : static_cast<double>(n) > bound.real);
}
bool Below(const Bound& bound, double d) { return bound.set && d < bound.real; }
bool Above(const Bound& bound, double d) { return bound.set && d > bound.real; }

class Walker {
 public:
  // depth counts the structures, lists and maps from the body down to v.
  bool Check(const Shape& shape, boost::json::value& v, int depth) {
    switch (shape.type) {
      case ShapeType::kStructure:
      case ShapeType::kList:
      case ShapeType::kMap:
        if (depth > ServiceModel::kMaxDepth) {
          return Serialization("nested deeper than " + std::to_string(ServiceModel::kMaxDepth) +
                               " levels");
        }
        if (shape.type == ShapeType::kStructure) return CheckStructure(shape, v, depth);
        if (shape.type == ShapeType::kList) return CheckList(shape, v, depth);
        return CheckMap(shape, v, depth);
      case ShapeType::kString:
        if (!v.is_string()) return TypeError(shape, v);
        return CheckString(shape, v.get_string());
      case ShapeType::kInteger:
      case ShapeType::kLong:
        return CheckInteger(shape, v);
      case ShapeType::kBoolean:
        return v.is_bool() || TypeError(shape, v);
      case ShapeType::kDouble:
      case ShapeType::kFloat: {
        if (!v.is_number()) return TypeError(shape, v);
        double d = v.to_number<double>();
        if (Below(shape.min, d)) {
          return Constraint(
              Quote(NumberText(d)),
              "Member must have value greater than or equal to " + BoundText(shape.min));
        }
        if (Above(shape.max, d)) {
          return Constraint(Quote(NumberText(d)),
                            "Member must have value less than or equal to " + BoundText(shape.max));
        }
        return true;
      }
      case ShapeType::kTimestamp:
        return v.is_number() || v.is_string() || TypeError(shape, v);
      case ShapeType::kBlob: {
        if (!v.is_string() || !IsBase64(v.get_string())) return TypeError(shape, v);
        auto size = static_cast<int64_t>(Base64DecodedSize(v.get_string()));
        return CheckLength(shape, size, [&] { return "with " + std::to_string(size) + " bytes"; });
      }
    }
    return TypeError(shape, v);
  }

  const Failure& failure() const { return failure_; }

  // Where the unknown members' names ("Shape.member") go; may be null.
  void set_unknown_names(std::vector<std::string>* names) { unknown_names_ = names; }

 private:
  bool CheckStructure(const Shape& shape, boost::json::value& v, int depth) {
    if (!v.is_object()) return TypeError(shape, v);
    boost::json::object& object = v.get_object();
    size_t required_seen = 0;
    size_t dropped = 0;
    size_t unknown = 0;
    for (auto& [key, value] : object) {
      if (value.is_null()) {
        ++dropped;
        continue;
      }
      const Member* member = shape.FindMember(key);
      if (member == nullptr) {
        // Kept for the client, never walked as a shape: only its depth
        // is bounded, so that the stored record parses again, and its
        // size, whatever the service's request limit (ECR's is 16 MiB for
        // layer parts), as it is stored with the resource.
        if (depth + NestingBelow(value, ServiceModel::kMaxKeptDepth) >
            ServiceModel::kMaxKeptDepth) {
          Serialization("a member the service model does not define is nested deeper than " +
                        std::to_string(ServiceModel::kMaxKeptDepth) + " levels");
          return AddKey(key);
        }
        kept_bytes_ += key.size() + 4;
        if (!WithinBytes(value, ServiceModel::kMaxKeptBytes, kept_bytes_)) {
          Serialization("the members the service model does not define take more than " +
                        std::to_string(ServiceModel::kMaxKeptBytes) + " bytes");
          failure_.too_large = true;
          return AddKey(key);
        }
        ++unknown;
        if (unknown_names_ != nullptr)
          unknown_names_->push_back(shape.name + "." + std::string(key));
        continue;
      }
      required_seen += member->required;
      if (!Check(*member->shape, value, depth + 1)) return AddKey(member->name);
    }
    if (required_seen < shape.required_count) {
      for (const Member& member : shape.members) {
        if (!member.required) continue;
        const boost::json::value* value = object.if_contains(member.name);
        if (value == nullptr || value->is_null()) {
          Constraint("null", "Member must not be null");
          return AddKey(member.name);
        }
      }
    }
    if (dropped + unknown > 0) SetUnknownAside(shape, object, dropped);
    return true;
  }

  // Rebuilds rather than erasing in place: one pass, whatever the number of
  // strangers, and the members keep the order the client sent. null members
  // go (AWS reads null as absent); unknown ones move, as sent, into one
  // object under kUnknownMembersKey (see unknown_members.h).
  static void SetUnknownAside(const Shape& shape, boost::json::object& object, size_t dropped) {
    boost::json::object kept(object.storage());
    boost::json::object unknown(object.storage());
    kept.reserve(object.size() - dropped + 1);
    for (auto& [key, value] : object) {
      if (value.is_null()) continue;
      if (shape.FindMember(key) == nullptr) {
        unknown.emplace(key, std::move(value));
      } else {
        kept.emplace(key, std::move(value));
      }
    }
    if (!unknown.empty()) kept.emplace(kUnknownMembersKey, std::move(unknown));
    object = std::move(kept);
  }

  // Adds about the bytes v takes as JSON to used (strings and keys as their
  // bytes and quotes, integers as their digits, a double as 8); false, and
  // no further counting, once used passes limit.
  static bool WithinBytes(const boost::json::value& v, size_t limit, size_t& used) {
    switch (v.kind()) {
      case boost::json::kind::string:
        used += v.get_string().size() + 2;
        break;
      case boost::json::kind::array:
        used += 2;
        for (const auto& e : v.get_array()) {
          if (!WithinBytes(e, limit, ++used)) return false;
        }
        break;
      case boost::json::kind::object:
        used += 2;
        for (const auto& [k, e] : v.get_object()) {
          used += k.size() + 4;
          if (!WithinBytes(e, limit, used)) return false;
        }
        break;
      case boost::json::kind::int64:
        for (int64_t n = v.get_int64(); n != 0; n /= 10) ++used;
        used += 1;  // a sign, or the digit of 0
        break;
      case boost::json::kind::uint64:
        used += 20;
        break;
      case boost::json::kind::double_:
        used += 8;
        break;
      case boost::json::kind::bool_:
      case boost::json::kind::null:
        used += 5;
        break;
    }
    return used <= limit;
  }

  // How many arrays and objects v nests (0 for a scalar), counted up to
  // limit + 1 and no further.
  static int NestingBelow(const boost::json::value& v, int limit) {
    if (limit < 0) return 1;
    int deepest = 0;
    if (v.is_array()) {
      for (const auto& e : v.get_array()) deepest = std::max(deepest, NestingBelow(e, limit - 1));
      return deepest + 1;
    }
    if (v.is_object()) {
      for (const auto& [k, e] : v.get_object()) {
        deepest = std::max(deepest, NestingBelow(e, limit - 1));
      }
      return deepest + 1;
    }
    return 0;
  }

  bool CheckList(const Shape& shape, boost::json::value& v, int depth) {
    if (!v.is_array()) return TypeError(shape, v);
    boost::json::array& array = v.get_array();
    // Before the elements: a list ten thousand long is refused at once.
    auto size = static_cast<int64_t>(array.size());
    if (!CheckLength(shape, size, [&] { return "with " + std::to_string(size) + " items"; })) {
      return false;
    }
    for (size_t i = 0; i < array.size(); ++i) {
      if (array[i].is_null()) {
        Constraint("null", "Member must not be null");
        return AddIndex(i);
      }
      if (!Check(*shape.element, array[i], depth + 1)) return AddIndex(i);
    }
    return true;
  }

  bool CheckMap(const Shape& shape, boost::json::value& v, int depth) {
    if (!v.is_object()) return TypeError(shape, v);
    boost::json::object& object = v.get_object();
    auto size = static_cast<int64_t>(object.size());
    if (!CheckLength(shape, size, [&] { return "with " + std::to_string(size) + " entries"; })) {
      return false;
    }
    for (auto& [key, value] : object) {
      if (shape.key->type == ShapeType::kString && !CheckString(*shape.key, key)) return false;
      if (value.is_null()) {
        Constraint("null", "Member must not be null");
        return AddKey(key);
      }
      if (!Check(*shape.element, value, depth + 1)) return AddKey(key);
    }
    return true;
  }

  bool CheckString(const Shape& shape, std::string_view text) {
    if (!shape.enum_values.empty() && !shape.AllowsEnumValue(text)) {
      std::string allowed = "Member must satisfy enum value set: [";
      for (size_t i = 0; i < shape.enum_values.size(); ++i) {
        if (i > 0) allowed += ", ";
        allowed += shape.enum_values[i];
      }
      return Constraint(Quote(text), allowed + "]");
    }
    if (shape.min.set || shape.max.set) {
      auto length = static_cast<int64_t>(CodePoints(text));
      if (!CheckLength(shape, length, [&] { return Quote(text); })) return false;
    }
    if (shape.pattern && !shape.pattern->Matches(text)) {
      return Constraint(Quote(text), "Member must satisfy regular expression pattern: " +
                                         shape.pattern->source());
    }
    return true;
  }

  template <typename Describe>
  bool CheckLength(const Shape& shape, int64_t length, Describe describe) {
    if (Below(shape.min, length)) {
      return Constraint(describe(),
                        "Member must have length greater than or equal to " + BoundText(shape.min));
    }
    if (Above(shape.max, length)) {
      return Constraint(describe(),
                        "Member must have length less than or equal to " + BoundText(shape.max));
    }
    return true;
  }

  bool CheckInteger(const Shape& shape, boost::json::value& v) {
    int64_t n = 0;
    if (v.is_int64()) {
      n = v.get_int64();
    } else if (v.is_uint64()) {
      return Serialization("expected a 64-bit integer, found " + std::to_string(v.get_uint64()));
    } else if (v.is_double()) {
      // 512.0 is an integer that some JSON encoders write with a point.
      double d = v.get_double();
      if (!std::isfinite(d) || d != std::trunc(d)) return TypeError(shape, v);
      if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
        return Serialization("expected a 64-bit integer, found " + NumberText(d));
      }
      n = static_cast<int64_t>(d);
      v.emplace_int64() = n;
    } else {
      return TypeError(shape, v);
    }
    if (shape.type == ShapeType::kInteger && (n < INT32_MIN || n > INT32_MAX)) {
      return Serialization("expected a 32-bit integer, found " + std::to_string(n));
    }
    if (Below(shape.min, n)) {
      return Constraint(Quote(std::to_string(n)),
                        "Member must have value greater than or equal to " + BoundText(shape.min));
    }
    if (Above(shape.max, n)) {
      return Constraint(Quote(std::to_string(n)),
                        "Member must have value less than or equal to " + BoundText(shape.max));
    }
    return true;
  }

  bool TypeError(const Shape& shape, const boost::json::value& v) {
    return Serialization(std::string("expected ") + ExpectedName(shape.type) + ", found " +
                         KindName(v));
  }

  bool Serialization(std::string detail) {
    failure_.serialization = true;
    failure_.detail = std::move(detail);
    return false;
  }

  bool Constraint(std::string value, std::string detail) {
    failure_.serialization = false;
    failure_.value = std::move(value);
    failure_.detail = std::move(detail);
    return false;
  }

  bool AddKey(std::string_view key) {
    failure_.path.push_back(PathSegment{std::string(key), 0, false});
    return false;
  }

  bool AddIndex(size_t index) {
    failure_.path.push_back(PathSegment{{}, index, true});
    return false;
  }

  Failure failure_;
  std::vector<std::string>* unknown_names_ = nullptr;
  size_t kept_bytes_ = 0;
};

std::string JoinPath(const std::vector<PathSegment>& innermost_first) {
  std::string path;
  for (auto it = innermost_first.rbegin(); it != innermost_first.rend(); ++it) {
    if (it->is_index) {
      path += '[';
      path += std::to_string(it->index);
      path += ']';
    } else {
      if (!path.empty()) path += '.';
      path += it->key;
    }
  }
  return path;
}

}  // namespace

std::optional<ApiError> ValidateAgainstShape(const Shape& input, boost::json::value& body,
                                             std::vector<std::string>* unknown_names) {
  Walker walker;
  walker.set_unknown_names(unknown_names);
  if (walker.Check(input, body, 1)) return std::nullopt;
  const Failure& failure = walker.failure();
  std::string path = JoinPath(failure.path);
  if (failure.too_large) {
    return ApiError{"RequestEntityTooLargeException", path + ": " + failure.detail};
  }
  if (failure.serialization) {
    return ApiError{"SerializationException",
                    (path.empty() ? std::string("request body") : path) + ": " + failure.detail};
  }
  return ApiError{"InvalidParameterException",
                  "1 validation error detected: Value " + failure.value + " at '" + path +
                      "' failed to satisfy constraint: " + failure.detail};
}

}  // namespace berth::model
