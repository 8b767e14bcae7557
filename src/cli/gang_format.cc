#include "cli/gang_format.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "model/json_util.h"

namespace berth::cli {

namespace json = boost::json;
using model::ArrayOr;
using model::OptInt;
using model::StringOr;

namespace {

// The id at the end of an ARN: "arn:...:task/c/ID" -> "ID".
std::string_view Tail(std::string_view arn) { return arn.substr(arn.rfind('/') + 1); }

std::string Number(const json::object& o, std::string_view key) {
  std::optional<int64_t> n = OptInt(o, key);
  return n ? std::to_string(*n) : "-";
}

// Columns padded to the widest cell; the last one as it is.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i + 1 < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string Devices(const json::object& rank) {
  std::string out;
  for (auto [key, kind] : {std::pair{"neuronDeviceIds", "neuron:"}, std::pair{"gpuIds", "gpu:"},
                           std::pair{"efaDeviceIds", "efa:"}}) {
    const json::array& ids = ArrayOr(rank, key);
    if (ids.empty()) continue;
    out += std::string(out.empty() ? "" : ";") + kind;
    for (size_t i = 0; i < ids.size(); ++i) {
      out += (i > 0 ? "," : "") + std::string(ids[i].is_string() ? ids[i].get_string() : "?");
    }
  }
  return out.empty() ? "-" : out;
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
  return Table(rows);
}

std::string FormatGang(const json::object& gang) {
  std::string out = "gang " + std::string(StringOr(gang, "gangName", "")) + ": " +
                    std::string(StringOr(gang, "status", "")) + ", " + Number(gang, "size") +
                    " ranks, attempt " + Number(gang, "attempt") + " (at most " +
                    Number(gang, "maxRestarts") + " restarts)\n";
  if (std::string_view reason = StringOr(gang, "reason", ""); !reason.empty()) {
    out += "reason: " + std::string(reason) + "\n";
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
      rows.push_back({Number(rank, "rank"), std::string(Tail(StringOr(rank, "taskArn", ""))),
                      std::string(Tail(StringOr(rank, "containerInstanceArn", "-"))),
                      std::string(StringOr(rank, "lastStatus", "")), Number(rank, "exitCode"),
                      Devices(rank), std::string(StringOr(rank, "stoppedReason", ""))});
    }
    out += Table(rows);
  }
  return out;
}

}  // namespace berth::cli
