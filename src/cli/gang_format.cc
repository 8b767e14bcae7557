#include "cli/gang_format.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "cli/table.h"
#include "cli/views.h"
#include "model/json_util.h"

namespace berth::cli {

namespace json = boost::json;
using model::ArrayOr;
using model::OptInt;
using model::StringOr;

namespace {

std::string Number(const json::object& o, std::string_view key) {
  std::optional<int64_t> n = OptInt(o, key);
  return n ? std::to_string(*n) : "-";
}

}  // namespace

std::string FormatGangList(const json::array& gangs) {
  std::vector<std::vector<std::string>> rows{{"NAME", "STATUS", "SIZE", "ATTEMPT", "REASON"}};
  for (const auto& g : gangs) {
    const json::object& gang = g.as_object();
    rows.push_back({std::string(StringOr(gang, "gangName", "")),
                    std::string(StringOr(gang, "status", "")), Number(gang, "size"),
                    Number(gang, "attempt"), std::string(StringOr(gang, "reason", ""))});
  }
  return RenderTable(rows);
}

std::string FormatGang(const json::object& gang) {
  std::string out = "gang " + std::string(StringOr(gang, "gangName", "")) + ": " +
                    std::string(StringOr(gang, "status", "")) + ", " + Number(gang, "size") +
                    " ranks, attempt " + Number(gang, "attempt") + " (at most " +
                    Number(gang, "maxRestarts") + " restarts)\n";
  if (std::string_view reason = StringOr(gang, "reason", ""); !reason.empty()) {
    out += "reason: " + std::string(reason) + "\n";
  }
  if (const json::object* queue = model::ObjectAt(gang, "queue")) {
    out += "queued: " + std::string(StringOr(*queue, "queue", "")) + ", position " +
           Number(*queue, "position") + " (priority " + Number(*queue, "priority") + ")\n";
  }
  for (const auto& a : ArrayOr(gang, "attempts")) {
    const json::object& attempt = a.as_object();
    out += "\nattempt " + Number(attempt, "attempt");
    if (std::string_view reason = StringOr(attempt, "reason", ""); !reason.empty()) {
      out += ": ended, " + std::string(reason);
    }
    out += "\n";
    std::vector<std::vector<std::string>> rows{
        {"RANK", "TASK", "INSTANCE", "STATUS", "EXIT", "DEVICES", "REASON"}};
    for (const auto& r : ArrayOr(attempt, "ranks")) {
      const json::object& rank = r.as_object();
      rows.push_back({Number(rank, "rank"), std::string(ArnTail(StringOr(rank, "taskArn", ""))),
                      std::string(ArnTail(StringOr(rank, "containerInstanceArn", "-"))),
                      std::string(StringOr(rank, "lastStatus", "")), Number(rank, "exitCode"),
                      DeviceList(rank), std::string(StringOr(rank, "stoppedReason", ""))});
    }
    out += RenderTable(rows);
  }
  return out;
}

}  // namespace berth::cli
