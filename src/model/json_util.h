// Small accessors for request objects that have already passed shape
// validation (so a present member has the model's type).
#pragma once

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
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

inline std::optional<int64_t> OptInt(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  return std::nullopt;
}

inline bool BoolOr(const boost::json::object& o, std::string_view key, bool fallback) {
  auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() ? v->get_bool() : fallback;
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
