// The host facts BuildOciBundle takes as input, read from the real system.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "agent/runtime/oci_bundle.h"

namespace berth::agent {

DeviceLookup StatDeviceLookup() {
  return [](const std::string& path) -> StatusOr<HostDevice> {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      return NotFound(errno == ENOENT ? "no such device" : std::strerror(errno));
    }
    HostDevice d;
    if (S_ISCHR(st.st_mode)) {
      d.type = 'c';
    } else if (S_ISBLK(st.st_mode)) {
      d.type = 'b';
    } else {
      return InvalidArgument("not a device");
    }
    d.major = major(st.st_rdev);
    d.minor = minor(st.st_rdev);
    d.mode = st.st_mode & 07777;
    return d;
  };
}

namespace {

// Whether this process may raise hard limits (CAP_SYS_RESOURCE), as the
// agent, running as root, normally can: then runc can give a container any
// limit the kernel allows, as Docker's daemon does.
bool CanRaiseHardLimits() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      uint64_t caps = std::stoull(line.substr(7), nullptr, 16);
      return caps & (uint64_t{1} << 24);  // CAP_SYS_RESOURCE
    }
  }
  return false;
}

// The most open files the kernel lets any process have (fs.nr_open).
uint64_t KernelMaxOpenFiles() {
  std::ifstream in("/proc/sys/fs/nr_open");
  uint64_t n = 0;
  return (in >> n) ? n : 1048576;
}

}  // namespace

// The limits a container can really get: the agent's own hard limits, or,
// when the agent may raise them, the kernel's ceilings (only nofile has one;
// the rest may be unlimited). A value above these would make runc fail.
std::map<std::string, uint64_t> HostHardLimits() {
  static const std::pair<const char*, int> kLimits[] = {
      {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
      {"data", RLIMIT_DATA},         {"fsize", RLIMIT_FSIZE},
      {"locks", RLIMIT_LOCKS},       {"memlock", RLIMIT_MEMLOCK},
      {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
      {"nofile", RLIMIT_NOFILE},     {"nproc", RLIMIT_NPROC},
      {"rss", RLIMIT_RSS},           {"rtprio", RLIMIT_RTPRIO},
      {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
      {"stack", RLIMIT_STACK}};
  std::map<std::string, uint64_t> out;
  for (const auto& [name, resource] : kLimits) {
    struct rlimit rl;
    if (getrlimit(resource, &rl) != 0) continue;
    out[name] = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(rl.rlim_max);
  }
  if (CanRaiseHardLimits()) {
    for (auto& [name, limit] : out) limit = UINT64_MAX;
    out["nofile"] = KernelMaxOpenFiles();
  }
  return out;
}

}  // namespace berth::agent
