#include "scheduler/placement_request.h"

#include <set>
#include <string>
#include <utility>

namespace berth::scheduler {
namespace {

Status CheckAmounts(const PlacementRequest& r) {
  if (r.cpu < 0) return InvalidArgument("cpu must not be negative");
  if (r.memory_mib < 0) return InvalidArgument("memory must not be negative");
  if (r.gpu_count < 0) return InvalidArgument("GPU count must not be negative");
  if (r.neuron_device_count < 0) return InvalidArgument("NeuronDevice count must not be negative");
  if (r.all_neuron_devices && r.neuron_device_count > 0) {
    return InvalidArgument("NeuronDevice is either ALL or a count, not both");
  }
  for (int id : r.exact_neuron_devices) {
    if (id < 0) return InvalidArgument("/dev/neuron" + std::to_string(id) + " is not a device");
  }
  if (r.efa_device_count < 0) return InvalidArgument("EFA count must not be negative");
  if (r.all_efa_devices && r.efa_device_count > 0) {
    return InvalidArgument("EFA is either ALL or a count, not both");
  }
  for (int id : r.exact_efa_devices) {
    if (id < 0) {
      return InvalidArgument("/dev/infiniband/uverbs" + std::to_string(id) + " is not a device");
    }
  }
  std::set<std::pair<int, PortProtocol>> seen;
  for (const HostPort& p : r.host_ports) {
    if (p.port < 1 || p.port > 65535) {
      return InvalidArgument("host port " + std::to_string(p.port) + " is not in 1..65535");
    }
    if (!seen.insert({p.port, p.protocol}).second) {
      return InvalidArgument("host port " + std::to_string(p.port) + " is mapped twice");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<CompiledRequest> CompileRequest(const PlacementRequest& request) {
  BERTH_RETURN_IF_ERROR(CheckAmounts(request));
  CompiledRequest compiled;
  compiled.request = request;
  for (size_t i = 0; i < request.constraints.size(); ++i) {
    const PlacementConstraint& c = request.constraints[i];
    const std::string where = "placementConstraints[" + std::to_string(i) + "]";
    if (c.type == "distinctInstance") {
      if (!c.expression.empty()) {
        return InvalidArgument(where + ": distinctInstance takes no expression");
      }
      compiled.distinct_instance = true;
    } else if (c.type == "memberOf") {
      if (c.expression.empty()) return InvalidArgument(where + ": memberOf needs an expression");
      StatusOr<Query> query = Query::Parse(c.expression);
      if (!query.ok()) return query.status().WithContext(where);
      compiled.member_of.push_back(std::move(query).value());
    } else {
      return InvalidArgument(where + ": type must be distinctInstance or memberOf, got '" + c.type +
                             "'");
    }
  }
  std::vector<PlacementStrategy> strategies = request.strategies;
  if (strategies.empty()) {
    strategies = {{"spread", "attribute:ecs.availability-zone"}, {"spread", "instanceId"}};
  }
  if (request.neuron_device_count > 0) compiled.scorers.push_back(MakeNeuronTopologyScorer());
  for (size_t i = 0; i < strategies.size(); ++i) {
    StatusOr<std::shared_ptr<const PlacementScorer>> scorer = MakeStrategyScorer(strategies[i]);
    if (!scorer.ok()) {
      return scorer.status().WithContext("placementStrategy[" + std::to_string(i) + "]");
    }
    compiled.scorers.push_back(std::move(scorer).value());
  }
  return compiled;
}

}  // namespace berth::scheduler
