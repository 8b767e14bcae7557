// The compact service models that gen_models.py embeds at build time
// (see service_model.cc for their form). Internal to src/model.
#pragma once

#include <string>

namespace berth::model {

std::string EmbeddedEcsModel();
std::string EmbeddedEcrModel();

}  // namespace berth::model
