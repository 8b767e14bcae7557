// The capability set of a container, as Docker computes it from its default
// set and --cap-add / --cap-drop (ECS linuxParameters.capabilities).
#include <algorithm>
#include <tuple>

#include "agent/runtime/bundle_internal.h"

namespace berth::agent {
namespace {

// Every capability Linux knows (up to 6.x); runc skips the ones the running
// kernel lacks.
const std::vector<std::string>& AllCapabilities() {
  static const std::vector<std::string> kAll = {"CAP_CHOWN",
                                                "CAP_DAC_OVERRIDE",
                                                "CAP_DAC_READ_SEARCH",
                                                "CAP_FOWNER",
                                                "CAP_FSETID",
                                                "CAP_KILL",
                                                "CAP_SETGID",
                                                "CAP_SETUID",
                                                "CAP_SETPCAP",
                                                "CAP_LINUX_IMMUTABLE",
                                                "CAP_NET_BIND_SERVICE",
                                                "CAP_NET_BROADCAST",
                                                "CAP_NET_ADMIN",
                                                "CAP_NET_RAW",
                                                "CAP_IPC_LOCK",
                                                "CAP_IPC_OWNER",
                                                "CAP_SYS_MODULE",
                                                "CAP_SYS_RAWIO",
                                                "CAP_SYS_CHROOT",
                                                "CAP_SYS_PTRACE",
                                                "CAP_SYS_PACCT",
                                                "CAP_SYS_ADMIN",
                                                "CAP_SYS_BOOT",
                                                "CAP_SYS_NICE",
                                                "CAP_SYS_RESOURCE",
                                                "CAP_SYS_TIME",
                                                "CAP_SYS_TTY_CONFIG",
                                                "CAP_MKNOD",
                                                "CAP_LEASE",
                                                "CAP_AUDIT_WRITE",
                                                "CAP_AUDIT_CONTROL",
                                                "CAP_SETFCAP",
                                                "CAP_MAC_OVERRIDE",
                                                "CAP_MAC_ADMIN",
                                                "CAP_SYSLOG",
                                                "CAP_WAKE_ALARM",
                                                "CAP_BLOCK_SUSPEND",
                                                "CAP_AUDIT_READ",
                                                "CAP_PERFMON",
                                                "CAP_BPF",
                                                "CAP_CHECKPOINT_RESTORE"};
  return kAll;
}

// Docker's default (moby oci/caps/defaults.go).
const std::vector<std::string> kDockerDefault = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

// "sys_admin", "SYS_ADMIN" and "CAP_SYS_ADMIN" all name CAP_SYS_ADMIN.
StatusOr<std::string> Normalize(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), ::toupper);
  if (name == "ALL") return name;
  if (name.rfind("CAP_", 0) != 0) name = "CAP_" + name;
  const auto& all = AllCapabilities();
  if (std::find(all.begin(), all.end(), name) == all.end()) {
    return InvalidArgument("linuxParameters.capabilities: unknown capability " + name);
  }
  return name;
}

}  // namespace

StatusOr<std::vector<std::string>> ContainerCapabilities(const boost::json::object& container) {
  using namespace bundle;
  if (GetBool(container, "privileged").value_or(false)) return AllCapabilities();
  std::vector<std::string> add, drop;
  bool add_all = false, drop_all = false;
  if (const json::object* lp = GetObject(container, "linuxParameters")) {
    if (const json::object* caps = GetObject(*lp, "capabilities")) {
      for (auto [key, list, all] :
           {std::tuple{"add", &add, &add_all}, {"drop", &drop, &drop_all}}) {
        for (const std::string& raw : GetStrings(*caps, key)) {
          StatusOr<std::string> n = Normalize(raw);
          if (!n.ok()) return n.status();
          if (*n == "ALL") {
            *all = true;
          } else {
            list->push_back(*n);
          }
        }
      }
    }
  }
  auto contains = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  // Docker: add ALL keeps everything but the named drops; drop ALL keeps
  // only the adds; otherwise (default - drop) + add.
  std::vector<std::string> out;
  if (add_all) {
    for (const std::string& c : AllCapabilities()) {
      if (!contains(drop, c)) out.push_back(c);
    }
    return out;
  }
  if (!drop_all) {
    for (const std::string& c : kDockerDefault) {
      if (!contains(drop, c)) out.push_back(c);
    }
  }
  for (const std::string& c : add) {
    if (!contains(out, c)) out.push_back(c);
  }
  return out;
}

}  // namespace berth::agent
