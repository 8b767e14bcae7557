#include "agent/runtime/task_cgroup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/object.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "common/env.h"
#include "common/task_size.h"

namespace berth::agent {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr int64_t kMiB = 1024 * 1024;
constexpr int64_t kCpuPeriodMicros = 100000;
constexpr int64_t kMinCpuQuotaMicros = 1000;  // the kernel's least quota

std::optional<int64_t> TaskSize(const json::object& td, std::string_view key,
                                std::optional<int64_t> (*parse)(std::string_view)) {
  const json::value* v = td.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return parse(v->get_string());
  if (v->is_int64() && v->get_int64() > 0) return v->get_int64();
  return std::nullopt;
}

// write(2) of the whole value, as cgroup files want it (no temporary file).
Status WriteCgroupFile(const std::string& path, const std::string& value) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return ErrnoStatus("task cgroup: open", path, errno);
  ssize_t n = write(fd, value.data(), value.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return ErrnoStatus("task cgroup: write " + value + " to", path, n < 0 ? err : EIO);
  }
  return Status::Ok();
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return Internal("task cgroup: create " + path + ": " + ec.message());
  return Status::Ok();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of "key N" in a flat-keyed cgroup file (memory.events,
// memory.oom_control); nullopt when the file or the key is missing.
std::optional<int64_t> KeyedValue(const std::string& path, std::string_view key) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string name;
  int64_t value = 0;
  while (in >> name >> value) {
    if (name == key) return value;
  }
  return std::nullopt;
}

std::optional<int64_t> NumberIn(const std::string& path) {
  std::ifstream in(path);
  int64_t value = 0;
  if (in >> value) return value;
  return std::nullopt;
}

// "+cpu +memory" for the controllers of want that the cgroup's
// subtree_control does not list yet. One the cgroup is not offered fails
// to be written, which names it.
std::string MissingControllers(const std::string& dir, const std::vector<std::string>& want) {
  std::istringstream enabled(ReadFile(dir + "/cgroup.subtree_control"));
  std::vector<std::string> on((std::istream_iterator<std::string>(enabled)), {});
  std::string out;
  for (const std::string& c : want) {
    if (std::find(on.begin(), on.end(), c) != on.end()) continue;
    out += (out.empty() ? "+" : " +") + c;
  }
  return out;
}

}  // namespace

TaskLimits TaskLimitsOf(const json::object& task_definition) {
  return TaskLimits{TaskSize(task_definition, "cpu", &ParseTaskCpu),
                    TaskSize(task_definition, "memory", &ParseTaskMemory)};
}

TaskCgroups::TaskCgroups(std::string root) : root_(std::move(root)) {}

std::string TaskCgroups::CgroupsPath(const std::string& task_id, const std::string& container) {
  return "/berth/" + task_id + "/" + container;
}

bool TaskCgroups::Unified() const {
  std::error_code ec;
  return fs::exists(root_ + "/cgroup.controllers", ec);
}

Status TaskCgroups::Create(const std::string& task_id, const TaskLimits& limits) const {
  if (!limits.cpu_units && !limits.memory_mib) return Status::Ok();
  int64_t quota = 0;
  if (limits.cpu_units) {
    quota = std::max(*limits.cpu_units * kCpuPeriodMicros / 1024, kMinCpuQuotaMicros);
  }
  if (Unified()) {
    // Controllers reach a cgroup only through its parents' subtree_control.
    std::vector<std::string> want;
    if (limits.cpu_units) want.push_back("cpu");
    if (limits.memory_mib) want.push_back("memory");
    const std::string berth = root_ + "/berth";
    BERTH_RETURN_IF_ERROR(MakeDirs(berth));
    for (const std::string& dir : {root_, berth}) {
      if (std::string add = MissingControllers(dir, want); !add.empty()) {
        BERTH_RETURN_IF_ERROR(WriteCgroupFile(dir + "/cgroup.subtree_control", add));
      }
    }
    const std::string task = berth + "/" + task_id;
    BERTH_RETURN_IF_ERROR(MakeDirs(task));
    if (limits.memory_mib) {
      BERTH_RETURN_IF_ERROR(
          WriteCgroupFile(task + "/memory.max", std::to_string(*limits.memory_mib * kMiB)));
    }
    if (limits.cpu_units) {
      BERTH_RETURN_IF_ERROR(WriteCgroupFile(
          task + "/cpu.max", std::to_string(quota) + " " + std::to_string(kCpuPeriodMicros)));
    }
    return Status::Ok();
  }
  if (limits.memory_mib) {
    const std::string task = root_ + "/memory/berth/" + task_id;
    BERTH_RETURN_IF_ERROR(MakeDirs(task));
    BERTH_RETURN_IF_ERROR(WriteCgroupFile(task + "/memory.limit_in_bytes",
                                          std::to_string(*limits.memory_mib * kMiB)));
  }
  if (limits.cpu_units) {
    const std::string task = root_ + "/cpu/berth/" + task_id;
    BERTH_RETURN_IF_ERROR(MakeDirs(task));
    BERTH_RETURN_IF_ERROR(
        WriteCgroupFile(task + "/cpu.cfs_period_us", std::to_string(kCpuPeriodMicros)));
    BERTH_RETURN_IF_ERROR(WriteCgroupFile(task + "/cpu.cfs_quota_us", std::to_string(quota)));
  }
  return Status::Ok();
}

OomKill TaskCgroups::ContainerOomKill(const std::string& task_id,
                                      const std::string& container) const {
  if (Unified()) {
    // memory.events counts the kills of the container's processes whatever
    // limit caused them; its .local "oom" only the times its own limit was
    // reached.
    const std::string task = root_ + "/berth/" + task_id;
    const std::string ctr = task + "/" + container;
    std::optional<int64_t> kills = KeyedValue(ctr + "/memory.events", "oom_kill");
    if (!kills) return OomKill::kUnknown;
    if (*kills == 0) return OomKill::kNone;
    if (KeyedValue(ctr + "/memory.events.local", "oom").value_or(0) > 0) {
      return OomKill::kContainerLimit;
    }
    if (KeyedValue(task + "/memory.events.local", "oom").value_or(0) > 0)
      return OomKill::kTaskLimit;
    return OomKill::kOther;
  }
  // v1: oom_kill counts the container's killed processes; failcnt the times
  // a charge failed at that cgroup's own limit.
  const std::string task = root_ + "/memory/berth/" + task_id;
  const std::string ctr = task + "/" + container;
  std::optional<int64_t> kills = KeyedValue(ctr + "/memory.oom_control", "oom_kill");
  if (!kills) return OomKill::kUnknown;
  if (*kills == 0) return OomKill::kNone;
  if (NumberIn(ctr + "/memory.failcnt").value_or(0) > 0) return OomKill::kContainerLimit;
  if (NumberIn(task + "/memory.failcnt").value_or(0) > 0) return OomKill::kTaskLimit;
  return OomKill::kOther;
}

void TaskCgroups::Remove(const std::string& task_id) const {
  std::vector<fs::path> hierarchies = {root_};
  std::error_code ec;
  if (!Unified()) {
    for (const auto& entry : fs::directory_iterator(root_, ec)) {
      if (entry.is_directory(ec)) hierarchies.push_back(entry.path());
    }
  }
  for (const fs::path& hierarchy : hierarchies) {
    fs::path task = hierarchy / "berth" / task_id;
    if (!fs::is_directory(task, ec)) continue;
    // A cgroup goes with rmdir alone (its files are the kernel's); the
    // containers' are empty once their processes are gone.
    for (const auto& sub : fs::directory_iterator(task, ec)) {
      if (sub.is_directory(ec)) rmdir(sub.path().c_str());
    }
    rmdir(task.c_str());
  }
}

}  // namespace berth::agent
