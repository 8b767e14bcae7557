// Tolerant accessors for request objects: a member that is absent or of
// another JSON type reads as absent, so that checks after shape validation
// never throw on input that skipped it. Internal to src/model.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

namespace berth::model::json_fields {

inline std::optional<std::string_view> String(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string_view(v->get_string());
}

inline std::optional<int64_t> Int(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return INT64_MAX;  // more than any limit checked against
  if (v->is_double() && std::isfinite(v->get_double()) && std::abs(v->get_double()) < 9e18) {
    return static_cast<int64_t>(v->get_double());
  }
  return std::nullopt;
}

inline std::optional<bool> Bool(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_bool()) return std::nullopt;
  return v->get_bool();
}

// The array at key, or an empty one.
inline const boost::json::array& Array(const boost::json::object& o, std::string_view key) {
  static const boost::json::array kEmpty;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? v->get_array() : kEmpty;
}

// The object at key, or nullptr.
inline const boost::json::object* Object(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

// An empty object for list elements that are not objects.
inline const boost::json::object& AsObject(const boost::json::value& v) {
  static const boost::json::object kEmpty;
  return v.is_object() ? v.get_object() : kEmpty;
}

inline std::string_view AsString(const boost::json::value& v) {
  return v.is_string() ? std::string_view(v.get_string()) : std::string_view();
}

}  // namespace berth::model::json_fields
