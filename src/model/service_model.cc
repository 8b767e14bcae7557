#include "model/service_model.h"

#include <algorithm>
#include <boost/json/value.hpp>
#include <cstdlib>

#include "common/log.h"
#include "model/embedded_models.h"
#include "model/input_validator.h"
#include "model/shape_graph.h"

namespace berth::model {

struct ServiceModel::Impl {
  ShapeGraph graph;
};

namespace {

// The embedded models are part of the binary: one that does not load is a
// build defect, and nothing can be served without it.
std::unique_ptr<ServiceModel> MustLoad(std::string_view name, const std::string& json) {
  auto model = ServiceModel::FromCompactJson(json);
  if (!model.ok()) {
    LogError("embedded service model does not load",
             {{"model", std::string(name)}, {"error", model.status().ToString()}});
    std::abort();
  }
  return std::move(model).value();
}

void MustAllow(ServiceModel& model, std::string_view shape, std::string_view value) {
  Status status = model.AllowExtraEnumValue(shape, value);
  if (!status.ok()) {
    LogError("service model extension does not apply", {{"error", status.ToString()}});
    std::abort();
  }
}

}  // namespace

ServiceModel::ServiceModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServiceModel::~ServiceModel() = default;

StatusOr<std::unique_ptr<ServiceModel>> ServiceModel::FromCompactJson(std::string_view json) {
  StatusOr<ShapeGraph> graph = BuildShapeGraph(json);
  if (!graph.ok()) return graph.status();
  auto impl = std::make_unique<Impl>();
  impl->graph = std::move(graph).value();
  return std::unique_ptr<ServiceModel>(new ServiceModel(std::move(impl)));
}

// The models live until exit and are never destroyed (as Google style asks of
// non-trivial statics), so that a request still in flight while the process
// exits does not validate against a destroyed model.
const ServiceModel& ServiceModel::Ecs() {
  static const ServiceModel& model = *[] {
    std::unique_ptr<ServiceModel> ecs = MustLoad("ecs", EmbeddedEcsModel());
    // berth's extensions of ECS: Neuron devices and EFA devices (the
    // collective network of multi-node training) as resources a container
    // asks for, and as device types an instance registers.
    MustAllow(*ecs, "ResourceType", "NeuronDevice");
    MustAllow(*ecs, "PlatformDeviceType", "NEURON_DEVICE");
    MustAllow(*ecs, "ResourceType", "EFA");
    MustAllow(*ecs, "PlatformDeviceType", "EFA");
    return ecs.release();
  }();
  return model;
}

const ServiceModel& ServiceModel::Ecr() {
  static const ServiceModel& model = *MustLoad("ecr", EmbeddedEcrModel()).release();
  return model;
}

std::string_view ServiceModel::target_prefix() const { return impl_->graph.target_prefix; }

std::string_view ServiceModel::version() const { return impl_->graph.version; }

bool ServiceModel::HasOperation(std::string_view operation) const {
  return impl_->graph.FindOperationInput(operation) != nullptr;
}

std::vector<std::string_view> ServiceModel::OperationNames() const {
  std::vector<std::string_view> names;
  names.reserve(impl_->graph.operations.size());
  for (const auto& [name, input] : impl_->graph.operations) names.push_back(name);
  return names;
}

std::optional<ApiError> ServiceModel::ValidateInput(
    std::string_view operation, boost::json::value& body,
    std::vector<std::string>* unknown_members) const {
  const Shape* input = impl_->graph.FindOperationInput(operation);
  if (input == nullptr) {
    return ApiError{"UnknownOperationException",
                    "operation " + std::string(operation) + " is not in the service model"};
  }
  return ValidateAgainstShape(*input, body, unknown_members);
}

Status ServiceModel::AllowExtraEnumValue(std::string_view shape, std::string_view value) {
  Shape* target = impl_->graph.FindShape(shape);
  if (target == nullptr || target->type != ShapeType::kString || target->enum_values.empty()) {
    return NotFound("no enum shape " + std::string(shape) + " in the service model");
  }
  if (!target->AllowsEnumValue(value)) target->enum_values.emplace_back(value);
  return Status::Ok();
}

std::vector<std::string> ServiceModel::UnenforcedPatterns() const {
  std::vector<std::string> shapes;
  for (const Shape& shape : impl_->graph.shapes) {
    if (!shape.unenforced_pattern.empty()) shapes.push_back(shape.name);
  }
  return shapes;
}

}  // namespace berth::model
