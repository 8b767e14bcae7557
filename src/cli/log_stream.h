// Reading a container's output through the server: GET /berth/v1/logs from
// an offset, as `berth logs` and `berth task run --wait` print it.
#pragma once

#include <string>

#include "awsjson/client.h"
#include "common/status.h"

namespace berth::cli {

// How long one follow request waits for more output; the client's timeout
// must be longer.
inline constexpr int kLogFollowWaitSeconds = 15;

// Prints the container's output to stdout from the start; with follow, until
// the container exits (the server says the log is complete).
Status StreamLogs(awsjson::Client& client, const std::string& cluster, const std::string& task,
                  const std::string& container, bool follow);

}  // namespace berth::cli
