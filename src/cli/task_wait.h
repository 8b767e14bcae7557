// What `berth task run --wait` decides from the API's replies, as pure
// functions: which container it follows and what it exits with.
#pragma once

#include <boost/json/object.hpp>
#include <string>

namespace berth::cli {

// The first essential container of a task definition (DescribeTaskDefinition's
// taskDefinition; a container is essential unless it says otherwise), or ""
// when none is.
std::string EssentialContainer(const boost::json::object& definition);

// How a stopped task ends for `task run --wait`: the container's exit code,
// or 1 when it has none (it never ran), and the task's stoppedReason.
struct TaskExit {
  int code = 1;
  std::string reason;
};
TaskExit ExitOf(const boost::json::object& task, const std::string& container);

}  // namespace berth::cli
