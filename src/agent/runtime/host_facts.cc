// The host facts BuildOciBundle takes as input, read from the real system.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>

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
  return out;
}

}  // namespace berth::agent
