// What the image pulls of each task on this node have done so far, layer by
// layer, so that `berth task run --wait` can draw a bar per layer while the
// task is PENDING (GET /berth/v1/agent/pulls, forwarded by the server).
// Kept in memory from a task's first pull report until its worker ends: a
// restarted agent has no bars for the pulls it did before.
//
// Thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <mutex>
#include <string>

#include "agent/image/image_store.h"

namespace berth::agent {

class PullBoard {
 public:
  // The latest progress of a container's image pull.
  void Update(const std::string& task_id, const std::string& container, const std::string& image,
              const PullProgress& progress);
  // The container's image was found whole in the node's cache (no pull).
  void Cached(const std::string& task_id, const std::string& container, const std::string& image);
  // The task's worker has ended.
  void Forget(const std::string& task_id);

  // {"containers": [{"name", "image", "cached", "bytesDone", "bytesTotal",
  // "layers": [{"digest", "bytesDone", "bytesTotal", "done"}]}]}: the
  // containers whose pull has reported, by name. A cached image has no
  // layers.
  boost::json::object Read(const std::string& task_id) const;

 private:
  struct ContainerPull {
    std::string image;
    bool cached = false;
    PullProgress progress;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, ContainerPull>> tasks_;  // task id -> container
};

}  // namespace berth::agent
