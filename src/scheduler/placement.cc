#include "scheduler/placement.h"

#include <algorithm>
#include <utility>

#include "scheduler/placement_reservation.h"

namespace berth::scheduler {

Status ApplyPlacement(ClusterSnapshot& snapshot, const PlacementRequest& request,
                      const TaskPlacement& placement) {
  auto it =
      std::find_if(snapshot.instances.begin(), snapshot.instances.end(),
                   [&](const SnapshotInstance& i) { return i.facts.id == placement.instance_id; });
  SnapshotInstance* instance = it == snapshot.instances.end() ? nullptr : &*it;
  BERTH_RETURN_IF_ERROR(CanReserve(instance, request, placement));
  Reserve(*instance, request, placement);
  return Status::Ok();
}

StatusOr<PlacementResult> PlaceTasks(const ClusterSnapshot& snapshot,
                                     const PlacementRequest& request, int count,
                                     std::mt19937_64& random) {
  if (count < 0) return InvalidArgument("count must not be negative");
  Placer placer(snapshot);
  return placer.PlaceTasks(request, count, random);
}

StatusOr<GangPlacement> PlaceGang(const ClusterSnapshot& snapshot, const PlacementRequest& request,
                                  int size, const std::optional<std::string>& same_attribute,
                                  std::mt19937_64& random) {
  if (size < 1) return InvalidArgument("a gang needs at least one task");
  Placer placer(snapshot);
  return placer.PlaceGang(request, size, same_attribute, random);
}

}  // namespace berth::scheduler
