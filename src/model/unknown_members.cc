#include "model/unknown_members.h"

#include <boost/json/value.hpp>

namespace berth::model {

namespace json = boost::json;

namespace {

// Only an object under the key is a kept set: a map (dockerLabels, log
// options) may hold the key as one of its own string-valued entries.
json::object* KeptSet(json::object& o) {
  json::value* kept = o.if_contains(kUnknownMembersKey);
  return kept != nullptr && kept->is_object() ? &kept->get_object() : nullptr;
}

// visit(object) for v when it is an object, for each element when it is an
// array (at any depth of arrays).
template <typename Visit>
void ForEachObject(json::value& v, const Visit& visit) {
  if (v.is_array()) {
    for (auto& element : v.get_array()) ForEachObject(element, visit);
  } else if (v.is_object()) {
    visit(v.get_object());
  }
}

}  // namespace

void CarryUnknownMembers(const json::object& from, json::object& to) {
  const json::value* given = from.if_contains(kUnknownMembersKey);
  if (given == nullptr || !given->is_object() || given->get_object().empty()) return;
  json::value& kept = to[kUnknownMembersKey];
  if (!kept.is_object()) kept.emplace_object();
  for (const auto& [key, value] : given->get_object()) kept.get_object()[key] = value;
}

void UnfoldUnknownMembers(json::value& v) {
  ForEachObject(v, [](json::object& o) {
    json::object kept;
    if (json::object* set = KeptSet(o)) {
      kept = std::move(*set);
      o.erase(kUnknownMembersKey);
    }
    for (auto& [key, value] : o) UnfoldUnknownMembers(value);
    for (auto& [key, value] : kept) {
      if (!o.contains(key)) o.emplace(key, std::move(value));
    }
  });
}

void DropUnknownMembers(json::value& v) {
  ForEachObject(v, [](json::object& o) {
    if (KeptSet(o) != nullptr) o.erase(kUnknownMembersKey);
    for (auto& [key, value] : o) DropUnknownMembers(value);
  });
}

}  // namespace berth::model
