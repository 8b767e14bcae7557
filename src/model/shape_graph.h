// The in-memory form of a service model: shapes that point at each other, so
// that validating a request walks pointers and never looks a name up twice.
// Internal to src/model.
//
// Built from the compact JSON that gen_models.py embeds:
//   {"targetPrefix": "...",
//    "operations": {"RunTask": "RunTaskRequest", "Op": null, ...},
//    "shapes": {"RunTaskRequest": {"type": "structure", "members": {"cluster": "String"},
//                                  "required": ["taskDefinition"]},
//               "Tags": {"type": "list", "member": "Tag", "min": 0, "max": 50}, ...}}
// where shapes keep botocore's type, members, required, enum, min, max,
// pattern, member, key, value and timestampFormat.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "model/pattern.h"

namespace berth::model {

enum class ShapeType : uint8_t {
  kStructure,
  kList,
  kMap,
  kString,
  kInteger,
  kLong,
  kBoolean,
  kDouble,
  kFloat,
  kTimestamp,
  kBlob,
};

// A min or max of a shape: a length for strings, blobs, lists and maps, a
// value for numbers. Kept exact for integers, which is what the models use.
struct Bound {
  bool set = false;
  bool integral = true;
  int64_t integer = 0;
  double real = 0;
};

struct Shape;

struct Member {
  std::string name;
  const Shape* shape = nullptr;
  bool required = false;
};

struct Shape {
  std::string name;
  ShapeType type = ShapeType::kStructure;
  std::vector<Member> members;  // structure; sorted by name
  size_t required_count = 0;
  const Shape* element = nullptr;        // list member, map value
  const Shape* key = nullptr;            // map key
  std::vector<std::string> enum_values;  // in model order, then extensions
  Bound min;
  Bound max;
  std::optional<Pattern> pattern;
  std::string unenforced_pattern;  // a pattern Pattern could not compile

  const Member* FindMember(std::string_view member_name) const;
  bool AllowsEnumValue(std::string_view value) const;
};

struct ShapeGraph {
  std::string target_prefix;
  // Where the model came from, for people: "2014-11-13 (botocore 1.29.27) ...".
  std::string version;
  // Sized once, so the pointers between shapes stay valid when it moves.
  std::vector<Shape> shapes;
  // Sorted by name. An operation without input points at an empty structure.
  std::vector<std::pair<std::string, const Shape*>> operations;

  const Shape* FindOperationInput(std::string_view operation) const;
  Shape* FindShape(std::string_view name);
};

StatusOr<ShapeGraph> BuildShapeGraph(std::string_view compact_json);

}  // namespace berth::model
