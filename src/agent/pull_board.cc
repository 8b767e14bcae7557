#include "agent/pull_board.h"

#include <boost/json/array.hpp>

namespace berth::agent {

namespace json = boost::json;

void PullBoard::Update(const std::string& task_id, const std::string& container,
                       const std::string& image, const PullProgress& progress) {
  std::lock_guard lock(mu_);
  tasks_[task_id][container] = ContainerPull{image, false, progress};
}

void PullBoard::Cached(const std::string& task_id, const std::string& container,
                       const std::string& image) {
  std::lock_guard lock(mu_);
  tasks_[task_id][container] = ContainerPull{image, true, {}};
}

void PullBoard::Forget(const std::string& task_id) {
  std::lock_guard lock(mu_);
  tasks_.erase(task_id);
}

json::object PullBoard::Read(const std::string& task_id) const {
  json::array containers;
  std::lock_guard lock(mu_);
  if (auto task = tasks_.find(task_id); task != tasks_.end()) {
    for (const auto& [name, pull] : task->second) {
      json::array layers;
      for (const LayerProgress& layer : pull.progress.layers) {
        layers.push_back(json::object{{"digest", layer.digest},
                                      {"bytesDone", layer.bytes_done},
                                      {"bytesTotal", layer.bytes_total},
                                      {"done", layer.done}});
      }
      containers.push_back(json::object{{"name", name},
                                        {"image", pull.image},
                                        {"cached", pull.cached},
                                        {"bytesDone", pull.progress.bytes_done},
                                        {"bytesTotal", pull.progress.bytes_total},
                                        {"layers", std::move(layers)}});
    }
  }
  return json::object{{"containers", std::move(containers)}};
}

}  // namespace berth::agent
