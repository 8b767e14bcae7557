// Tolerant accessors for JSON objects: a member that is absent or of another
// JSON type reads as absent (or as the fallback), so that checks after shape
// validation, and reads of stored records, never throw.
#pragma once

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::model {

inline std::optional<std::string_view> OptString(const boost::json::object& o,
                                                 std::string_view key) {
  auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string_view(v->get_string());
}

inline std::string_view StringOr(const boost::json::object& o, std::string_view key,
                                 std::string_view fallback) {
  return OptString(o, key).value_or(fallback);
}

// A whole number; one above int64's range reads as INT64_MAX (more than any
// limit checked against), a fraction is truncated, a double out of range
// reads as absent.
inline std::optional<int64_t> OptInt(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return INT64_MAX;
  if (v->is_double() && std::isfinite(v->get_double()) && std::abs(v->get_double()) < 9e18) {
    return static_cast<int64_t>(v->get_double());
  }
  return std::nullopt;
}

inline std::optional<bool> OptBool(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_bool()) return std::nullopt;
  return v->get_bool();
}

inline bool BoolOr(const boost::json::object& o, std::string_view key, bool fallback) {
  return OptBool(o, key).value_or(fallback);
}

// The object at key, or nullptr.
inline const boost::json::object* ObjectAt(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

// The value as an object; an empty one for list elements that are not.
inline const boost::json::object& AsObject(const boost::json::value& v) {
  static const boost::json::object kEmpty;
  return v.is_object() ? v.get_object() : kEmpty;
}

// The array at key, or an empty one.
inline const boost::json::array& ArrayOr(const boost::json::object& o, std::string_view key) {
  static const boost::json::array kEmpty;
  auto* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? v->get_array() : kEmpty;
}

inline std::string_view AsString(const boost::json::value& v) {
  return v.is_string() ? std::string_view(v.get_string()) : std::string_view();
}

// True if the string list at key contains value.
inline bool ListContains(const boost::json::object& o, std::string_view key,
                         std::string_view value) {
  for (const auto& item : ArrayOr(o, key)) {
    if (AsString(item) == value) return true;
  }
  return false;
}

// Removes the elements of a for which pred holds.
template <typename Pred>
void EraseIf(boost::json::array& a, Pred pred) {
  a.erase(std::remove_if(a.begin(), a.end(), pred), a.end());
}

}  // namespace berth::model
