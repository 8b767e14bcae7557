#include "agent/devices/node_devices.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>

namespace berth::agent {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kCpuUnitsPerCpu = 1024;
constexpr int kMaxIndex = 1 << 20;  // far above any real CPU or device count; stops "0-999999999"

// ROOT + an absolute system path ("/proc/meminfo").
std::string UnderRoot(const std::string& root, std::string_view path) {
  std::string out = root;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out == "/") out.clear();
  out += path;
  return out;
}

// The whole file; NotFound when it does not exist.
StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string msg = "read " + path + ": " + std::strerror(err);
    if (err == ENOENT || err == ENOTDIR) return NotFound(msg);
    return Status(StatusCode::kInternal, msg);
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return Internal("read " + path + ": I/O error");
  return s.str();
}

std::string_view Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::optional<int> ParseIndex(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v > kMaxIndex) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseInt64(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// "neuron12" with prefix "neuron" -> 12; "neuron", "neuronX", "nvidiactl" -> nullopt.
std::optional<int> IndexAfterPrefix(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = name.substr(prefix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return ParseIndex(digits);
}

// Indexes N of the character devices ROOT<dir>/<prefix>N, sorted. No such
// folder means none.
StatusOr<std::vector<int>> CharDeviceIndexes(const std::string& root, std::string_view prefix,
                                             std::string_view dir = "/dev") {
  std::string dev = UnderRoot(root, dir);
  std::vector<int> out;
  std::error_code ec;
  fs::directory_iterator it(dev, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) return out;
    return Internal("list " + dev + ": " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::optional<int> index = IndexAfterPrefix(name, prefix);
    if (!index) continue;
    // stat, not lstat: /dev entries may be links to the real node. A regular file called
    // neuron0 (a leftover, a test tree) is not a device.
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) continue;
    out.push_back(*index);
  }
  if (ec) return Internal("list " + dev + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<int> DiscoverCpuCount(const std::string& root) {
  std::string online_path = UnderRoot(root, "/sys/devices/system/cpu/online");
  StatusOr<std::string> online = ReadFile(online_path);
  if (online.ok()) {
    StatusOr<std::vector<int>> cpus = ParseCpuList(*online);
    if (!cpus.ok()) return cpus.status().WithContext("parse " + online_path);
    if (cpus->empty()) return FailedPrecondition(online_path + ": no online CPUs");
    return static_cast<int>(cpus->size());
  }
  if (online.status().code() != StatusCode::kNotFound) return online.status();

  std::string cpuinfo_path = UnderRoot(root, "/proc/cpuinfo");
  StatusOr<std::string> cpuinfo = ReadFile(cpuinfo_path);
  if (!cpuinfo.ok()) return cpuinfo.status();
  int count = 0;
  std::istringstream lines(*cpuinfo);
  for (std::string line; std::getline(lines, line);) {
    // "processor\t: 3"; other keys start with "processor" too on some architectures
    // ("processor type"), so the key must be exactly "processor".
    size_t colon = line.find(':');
    if (colon != std::string::npos &&
        Trim(std::string_view(line).substr(0, colon)) == "processor") {
      ++count;
    }
  }
  if (count == 0) {
    return FailedPrecondition(cpuinfo_path + ": no \"processor\" lines (and no " + online_path +
                              ")");
  }
  return count;
}

StatusOr<int64_t> DiscoverMemoryMib(const std::string& root, int64_t reserve_mib) {
  std::string path = UnderRoot(root, "/proc/meminfo");
  StatusOr<std::string> meminfo = ReadFile(path);
  if (!meminfo.ok()) return meminfo.status();
  std::istringstream lines(*meminfo);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("MemTotal:", 0) != 0) continue;
    std::string_view rest = Trim(std::string_view(line).substr(9));
    // "16318412 kB"
    size_t space = rest.find(' ');
    std::string_view number = rest.substr(0, space);
    std::string_view unit = space == std::string_view::npos ? "" : Trim(rest.substr(space));
    std::optional<int64_t> kib = ParseInt64(number);
    if (!kib || (unit != "kB" && !unit.empty())) {
      return InvalidArgument("parse " + path + ": bad MemTotal line \"" + line + "\"");
    }
    return std::max<int64_t>(0, *kib / 1024 - std::max<int64_t>(0, reserve_mib));
  }
  return InvalidArgument("parse " + path + ": no MemTotal line");
}

// An optional sysfs file: nullopt when missing, an error when it cannot be read.
StatusOr<std::optional<std::string>> ReadOptional(const std::string& path) {
  StatusOr<std::string> text = ReadFile(path);
  if (text.ok()) return std::optional<std::string>(std::move(*text));
  if (text.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
  return text.status();
}

StatusOr<std::vector<NeuronDevice>> DiscoverNeuron(const std::string& root) {
  StatusOr<std::vector<int>> indexes = CharDeviceIndexes(root, "neuron");
  if (!indexes.ok()) return indexes.status();
  std::vector<NeuronDevice> out;
  for (int index : *indexes) {
    NeuronDevice device;
    device.index = index;
    std::string name = "neuron" + std::to_string(index);
    // /sys/class/neuron_device/neuronN links to /sys/devices/virtual/neuron_device/neuronN;
    // a tree copied without the class links still has the latter.
    std::string sysfs = UnderRoot(root, "/sys/class/neuron_device/" + name);
    std::error_code ec;
    if (!fs::is_directory(sysfs, ec)) {
      std::string virt = UnderRoot(root, "/sys/devices/virtual/neuron_device/" + name);
      if (fs::is_directory(virt, ec)) sysfs = virt;
    }

    std::string core_path = sysfs + "/core_count";
    StatusOr<std::optional<std::string>> cores = ReadOptional(core_path);
    if (!cores.ok()) return cores.status();
    if (*cores) {
      std::optional<int> n = ParseIndex(Trim(**cores));
      if (!n) {
        return InvalidArgument("parse " + core_path + ": not a count: \"" +
                               std::string(Trim(**cores)) + "\"");
      }
      device.core_count = *n;
    }

    std::string links_path = sysfs + "/connected_devices";
    StatusOr<std::optional<std::string>> links = ReadOptional(links_path);
    if (!links.ok()) return links.status();
    if (*links) {
      StatusOr<std::vector<int>> connected = ParseDeviceIndexList(**links);
      if (!connected.ok()) return connected.status().WithContext("parse " + links_path);
      device.connected = std::move(*connected);
    }
    out.push_back(std::move(device));
  }
  return out;
}

struct GpuInformation {
  std::string uuid;
  std::string model;
};

// The driver's information files by "Device Minor"; no driver folder means none.
StatusOr<std::map<int, GpuInformation>> ReadGpuInformation(const std::string& root) {
  std::map<int, GpuInformation> out;
  std::string dir = UnderRoot(root, "/proc/driver/nvidia/gpus");
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) return out;
    return Internal("list " + dir + ": " + ec.message());
  }
  std::vector<fs::path> gpu_dirs;
  for (; it != fs::directory_iterator(); it.increment(ec)) gpu_dirs.push_back(it->path());
  if (ec) return Internal("list " + dir + ": " + ec.message());
  std::sort(gpu_dirs.begin(), gpu_dirs.end());
  for (const fs::path& gpu_dir : gpu_dirs) {  // one per PCI address: 0000:00:1e.0
    std::string path = (gpu_dir / "information").string();
    StatusOr<std::optional<std::string>> text = ReadOptional(path);
    if (!text.ok()) return text.status();
    if (!*text) continue;
    GpuInformation info;
    std::optional<int> minor;
    std::istringstream lines(**text);
    for (std::string line; std::getline(lines, line);) {
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string_view key = Trim(std::string_view(line).substr(0, colon));
      std::string_view value = Trim(std::string_view(line).substr(colon + 1));
      if (key == "Model") {
        info.model = value;
      } else if (key == "GPU UUID") {
        info.uuid = value;
      } else if (key == "Device Minor") {
        minor = ParseIndex(value);
        if (!minor) {
          return InvalidArgument("parse " + path + ": bad Device Minor \"" + std::string(value) +
                                 "\"");
        }
      }
    }
    if (minor) out.emplace(*minor, std::move(info));
  }
  return out;
}

StatusOr<std::vector<GpuDevice>> DiscoverGpus(const std::string& root) {
  StatusOr<std::vector<int>> indexes = CharDeviceIndexes(root, "nvidia");
  if (!indexes.ok()) return indexes.status();
  std::vector<GpuDevice> out;
  if (indexes->empty()) return out;
  StatusOr<std::map<int, GpuInformation>> info = ReadGpuInformation(root);
  if (!info.ok()) return info.status();
  for (int index : *indexes) {
    GpuDevice gpu;
    gpu.index = index;
    if (auto it = info->find(index); it != info->end()) {
      gpu.uuid = it->second.uuid;
      gpu.model = it->second.model;
    }
    out.push_back(std::move(gpu));
  }
  return out;
}

}  // namespace

StatusOr<std::vector<int>> ParseCpuList(std::string_view text) {
  std::vector<int> out;
  std::string_view rest = Trim(text);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    size_t dash = item.find('-');
    std::optional<int> first = ParseIndex(item.substr(0, dash));
    std::optional<int> last =
        dash == std::string_view::npos ? first : ParseIndex(item.substr(dash + 1));
    if (!first || !last || *last < *first) {
      return InvalidArgument("bad CPU list \"" + std::string(Trim(text)) + "\"");
    }
    for (int cpu = *first; cpu <= *last; ++cpu) out.push_back(cpu);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

StatusOr<std::vector<int>> ParseDeviceIndexList(std::string_view text) {
  std::vector<int> out;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    std::optional<int> index = end > i ? ParseIndex(text.substr(i, end - i)) : std::nullopt;
    if (!index) {
      return InvalidArgument("bad device list \"" + std::string(Trim(text)) + "\"");
    }
    out.push_back(*index);
    i = end;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

StatusOr<NodeDevices> DiscoverNodeDevices(const DiscoverOptions& options) {
  const std::string& root = options.root.empty() ? std::string("/") : options.root;
  NodeDevices out;

  StatusOr<int> cpus = DiscoverCpuCount(root);
  if (!cpus.ok()) return cpus.status().WithContext("discover CPUs");
  out.cpu_count = *cpus;
  out.cpu_units = kCpuUnitsPerCpu * *cpus;

  StatusOr<int64_t> memory = DiscoverMemoryMib(root, options.memory_reserve_mib);
  if (!memory.ok()) return memory.status().WithContext("discover memory");
  out.memory_mib = *memory;

  StatusOr<std::vector<NeuronDevice>> neuron = DiscoverNeuron(root);
  if (!neuron.ok()) return neuron.status().WithContext("discover Neuron devices");
  out.neuron = std::move(*neuron);

  StatusOr<std::vector<GpuDevice>> gpus = DiscoverGpus(root);
  if (!gpus.ok()) return gpus.status().WithContext("discover GPUs");
  out.gpus = std::move(*gpus);

  StatusOr<std::vector<int>> efa = CharDeviceIndexes(root, "uverbs", "/dev/infiniband");
  if (!efa.ok()) return efa.status().WithContext("discover EFA devices");
  out.efa = std::move(*efa);
  return out;
}

}  // namespace berth::agent
