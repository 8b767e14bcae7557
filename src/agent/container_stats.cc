#include "agent/container_stats.h"

#include <boost/json/array.hpp>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "common/clock.h"

namespace berth::agent {

namespace json = boost::json;

namespace {

// /proc/stat and cpuacct.stat count in USER_HZ, 100 on every Linux ABI.
constexpr int64_t kNanosPerTick = 10'000'000;

std::optional<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, separator)) out.push_back(item);
  return out;
}

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::optional<int64_t> ToInt(const std::string& text) {
  try {
    size_t used = 0;
    int64_t v = std::stoll(text, &used);
    if (used == 0) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

// "key value" lines (memory.stat, cpu.stat, cpuacct.stat).
std::map<std::string, int64_t> KeyValues(const std::optional<std::string>& text) {
  std::map<std::string, int64_t> out;
  if (!text) return out;
  for (const std::string& line : Split(*text, '\n')) {
    auto w = Words(line);
    if (w.size() == 2) {
      if (auto v = ToInt(w[1])) out[w[0]] = *v;
    }
  }
  return out;
}

// Where the cgroup of one process is, per controller ("" for cgroup v2).
class CgroupDirs {
 public:
  static std::optional<CgroupDirs> Of(const std::string& root, int pid) {
    auto cgroup = ReadText(root + "/proc/" + std::to_string(pid) + "/cgroup");
    auto mountinfo = ReadText(root + "/proc/self/mountinfo");
    if (!cgroup || !mountinfo) return std::nullopt;
    // Mount points of the cgroup file systems: (controllers, root, point).
    struct Mount {
      std::vector<std::string> controllers;  // v1: from the super options; v2: none
      bool v2 = false;
      std::string root, point;
    };
    std::vector<Mount> mounts;
    for (const std::string& line : Split(*mountinfo, '\n')) {
      auto w = Words(line);
      size_t dash = 0;
      while (dash < w.size() && w[dash] != "-") ++dash;
      if (dash < 5 || dash + 3 > w.size()) continue;
      const std::string& type = w[dash + 1];
      if (type != "cgroup" && type != "cgroup2") continue;
      Mount m{{}, type == "cgroup2", w[3], w[4]};
      if (!m.v2) m.controllers = Split(w[dash + 3], ',');
      mounts.push_back(std::move(m));
    }
    CgroupDirs dirs;
    for (const std::string& line : Split(*cgroup, '\n')) {
      // hierarchy-id:controllers:path
      size_t a = line.find(':'), b = line.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      std::vector<std::string> controllers = Split(line.substr(a + 1, b - a - 1), ',');
      std::string path = line.substr(b + 1);
      for (const Mount& m : mounts) {
        bool match = controllers.empty() ? m.v2 : false;
        for (const std::string& c : controllers) {
          for (const std::string& option : m.controllers) match = match || option == c;
        }
        if (!match) continue;
        std::string relative = path;
        if (m.root != "/" && relative.starts_with(m.root))
          relative = relative.substr(m.root.size());
        std::string dir = root + m.point + relative;
        if (controllers.empty()) {
          dirs.unified_ = dir;
        } else {
          for (const std::string& c : controllers) dirs.v1_[c] = dir;
        }
        break;
      }
    }
    return dirs;
  }

  // A v1 controller's file, or "" when that controller is not mounted.
  std::string V1(const std::string& controller, const std::string& file) const {
    auto it = v1_.find(controller);
    return it == v1_.end() ? "" : it->second + "/" + file;
  }
  // The container's v2 file, when its memory is not on a v1 hierarchy.
  std::string V2(const std::string& file) const {
    return unified_.empty() || v1_.contains("memory") ? "" : unified_ + "/" + file;
  }

 private:
  std::map<std::string, std::string> v1_;
  std::string unified_;
};

std::optional<int64_t> ReadInt(const std::string& path) {
  if (path.empty()) return std::nullopt;
  auto text = ReadText(path);
  if (!text) return std::nullopt;
  return ToInt(*text);
}

struct HostCpu {
  int64_t system_nanos = 0;
  int online = 0;
};
HostCpu ReadHostCpu(const std::string& root) {
  HostCpu out;
  auto stat = ReadText(root + "/proc/stat");
  if (!stat) return out;
  for (const std::string& line : Split(*stat, '\n')) {
    auto w = Words(line);
    if (w.empty()) continue;
    if (w[0] == "cpu") {
      int64_t ticks = 0;
      for (size_t i = 1; i < w.size() && i <= 8; ++i) ticks += ToInt(w[i]).value_or(0);
      out.system_nanos = ticks * kNanosPerTick;
    } else if (w[0].starts_with("cpu")) {
      ++out.online;
    }
  }
  return out;
}

int64_t HostMemoryBytes(const std::string& root) {
  auto meminfo = ReadText(root + "/proc/meminfo");
  if (!meminfo) return 0;
  for (const std::string& line : Split(*meminfo, '\n')) {
    auto w = Words(line);
    if (w.size() >= 2 && w[0] == "MemTotal:") return ToInt(w[1]).value_or(0) * 1024;
  }
  return 0;
}

json::object CpuStats(const CgroupDirs& dirs, const HostCpu& host) {
  json::object usage;
  json::object throttling{{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}};
  if (!dirs.V1("cpuacct", "cpuacct.usage").empty()) {
    usage["total_usage"] = ReadInt(dirs.V1("cpuacct", "cpuacct.usage")).value_or(0);
    json::array percpu;
    if (auto text = ReadText(dirs.V1("cpuacct", "cpuacct.usage_percpu"))) {
      for (const std::string& w : Words(*text)) percpu.push_back(ToInt(w).value_or(0));
    }
    usage["percpu_usage"] = std::move(percpu);
    auto ticks = KeyValues(ReadText(dirs.V1("cpuacct", "cpuacct.stat")));
    usage["usage_in_kernelmode"] = ticks["system"] * kNanosPerTick;
    usage["usage_in_usermode"] = ticks["user"] * kNanosPerTick;
    auto cpu = KeyValues(ReadText(dirs.V1("cpu", "cpu.stat")));
    throttling = {{"periods", cpu["nr_periods"]},
                  {"throttled_periods", cpu["nr_throttled"]},
                  {"throttled_time", cpu["throttled_time"]}};
  } else {
    auto cpu = KeyValues(ReadText(dirs.V2("cpu.stat")));
    usage["total_usage"] = cpu["usage_usec"] * 1000;
    usage["usage_in_kernelmode"] = cpu["system_usec"] * 1000;
    usage["usage_in_usermode"] = cpu["user_usec"] * 1000;
    throttling = {{"periods", cpu["nr_periods"]},
                  {"throttled_periods", cpu["nr_throttled"]},
                  {"throttled_time", cpu["throttled_usec"] * 1000}};
  }
  return json::object{{"cpu_usage", std::move(usage)},
                      {"system_cpu_usage", host.system_nanos},
                      {"online_cpus", host.online},
                      {"throttling_data", std::move(throttling)}};
}

json::object MemoryStats(const CgroupDirs& dirs, int64_t host_memory) {
  json::object out;
  json::object stats;
  int64_t limit = 0;
  if (!dirs.V1("memory", "").empty()) {
    out["usage"] = ReadInt(dirs.V1("memory", "memory.usage_in_bytes")).value_or(0);
    out["max_usage"] = ReadInt(dirs.V1("memory", "memory.max_usage_in_bytes")).value_or(0);
    out["failcnt"] = ReadInt(dirs.V1("memory", "memory.failcnt")).value_or(0);
    for (const auto& [k, v] : KeyValues(ReadText(dirs.V1("memory", "memory.stat")))) stats[k] = v;
    limit = ReadInt(dirs.V1("memory", "memory.limit_in_bytes")).value_or(0);
  } else {
    out["usage"] = ReadInt(dirs.V2("memory.current")).value_or(0);
    if (auto peak = ReadInt(dirs.V2("memory.peak"))) out["max_usage"] = *peak;
    for (const auto& [k, v] : KeyValues(ReadText(dirs.V2("memory.stat")))) stats[k] = v;
    limit = ReadInt(dirs.V2("memory.max")).value_or(0);  // "max" reads as none
  }
  // No limit (or one above the host's memory): Docker shows the host's.
  if (limit <= 0 || (host_memory > 0 && limit > host_memory)) limit = host_memory;
  out["limit"] = limit;
  out["stats"] = std::move(stats);
  return out;
}

json::object BlkioStats(const CgroupDirs& dirs) {
  json::array bytes;
  auto entry = [](const std::string& device, const std::string& op, int64_t value) {
    auto colon = device.find(':');
    return json::object{{"major", ToInt(device.substr(0, colon)).value_or(0)},
                        {"minor", ToInt(device.substr(colon + 1)).value_or(0)},
                        {"op", op},
                        {"value", value}};
  };
  if (std::string v1 = dirs.V1("blkio", "blkio.throttle.io_service_bytes"); !v1.empty()) {
    for (const std::string& line : Split(ReadText(v1).value_or(""), '\n')) {
      auto w = Words(line);
      if (w.size() == 3 && w[0].find(':') != std::string::npos) {
        bytes.push_back(entry(w[0], w[1], ToInt(w[2]).value_or(0)));
      }
    }
  } else {
    // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..."
    for (const std::string& line : Split(ReadText(dirs.V2("io.stat")).value_or(""), '\n')) {
      auto w = Words(line);
      if (w.empty() || w[0].find(':') == std::string::npos) continue;
      for (size_t i = 1; i < w.size(); ++i) {
        if (w[i].starts_with("rbytes=")) {
          bytes.push_back(entry(w[0], "read", ToInt(w[i].substr(7)).value_or(0)));
        }
        if (w[i].starts_with("wbytes=")) {
          bytes.push_back(entry(w[0], "write", ToInt(w[i].substr(7)).value_or(0)));
        }
      }
    }
  }
  return json::object{{"io_service_bytes_recursive", std::move(bytes)},
                      {"io_serviced_recursive", nullptr},
                      {"io_queue_recursive", nullptr},
                      {"io_service_time_recursive", nullptr},
                      {"io_wait_time_recursive", nullptr},
                      {"io_merged_recursive", nullptr},
                      {"io_time_recursive", nullptr},
                      {"sectors_recursive", nullptr}};
}

json::object ZeroCpuStats() {
  return json::object{
      {"cpu_usage",
       json::object{{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
      {"throttling_data",
       json::object{{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
}

}  // namespace

StatusOr<json::object> ContainerStats::Read(const std::string& id, const std::string& name, int pid,
                                            int64_t now_millis) {
  std::optional<CgroupDirs> dirs = CgroupDirs::Of(root_, pid);
  if (!dirs) return NotFound("container " + id + ": no cgroup for process " + std::to_string(pid));
  json::object cpu = CpuStats(*dirs, ReadHostCpu(root_));
  std::string pids = dirs->V1("pids", "pids.current");
  if (pids.empty()) pids = dirs->V2("pids.current");
  json::object out{{"read", FormatRfc3339(now_millis)},
                   {"name", "/" + name},
                   {"id", id},
                   {"num_procs", 0},
                   {"pids_stats", json::object{{"current", ReadInt(pids).value_or(0)}}},
                   {"memory_stats", MemoryStats(*dirs, HostMemoryBytes(root_))},
                   {"blkio_stats", BlkioStats(*dirs)},
                   {"storage_stats", json::object{}}};
  std::lock_guard lock(mu_);
  Previous& previous = previous_[id];
  if (previous.read_millis > 0) {
    out["preread"] = FormatRfc3339(previous.read_millis);
    out["precpu_stats"] = previous.cpu_stats;
  } else {
    out["preread"] = "0001-01-01T00:00:00Z";  // Docker's zero time
    out["precpu_stats"] = ZeroCpuStats();
  }
  previous.cpu_stats = cpu;
  previous.read_millis = now_millis;
  out["cpu_stats"] = std::move(cpu);
  return out;
}

void ContainerStats::Forget(const std::string& id) {
  std::lock_guard lock(mu_);
  previous_.erase(id);
}

}  // namespace berth::agent
