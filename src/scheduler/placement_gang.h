// What both gang engines share (the Placer's PlaceGang in placer.cc and the
// reference's ReferencePlaceGang in placement_gang.cc): how a gang request is
// read and how its failures are worded. The engines differ only in how they
// place the ranks.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "common/status.h"
#include "scheduler/placement.h"
#include "scheduler/placement_request.h"

namespace berth::scheduler {

// A gang request as both engines read it.
struct GangRequest {
  // distinctInstance always holds: ranks talk to each other over the
  // network and each needs the devices of a whole node.
  CompiledRequest compiled;
  // The attribute the ranks must share, from PlaceGang's same_attribute
  // ("attribute:" prefix dropped); "" without one.
  std::string attribute;
};

// InvalidArgument for a size below 1, a malformed request or an empty
// same_attribute name.
StatusOr<GangRequest> ReadGangRequest(const PlacementRequest& request, int size,
                                      const std::optional<std::string>& same_attribute);

// The failure when no instance has the gang's attribute at all.
PlacementFailure NoGangGroup(const std::string& attribute, int size);

// The failure of a gang that no group held, named after the closest group:
// the one with `value` (when the gang has an attribute), where `placed`
// ranks fit and the next failed with `rank_failure`.
PlacementFailure GangFailure(int size, const std::string& attribute, const std::string& value,
                             size_t placed, const PlacementFailure& rank_failure);

}  // namespace berth::scheduler
