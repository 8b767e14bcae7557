// From an ECS container definition to an OCI runtime bundle (config.json and
// the few files it mounts), combined with the image config as Docker does.
// Pure: the host facts it needs (device numbers, resource limits, the
// seccomp profile) are passed in, so it is tested without root.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/image/image_config.h"
#include "common/status.h"

namespace berth::agent {

struct HostDevice {
  char type = 'c';  // 'c' or 'b'
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t mode = 0666;
};
// Host path -> its device numbers, or an error when it is not a device.
using DeviceLookup = std::function<StatusOr<HostDevice>(const std::string& host_path)>;

struct BundleInput {
  const boost::json::object* task_definition = nullptr;  // as DescribeTaskDefinition shows it
  const boost::json::object* container = nullptr;        // one of its containerDefinitions
  const boost::json::object* overrides = nullptr;        // its containerOverride, or nullptr
  ImageConfig image;
  std::string rootfs;  // the mounted overlay (absolute)
  std::string task_id;
  std::string cgroups_path;            // e.g. "/berth/<task id>/<container name>"
  std::vector<int> neuron_device_ids;  // chosen for this container by the scheduler
  std::vector<int> gpu_ids;
  std::vector<int> efa_device_ids;  // /dev/infiniband/uverbsN, chosen by the scheduler
  // Task volume name -> host folder (host.sourcePath, or one the agent made).
  std::map<std::string, std::string> volume_paths;
  std::map<std::string, uint64_t> host_hard_limits;  // "nofile" -> RLIMIT_NOFILE hard limit, ...
  DeviceLookup devices;
  // The default seccomp profile in OCI form (linux.seccomp), or null for none;
  // build it with LoadDefaultSeccomp(path, ContainerCapabilities(...)).
  std::optional<boost::json::object> seccomp;
  // Host binary bind-mounted at /dev/init and run as the first process when
  // linuxParameters.initProcessEnabled is set (Docker's docker-init is tini
  // too). Debian package `tini`.
  std::string init_path = "/usr/bin/tini-static";
  // The host's /etc/hosts and /etc/resolv.conf contents, read by the caller.
  // Absent: a host-network container without extraHosts gets no /etc/hosts
  // of its own, and one without dnsServers no /etc/resolv.conf (the image's
  // stays).
  std::optional<std::string> host_hosts;
  std::optional<std::string> host_resolv_conf;
  // For pidMode / ipcMode "task": a namespace of the task's first container
  // (/proc/<pid>/ns/pid, /proc/<pid>/ns/ipc) to join. Empty: the first
  // container of the task gets a new namespace.
  std::string task_pid_namespace;
  std::string task_ipc_namespace;
  // For a container with a network namespace of its own: one the agent made
  // (with the task metadata endpoint listening in it) to join. Empty: a new
  // one.
  std::string network_namespace;
  // Set after the definition's environment (the agent's endpoints:
  // ECS_CONTAINER_METADATA_URI_V4, AWS_CONTAINER_CREDENTIALS_FULL_URI, ...).
  std::vector<std::pair<std::string, std::string>> agent_env;
  // Set before the image's environment, so that the image and the
  // definition override them (AWS_REGION, AWS_DEFAULT_REGION).
  std::vector<std::pair<std::string, std::string>> default_env;
};

struct OciBundle {
  boost::json::object config;  // config.json
  // Files to write in the bundle folder before the container starts
  // (relative path -> content): hosts, resolv.conf, hostname. The mounts in
  // config name them by that relative path; ContainerRuntime::Start makes
  // the source absolute (runc also resolves it against the bundle).
  std::map<std::string, std::string> files;
};

// Whether the container shares the host's network (networkMode host, and
// not disableNetworking); else it has a namespace of its own, loopback only.
bool SharesHostNetwork(const boost::json::object& task_definition,
                       const boost::json::object& container);

// Errors name the field: "ulimits: nofile hard limit 2000000 is above the
// host's 1048576", "linuxParameters.devices: /dev/neuron3: no such device".
StatusOr<OciBundle> BuildOciBundle(const BundleInput& input);

// Reads /usr/share/containers/seccomp.json (the containers-common default,
// the same profile as Docker's) and turns it into linux.seccomp for the
// capabilities the container keeps.
// capabilities as "CAP_SYS_ADMIN" (or "SYS_ADMIN").
StatusOr<boost::json::object> LoadDefaultSeccomp(const std::string& path,
                                                 const std::vector<std::string>& capabilities);

// The capabilities ("CAP_CHOWN", ...) a container definition keeps: Docker's
// default set with linuxParameters.capabilities add/drop applied ("ALL"
// allowed), or every capability when privileged. Errors name an unknown one.
StatusOr<std::vector<std::string>> ContainerCapabilities(const boost::json::object& container);

// The real DeviceLookup: stat(2) of the host path.
DeviceLookup StatDeviceLookup();

// The highest hard limit a container it starts can get, by ECS ulimit name
// ("nofile", ...; UINT64_MAX for unlimited): this process's own hard limits,
// or, when it may raise them (root), the kernel's ceilings (fs.nr_open for
// nofile, unlimited for the rest), as with Docker's daemon.
std::map<std::string, uint64_t> HostHardLimits();

}  // namespace berth::agent
