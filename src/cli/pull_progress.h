// The image pulls of a PENDING task as `berth task run --wait` shows them: a
// bar per layer (GET /berth/v1/pulls, which the server forwards to the
// task's agent).
#pragma once

#include <boost/json/object.hpp>
#include <set>
#include <string>
#include <vector>

namespace berth::cli {

// "12.3 MiB", "512 B".
std::string FormatBytes(uint64_t bytes);

// One line per layer of each container's pull (the agent's {"containers":
// [...]} reply): "CONTAINER sha256:0123456789ab [####------] 40% 1.2/3.0 MiB",
// the bar narrowed to fit width (0: no limit).
std::vector<std::string> PullBarLines(const boost::json::object& pulls, size_t width);

// Draws the bars on a terminal, redrawing them in place at each Show; on
// anything else, prints one line per layer as it completes, so that a log
// file is not flooded.
class PullProgressView {
 public:
  explicit PullProgressView(bool terminal, size_t width) : terminal_(terminal), width_(width) {}
  void Show(const boost::json::object& pulls);

 private:
  bool terminal_;
  size_t width_;
  size_t lines_drawn_ = 0;          // on a terminal: the lines to go back over
  std::set<std::string> reported_;  // otherwise: "container digest" already printed
};

}  // namespace berth::cli
