// Pieces of BuildOciBundle, one file each (process, user, linux, mounts),
// and the small JSON readers they share. Internal to berth_agent_runtime.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/runtime/oci_bundle.h"
#include "common/status.h"

namespace berth::agent::bundle {

namespace json = boost::json;

// Field readers: absent or null is nullopt / empty; a value of the wrong
// type is treated as absent (the server validated the definition already).
std::optional<std::string> GetString(const json::object& o, std::string_view key);
std::optional<int64_t> GetInt(const json::object& o, std::string_view key);
std::optional<bool> GetBool(const json::object& o, std::string_view key);
const json::array* GetArray(const json::object& o, std::string_view key);
const json::object* GetObject(const json::object& o, std::string_view key);
std::vector<std::string> GetStrings(const json::object& o, std::string_view key);

constexpr int64_t kMiB = 1024 * 1024;

// The container definition with its containerOverride applied: command,
// cpu, memory, memoryReservation and resourceRequirements replace;
// environment is appended (later names win when the env is built).
json::object ApplyOverrides(const json::object& container, const json::object* overrides);

// What several pieces need to agree on.
struct Facts {
  std::string network_mode;  // "host" or "none" after defaults
  bool privileged = false;
  std::string hostname;  // empty: the host's UTS namespace is shared
  bool share_host_ipc = false;
  bool no_ipc = false;  // ipcMode "none": no /dev/shm at all
};
StatusOr<Facts> DecideFacts(const BundleInput& in, const json::object& c);

// config.process (args, env, cwd, user, rlimits, capabilities).
StatusOr<json::object> BuildProcess(const BundleInput& in, const json::object& c, const Facts& f);

// process.user from `user` or the image's User, resolved in the rootfs.
StatusOr<json::object> ResolveUser(const std::string& rootfs, const std::string& spec);

// config.linux (namespaces, resources, devices, hardening, sysctl).
StatusOr<json::object> BuildLinux(const BundleInput& in, const json::object& c, const Facts& f);

// config.mounts, plus the files (hosts, hostname, resolv.conf) they bind.
Status BuildMounts(const BundleInput& in, const json::object& c, const Facts& f,
                   json::array& mounts, std::map<std::string, std::string>& files);

}  // namespace berth::agent::bundle
