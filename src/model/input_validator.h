// Checks a request body against its input shape (see
// ServiceModel::ValidateInput for the rules and messages). Internal to
// src/model.
#pragma once

#include <boost/json/fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/service_model.h"
#include "model/shape_graph.h"

namespace berth::model {

// input is a structure shape. Thread-safe for distinct bodies. The names
// of the members set aside as unknown ("ContainerDefinition.fooBar") are
// appended to unknown_names when it is not null.
std::optional<ApiError> ValidateAgainstShape(const Shape& input, boost::json::value& body,
                                             std::vector<std::string>* unknown_names);

}  // namespace berth::model
