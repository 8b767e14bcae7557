// config.mounts: the kernel file systems every container gets, the user's
// tmpfs and volume mounts, and the generated /etc/hosts, /etc/hostname and
// /etc/resolv.conf.
#include <algorithm>
#include <set>
#include <sstream>

#include "agent/runtime/bundle_internal.h"

namespace berth::agent::bundle {
namespace {

json::object Mount(const std::string& dest, const std::string& type, const std::string& source,
                   std::vector<std::string> options) {
  json::array opts;
  for (std::string& o : options) opts.emplace_back(std::move(o));
  return json::object{
      {"destination", dest}, {"type", type}, {"source", source}, {"options", std::move(opts)}};
}

json::object Bind(const std::string& dest, const std::string& source, bool readonly) {
  std::vector<std::string> opts = {"rbind", "rprivate"};
  if (readonly) opts.push_back("ro");
  return Mount(dest, "bind", source, opts);
}

// containerd's default set (what `docker run` gives), with /dev/shm sized by
// sharedMemorySize.
std::vector<json::object> DefaultMounts(const json::object& c, const Facts& f) {
  std::vector<json::object> m;
  m.push_back(Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  m.push_back(
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  m.push_back(Mount("/dev/pts", "devpts", "devpts",
                    {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  if (f.share_host_ipc) {
    // The host's IPC namespace goes with the host's shared memory.
    m.push_back(Bind("/dev/shm", "/dev/shm", false));
  } else if (!f.no_ipc) {
    std::string size = "size=65536k";
    if (const json::object* lp = GetObject(c, "linuxParameters")) {
      if (std::optional<int64_t> mib = GetInt(*lp, "sharedMemorySize"); mib && *mib > 0) {
        size = "size=" + std::to_string(*mib) + "m";
      }
    }
    m.push_back(
        Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", size}));
    m.push_back(Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  }
  m.push_back(Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  m.push_back(
      Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  return m;
}

Status TmpfsMounts(const json::object& c, std::vector<json::object>& out) {
  const json::object* lp = GetObject(c, "linuxParameters");
  const json::array* list = lp ? GetArray(*lp, "tmpfs") : nullptr;
  if (list == nullptr) return Status::Ok();
  for (const json::value& v : *list) {
    if (!v.is_object()) continue;
    const json::object& t = v.get_object();
    std::string dest = GetString(t, "containerPath").value_or("");
    if (dest.empty() || dest[0] != '/') {
      return InvalidArgument("linuxParameters.tmpfs: containerPath must be absolute");
    }
    // docker --tmpfs: noexec,nosuid,nodev unless the options say otherwise.
    std::vector<std::string> opts = {"nosuid", "nodev", "noexec"};
    for (const std::string& o : GetStrings(t, "mountOptions")) {
      auto drop = [&](const char* name) {
        opts.erase(std::remove(opts.begin(), opts.end(), name), opts.end());
      };
      if (o == "exec") drop("noexec");
      if (o == "suid") drop("nosuid");
      if (o == "dev") drop("nodev");
      if (std::find(opts.begin(), opts.end(), o) == opts.end()) opts.push_back(o);
    }
    if (std::optional<int64_t> mib = GetInt(t, "size"); mib && *mib > 0) {
      opts.push_back("size=" + std::to_string(*mib) + "m");
    }
    out.push_back(Mount(dest, "tmpfs", "tmpfs", opts));
  }
  return Status::Ok();
}

Status VolumeMounts(const BundleInput& in, const json::object& c, std::vector<json::object>& out) {
  const json::array* points = GetArray(c, "mountPoints");
  if (points == nullptr) return Status::Ok();
  for (const json::value& v : *points) {
    if (!v.is_object()) continue;
    const json::object& p = v.get_object();
    std::string volume = GetString(p, "sourceVolume").value_or("");
    std::string dest = GetString(p, "containerPath").value_or("");
    auto it = in.volume_paths.find(volume);
    if (it == in.volume_paths.end()) {
      return InvalidArgument("mountPoints: unknown sourceVolume " + volume);
    }
    if (dest.empty() || dest[0] != '/') {
      return InvalidArgument("mountPoints: " + volume + ": containerPath must be absolute");
    }
    out.push_back(Bind(dest, it->second, GetBool(p, "readOnly").value_or(false)));
  }
  return Status::Ok();
}

std::string HostsFile(const BundleInput& in, const json::object& c, const Facts& f) {
  std::string s;
  if (f.network_mode == "host" && in.host_hosts) {
    s = *in.host_hosts;
    if (!s.empty() && s.back() != '\n') s += '\n';
  } else {
    s = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
    // Programs that look up their own name (torch.distributed, Java) find it.
    if (!f.hostname.empty()) s += "127.0.1.1\t" + f.hostname + "\n";
  }
  if (const json::array* extra = GetArray(c, "extraHosts")) {
    for (const json::value& v : *extra) {
      if (!v.is_object()) continue;
      s += GetString(v.get_object(), "ipAddress").value_or("") + "\t" +
           GetString(v.get_object(), "hostname").value_or("") + "\n";
    }
  }
  return s;
}

std::optional<std::string> ResolvConf(const BundleInput& in, const json::object& c) {
  std::vector<std::string> servers = GetStrings(c, "dnsServers");
  std::vector<std::string> search = GetStrings(c, "dnsSearchDomains");
  if (servers.empty() && search.empty()) return in.host_resolv_conf;
  std::string s;
  if (!search.empty()) {
    s += "search";
    for (const std::string& d : search) s += " " + d;
    s += "\n";
  }
  if (!servers.empty()) {
    for (const std::string& n : servers) s += "nameserver " + n + "\n";
  } else if (in.host_resolv_conf) {
    // Only search domains given: keep the host's name servers.
    std::istringstream host(*in.host_resolv_conf);
    std::string line;
    while (std::getline(host, line)) {
      if (line.rfind("nameserver", 0) == 0 || line.rfind("options", 0) == 0) s += line + "\n";
    }
  }
  return s;
}

}  // namespace

Status BuildMounts(const BundleInput& in, const json::object& c, const Facts& f,
                   json::array& mounts, std::map<std::string, std::string>& files) {
  std::vector<json::object> user;
  BERTH_RETURN_IF_ERROR(TmpfsMounts(c, user));
  BERTH_RETURN_IF_ERROR(VolumeMounts(in, c, user));

  if (!f.hostname.empty()) {
    files["hostname"] = f.hostname + "\n";
    user.push_back(Bind("/etc/hostname", "hostname", false));
  }
  bool extra_hosts = GetArray(c, "extraHosts") && !GetArray(c, "extraHosts")->empty();
  if (f.network_mode != "host" || extra_hosts || in.host_hosts) {
    files["hosts"] = HostsFile(in, c, f);
    user.push_back(Bind("/etc/hosts", "hosts", false));
  }
  if (std::optional<std::string> resolv = ResolvConf(in, c)) {
    files["resolv.conf"] = *resolv;
    user.push_back(Bind("/etc/resolv.conf", "resolv.conf", false));
  }
  const json::object* lp = GetObject(c, "linuxParameters");
  if (lp && GetBool(*lp, "initProcessEnabled").value_or(false)) {
    if (in.init_path.empty()) {
      return InvalidArgument("linuxParameters.initProcessEnabled: no init binary on this host");
    }
    // Under /dev (a tmpfs) so the image's rootfs is not touched.
    user.push_back(Bind("/dev/init", in.init_path, true));
  }

  // A user mount at a default destination (tmpfs on /dev/shm) replaces it.
  std::set<std::string> taken;
  for (const json::object& m : user) taken.insert(GetString(m, "destination").value_or(""));
  for (json::object& m : DefaultMounts(c, f)) {
    if (!taken.count(GetString(m, "destination").value_or(""))) mounts.push_back(std::move(m));
  }
  for (json::object& m : user) mounts.push_back(std::move(m));
  return Status::Ok();
}

}  // namespace berth::agent::bundle
