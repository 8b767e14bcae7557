// Checks a request body against its input shape (see
// ServiceModel::ValidateInput for the rules and messages). Internal to
// src/model.
#pragma once

#include <boost/json/fwd.hpp>
#include <optional>

#include "model/service_model.h"
#include "model/shape_graph.h"

namespace berth::model {

// input is a structure shape. Thread-safe for distinct bodies.
std::optional<ApiError> ValidateAgainstShape(const Shape& input, boost::json::value& body);

}  // namespace berth::model
