#include "cli/log_stream.h"

#include <cstdio>

#include "http/query_string.h"

namespace berth::cli {

Status StreamLogs(awsjson::Client& client, const std::string& cluster, const std::string& task,
                  const std::string& container, bool follow) {
  uint64_t offset = 0;
  while (true) {
    std::string target = "/berth/v1/logs?cluster=" + http::EncodeQueryValue(cluster) +
                         "&task=" + http::EncodeQueryValue(task) +
                         "&container=" + http::EncodeQueryValue(container) +
                         "&offset=" + std::to_string(offset) +
                         "&waitSeconds=" + std::to_string(follow ? kLogFollowWaitSeconds : 0);
    auto reply = client.Send("GET", target);
    if (!reply.ok()) return reply.status();
    if (reply->status != 200) return awsjson::ErrorFromReply(*reply);
    std::fwrite(reply->body.data(), 1, reply->body.size(), stdout);
    std::fflush(stdout);
    const std::string* next = reply->Header("x-berth-log-offset");
    const std::string* complete = reply->Header("x-berth-log-complete");
    uint64_t next_offset = next ? std::stoull(*next) : offset;
    if (complete && *complete == "true") return Status::Ok();
    // Without follow, stop once what exists now has been printed.
    if (!follow && next_offset == offset) return Status::Ok();
    offset = next_offset;
  }
}

}  // namespace berth::cli
