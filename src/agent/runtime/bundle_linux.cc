// config.linux: namespaces, cgroup resources, the devices the container may
// see, and Docker's default hardening.
#include <algorithm>

#include "agent/runtime/bundle_internal.h"
#include "agent/runtime/task_cgroup.h"

namespace berth::agent::bundle {
namespace {

json::array Namespaces(const BundleInput& in, const Facts& f) {
  json::array ns;
  auto add = [&](const char* type, const std::string& path = "") {
    json::object o{{"type", type}};
    if (!path.empty()) o["path"] = path;
    ns.push_back(std::move(o));
  };
  add("mount");
  std::string pid = GetString(*in.task_definition, "pidMode").value_or("");
  if (pid != "host") add("pid", pid == "task" ? in.task_pid_namespace : "");
  std::string ipc = GetString(*in.task_definition, "ipcMode").value_or("");
  if (ipc != "host") add("ipc", ipc == "task" ? in.task_ipc_namespace : "");
  // A private namespace has only loopback: the container reaches nothing.
  if (f.network_mode != "host") add("network", in.network_namespace);
  if (!f.hostname.empty()) add("uts");
  return ns;
}

StatusOr<json::object> Memory(const BundleInput& in, const json::object& c) {
  json::object m;
  // The task-level memory is on the task's cgroup above this one
  // (task_cgroup.h): it bounds the containers together.
  std::optional<int64_t> limit = GetInt(c, "memory");
  if (limit) m["limit"] = *limit * kMiB;
  if (std::optional<int64_t> r = GetInt(c, "memoryReservation")) m["reservation"] = *r * kMiB;
  if (const json::object* lp = GetObject(c, "linuxParameters")) {
    if (std::optional<int64_t> swap = GetInt(*lp, "maxSwap")) {
      // Swap is counted with memory (OCI swap is memory + swap), so a
      // container without a limit of its own takes the task's for it.
      if (!limit) limit = TaskLimitsOf(*in.task_definition).memory_mib;
      if (!limit) return InvalidArgument("linuxParameters.maxSwap needs a memory limit");
      m["limit"] = *limit * kMiB;
      // OCI swap is memory + swap together; maxSwap 0 means no swap at all.
      m["swap"] = (*limit + std::max<int64_t>(*swap, 0)) * kMiB;
      // ECS: swappiness applies only with maxSwap, 60 when not given.
      m["swappiness"] = GetInt(*lp, "swappiness").value_or(60);
    }
  }
  return m;
}

json::object Cpu(const json::object& c) {
  json::object cpu;
  // ECS cpu units are relative shares; the kernel's minimum is 2, which is
  // what Docker and the ECS agent give a container with cpu 0. The task's
  // cpu is a quota on the task's cgroup (task_cgroup.h).
  if (std::optional<int64_t> units = GetInt(c, "cpu")) cpu["shares"] = std::max<int64_t>(*units, 2);
  return cpu;
}

struct WantedDevice {
  std::string host_path;
  std::string container_path;
  std::string access;  // subset of "rwm"
  bool optional = false;
  std::string context;  // for errors
};

std::string AccessFrom(const std::vector<std::string>& permissions) {
  if (permissions.empty()) return "rwm";  // docker --device default
  std::string a;
  for (const char* p : {"read", "write", "mknod"}) {
    if (std::find(permissions.begin(), permissions.end(), p) != permissions.end()) a += p[0];
  }
  return a;
}

std::vector<WantedDevice> WantedDevices(const BundleInput& in, const json::object& c) {
  std::vector<WantedDevice> want;
  auto add = [&](WantedDevice d) {
    for (WantedDevice& w : want) {
      if (w.container_path == d.container_path) {
        for (char ch : d.access) {
          if (w.access.find(ch) == std::string::npos) w.access += ch;
        }
        return;
      }
    }
    want.push_back(std::move(d));
  };
  if (const json::object* lp = GetObject(c, "linuxParameters")) {
    if (const json::array* devices = GetArray(*lp, "devices")) {
      for (const json::value& v : *devices) {
        if (!v.is_object()) continue;
        const json::object& d = v.get_object();
        std::string host = GetString(d, "hostPath").value_or("");
        std::string ctr = GetString(d, "containerPath").value_or(host);
        if (ctr.empty()) ctr = host;
        add({host, ctr, AccessFrom(GetStrings(d, "permissions")), false,
             "linuxParameters.devices"});
      }
    }
  }
  // Devices the scheduler reserved for this container. A /dev/neuronN (or
  // /dev/infiniband/uverbsN) in linuxParameters.devices was reserved as
  // well, so the union is mapped.
  for (int id : in.neuron_device_ids) {
    std::string p = "/dev/neuron" + std::to_string(id);
    add({p, p, "rw", false, "neuron device " + std::to_string(id)});
  }
  for (int id : in.gpu_ids) {
    std::string p = "/dev/nvidia" + std::to_string(id);
    add({p, p, "rw", false, "gpu " + std::to_string(id)});
  }
  if (!in.gpu_ids.empty()) {
    // The control devices every CUDA process opens; absent on some hosts
    // (nvidia-uvm is loaded on first use).
    for (const char* p : {"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"}) {
      add({p, p, "rw", true, "gpu"});
    }
  }
  for (int id : in.efa_device_ids) {
    std::string p = "/dev/infiniband/uverbs" + std::to_string(id);
    add({p, p, "rw", false, "EFA device " + std::to_string(id)});
  }
  if (!in.efa_device_ids.empty()) {
    // The RDMA connection manager, shared by every task with an EFA device;
    // libfabric's EFA provider works without it.
    add({"/dev/infiniband/rdma_cm", "/dev/infiniband/rdma_cm", "rw", true, "EFA"});
  }
  return want;
}

json::object CgroupRule(bool allow, const std::string& type, std::optional<int64_t> major,
                        std::optional<int64_t> minor, const std::string& access) {
  json::object r{{"allow", allow}, {"access", access}};
  if (!type.empty()) r["type"] = type;
  if (major) r["major"] = *major;
  if (minor) r["minor"] = *minor;
  return r;
}

Status Devices(const BundleInput& in, const json::object& c, const Facts& f, json::array& devices,
               json::array& rules) {
  // Deny everything, then allow what is mapped; runc appends its own
  // defaults (null, zero, full, tty, random, urandom, pts, ptmx).
  // Privileged containers may open any device, as in Docker.
  if (f.privileged) {
    rules.push_back(CgroupRule(true, "", std::nullopt, std::nullopt, "rwm"));
  } else {
    rules.push_back(CgroupRule(false, "", std::nullopt, std::nullopt, "rwm"));
    // Docker: mknod of any device is allowed (opening it is not).
    rules.push_back(CgroupRule(true, "c", std::nullopt, std::nullopt, "m"));
    rules.push_back(CgroupRule(true, "b", std::nullopt, std::nullopt, "m"));
  }
  for (const WantedDevice& w : WantedDevices(in, c)) {
    if (w.host_path.empty() || w.host_path[0] != '/' || w.container_path[0] != '/') {
      return InvalidArgument(w.context + ": hostPath and containerPath must be absolute");
    }
    if (!in.devices) return Internal("bundle: no device lookup");
    StatusOr<HostDevice> d = in.devices(w.host_path);
    if (!d.ok()) {
      if (w.optional) continue;
      return d.status().WithContext(w.context + ": " + w.host_path);
    }
    std::string type(1, d->type);
    devices.push_back(json::object{{"path", w.container_path},
                                   {"type", type},
                                   {"major", d->major},
                                   {"minor", d->minor},
                                   {"fileMode", d->mode},
                                   {"uid", 0},
                                   {"gid", 0}});
    if (!f.privileged) rules.push_back(CgroupRule(true, type, d->major, d->minor, w.access));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<json::object> BuildLinux(const BundleInput& in, const json::object& c, const Facts& f) {
  json::object linux_cfg;
  linux_cfg["namespaces"] = Namespaces(in, f);
  if (!in.cgroups_path.empty()) linux_cfg["cgroupsPath"] = in.cgroups_path;

  json::object resources;
  StatusOr<json::object> memory = Memory(in, c);
  if (!memory.ok()) return memory.status();
  if (!memory->empty()) resources["memory"] = std::move(*memory);
  if (json::object cpu = Cpu(c); !cpu.empty()) resources["cpu"] = std::move(cpu);
  json::array devices, rules;
  BERTH_RETURN_IF_ERROR(Devices(in, c, f, devices, rules));
  resources["devices"] = std::move(rules);
  linux_cfg["resources"] = std::move(resources);
  linux_cfg["devices"] = std::move(devices);

  if (const json::array* controls = GetArray(c, "systemControls")) {
    json::object sysctl;
    for (const json::value& v : *controls) {
      if (!v.is_object()) continue;
      std::optional<std::string> name = GetString(v.get_object(), "namespace");
      if (name && !name->empty()) sysctl[*name] = GetString(v.get_object(), "value").value_or("");
    }
    if (!sysctl.empty()) linux_cfg["sysctl"] = std::move(sysctl);
  }

  if (!f.privileged) {
    // Docker's defaults: kernel information and knobs a container must not
    // read or change.
    json::array masked;
    for (const char* p :
         {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"}) {
      masked.emplace_back(p);
    }
    json::array readonly;
    for (const char* p : {"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                          "/proc/sysrq-trigger"}) {
      readonly.emplace_back(p);
    }
    linux_cfg["maskedPaths"] = std::move(masked);
    linux_cfg["readonlyPaths"] = std::move(readonly);
    if (in.seccomp) linux_cfg["seccomp"] = *in.seccomp;
  }
  return linux_cfg;
}

}  // namespace berth::agent::bundle
