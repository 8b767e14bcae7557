#include "model/shape_graph.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <unordered_map>

namespace berth::model {

namespace {

constexpr std::string_view kNoInputShape = "berth#NoInput";

std::optional<ShapeType> ParseType(std::string_view type) {
  if (type == "structure") return ShapeType::kStructure;
  if (type == "list") return ShapeType::kList;
  if (type == "map") return ShapeType::kMap;
  if (type == "string") return ShapeType::kString;
  if (type == "integer") return ShapeType::kInteger;
  if (type == "long") return ShapeType::kLong;
  if (type == "boolean") return ShapeType::kBoolean;
  if (type == "double") return ShapeType::kDouble;
  if (type == "float") return ShapeType::kFloat;
  if (type == "timestamp") return ShapeType::kTimestamp;
  if (type == "blob") return ShapeType::kBlob;
  return std::nullopt;
}

std::optional<Bound> ParseBound(const boost::json::value& v) {
  Bound bound;
  bound.set = true;
  if (v.is_int64()) {
    bound.integer = v.get_int64();
    bound.real = static_cast<double>(bound.integer);
  } else if (v.is_uint64()) {
    bound.integer = INT64_MAX;  // only a max can be this large; clamping keeps it exact enough
    bound.real = static_cast<double>(v.get_uint64());
  } else if (v.is_double()) {
    bound.integral = false;
    bound.real = v.get_double();
  } else {
    return std::nullopt;
  }
  return bound;
}

Status Malformed(std::string_view shape, std::string_view what) {
  return InvalidArgument("service model shape " + std::string(shape) + ": " + std::string(what));
}

// Second pass: everything but the references, which need all shapes to exist.
Status FillShape(const boost::json::object& spec, Shape& shape) {
  const auto* type = spec.if_contains("type");
  if (type == nullptr || !type->is_string()) return Malformed(shape.name, "no type");
  std::optional<ShapeType> parsed = ParseType(type->get_string());
  if (!parsed) return Malformed(shape.name, "unknown type " + std::string(type->get_string()));
  shape.type = *parsed;
  if (const auto* values = spec.if_contains("enum")) {
    if (!values->is_array()) return Malformed(shape.name, "enum is not a list");
    for (const auto& value : values->get_array()) {
      if (!value.is_string()) return Malformed(shape.name, "enum value is not a string");
      shape.enum_values.emplace_back(value.get_string());
    }
  }
  for (auto [key, bound] : {std::pair{"min", &shape.min}, std::pair{"max", &shape.max}}) {
    if (const auto* v = spec.if_contains(key)) {
      std::optional<Bound> parsed_bound = ParseBound(*v);
      if (!parsed_bound) return Malformed(shape.name, std::string(key) + " is not a number");
      *bound = *parsed_bound;
    }
  }
  if (const auto* pattern = spec.if_contains("pattern")) {
    if (!pattern->is_string()) return Malformed(shape.name, "pattern is not a string");
    shape.pattern = Pattern::Compile(pattern->get_string());
    if (!shape.pattern) shape.unenforced_pattern = std::string(pattern->get_string());
  }
  return Status::Ok();
}

}  // namespace

const Member* Shape::FindMember(std::string_view member_name) const {
  auto it = std::lower_bound(members.begin(), members.end(), member_name,
                             [](const Member& m, std::string_view n) { return m.name < n; });
  if (it == members.end() || it->name != member_name) return nullptr;
  return &*it;
}

bool Shape::AllowsEnumValue(std::string_view value) const {
  return std::find(enum_values.begin(), enum_values.end(), value) != enum_values.end();
}

const Shape* ShapeGraph::FindOperationInput(std::string_view operation) const {
  auto it = std::lower_bound(operations.begin(), operations.end(), operation,
                             [](const std::pair<std::string, const Shape*>& op,
                                std::string_view n) { return op.first < n; });
  if (it == operations.end() || it->first != operation) return nullptr;
  return it->second;
}

Shape* ShapeGraph::FindShape(std::string_view name) {
  for (Shape& shape : shapes) {
    if (shape.name == name) return &shape;
  }
  return nullptr;
}

namespace {

// {"apiVersion", "botocore", "added": {"operations": n, ...}, "additionsFollow"}
// as one line.
std::string DescribeVersion(const boost::json::object& version) {
  auto text = [&](const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string("unknown");
  };
  std::string out =
      "API " + text(version, "apiVersion") + " from botocore " + text(version, "botocore");
  const auto* added = version.if_contains("added");
  if (added == nullptr || !added->is_object()) return out;
  std::string counts;
  for (const auto& [what, n] : added->get_object()) {
    if (!n.is_int64()) continue;
    counts +=
        (counts.empty() ? "" : ", ") + std::to_string(n.get_int64()) + " " + std::string(what);
  }
  out += " + berth's additions (" + counts + ")";
  std::string follows = text(version, "additionsFollow");
  if (follows != "unknown" && !follows.empty()) out += " following " + follows;
  return out;
}

}  // namespace

StatusOr<ShapeGraph> BuildShapeGraph(std::string_view compact_json) {
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(compact_json, ec);
  if (ec || !root.is_object()) return InvalidArgument("service model is not a JSON object");
  const auto& model = root.get_object();
  const auto* prefix = model.if_contains("targetPrefix");
  const auto* operations = model.if_contains("operations");
  const auto* shapes = model.if_contains("shapes");
  if (prefix == nullptr || !prefix->is_string() || operations == nullptr ||
      !operations->is_object() || shapes == nullptr || !shapes->is_object()) {
    return InvalidArgument("service model lacks targetPrefix, operations or shapes");
  }

  ShapeGraph graph;
  graph.target_prefix = std::string(prefix->get_string());
  if (const auto* version = model.if_contains("version"); version && version->is_object()) {
    graph.version = DescribeVersion(version->get_object());
  }
  const auto& specs = shapes->get_object();
  graph.shapes.resize(specs.size() + 1);  // never again: shapes point into it
  std::unordered_map<std::string_view, Shape*> by_name;
  size_t i = 0;
  for (const auto& [name, spec] : specs) {
    Shape& shape = graph.shapes[i++];
    shape.name = std::string(name);
    by_name.emplace(shape.name, &shape);
    if (!spec.is_object()) return Malformed(shape.name, "not an object");
    BERTH_RETURN_IF_ERROR(FillShape(spec.get_object(), shape));
  }
  Shape& no_input = graph.shapes.back();
  no_input.name = std::string(kNoInputShape);

  auto resolve = [&](const Shape& from, const boost::json::value* ref, const Shape** to) -> Status {
    if (ref == nullptr) return Status::Ok();
    if (!ref->is_string()) return Malformed(from.name, "reference is not a name");
    auto it = by_name.find(std::string_view(ref->get_string()));
    if (it == by_name.end()) {
      return Malformed(from.name, "refers to unknown shape " + std::string(ref->get_string()));
    }
    *to = it->second;
    return Status::Ok();
  };
  i = 0;
  for (const auto& [name, spec] : specs) {
    Shape& shape = graph.shapes[i++];
    const auto& object = spec.get_object();
    BERTH_RETURN_IF_ERROR(resolve(shape, object.if_contains("member"), &shape.element));
    BERTH_RETURN_IF_ERROR(resolve(shape, object.if_contains("value"), &shape.element));
    BERTH_RETURN_IF_ERROR(resolve(shape, object.if_contains("key"), &shape.key));
    if ((shape.type == ShapeType::kList || shape.type == ShapeType::kMap) &&
        shape.element == nullptr) {
      return Malformed(shape.name, "has no member or value shape");
    }
    if (shape.type == ShapeType::kMap && shape.key == nullptr) {
      return Malformed(shape.name, "has no key shape");
    }
    if (const auto* members = object.if_contains("members")) {
      if (!members->is_object()) return Malformed(shape.name, "members is not an object");
      for (const auto& [member_name, ref] : members->get_object()) {
        Member member;
        member.name = std::string(member_name);
        BERTH_RETURN_IF_ERROR(resolve(shape, &ref, &member.shape));
        shape.members.push_back(std::move(member));
      }
      std::sort(shape.members.begin(), shape.members.end(),
                [](const Member& a, const Member& b) { return a.name < b.name; });
    }
    if (const auto* required = object.if_contains("required")) {
      if (!required->is_array()) return Malformed(shape.name, "required is not a list");
      for (const auto& member_name : required->get_array()) {
        if (!member_name.is_string()) return Malformed(shape.name, "required name not a string");
        auto* member = const_cast<Member*>(shape.FindMember(member_name.get_string()));
        if (member == nullptr) {
          return Malformed(shape.name,
                           "requires undefined member " + std::string(member_name.get_string()));
        }
        if (!member->required) ++shape.required_count;
        member->required = true;
      }
    }
  }

  for (const auto& [name, input] : operations->get_object()) {
    const Shape* shape = &no_input;
    if (!input.is_null()) {
      if (!input.is_string() || !by_name.contains(std::string_view(input.get_string()))) {
        return InvalidArgument("service model operation " + std::string(name) +
                               " has an unknown input shape");
      }
      shape = by_name[std::string_view(input.get_string())];
      if (shape->type != ShapeType::kStructure) {
        return InvalidArgument("service model operation " + std::string(name) +
                               " input is not a structure");
      }
    }
    graph.operations.emplace_back(std::string(name), shape);
  }
  std::sort(graph.operations.begin(), graph.operations.end());
  return graph;
}

}  // namespace berth::model
