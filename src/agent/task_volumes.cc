#include "agent/task_volumes.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <mutex>

#include "agent/state_files.h"
#include "common/crypto.h"
#include "common/local_volume.h"

namespace berth::agent {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// What EFS's own mount helper gives the kernel (NFS 4.1, large transfers,
// hard mounts that ride out a server restart).
constexpr char kEfsMountOptions[] =
    "vers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport";

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

// Names become folder names: ECS allows letters, digits, '-' and '_'.
bool SafeName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

const json::object* Object(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

std::map<std::string, std::string> StringMap(const json::object* o) {
  std::map<std::string, std::string> out;
  if (o == nullptr) return out;
  for (const auto& [k, v] : *o)
    out[std::string(k)] = v.is_string() ? std::string(v.as_string()) : "";
  return out;
}

json::object JsonMap(const std::map<std::string, std::string>& m) {
  json::object out;
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

// Whether path (resolved: symbolic links followed) lies in root.
bool Within(const fs::path& root, const fs::path& path) {
  auto r = root.begin();
  auto p = path.begin();
  for (; r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // a trailing '/'
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

// HOST:/PATH ([V6]:/PATH) split; errors say what was expected.
StatusOr<std::pair<std::string, std::string>> SplitNfsAddress(const std::string& address) {
  size_t colon = address.starts_with("[") ? address.find("]:") : address.find(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument(Quoted(address) + " is not HOST:/PATH");
  }
  std::string host = address.substr(0, colon);
  if (address.starts_with("[")) {
    host = address.substr(1, colon - 1);
    ++colon;
  }
  std::string path = address.substr(colon + 1);
  if (path.empty() || path[0] != '/') {
    return InvalidArgument(Quoted(address) + " is not HOST:/PATH (the path must be absolute)");
  }
  return std::pair{host, path};
}

class Preparer {
 public:
  Preparer(const VolumeHost& host, const std::string& task_id, const std::string& task_dir)
      : host_(host), task_id_(task_id), task_dir_(task_dir) {}

  StatusOr<std::string> Volume(const json::object& volume) {
    const std::string name(StringField(volume, "name"));
    if (!SafeName(name)) return InvalidArgument("volume name " + Quoted(name) + " is not valid");
    if (const json::object* h = Object(volume, "host")) {
      std::string path(StringField(*h, "sourcePath"));
      if (!path.empty()) {
        BERTH_RETURN_IF_ERROR(host_.env->CreateDirs(path));
        return path;
      }
    }
    if (const json::object* efs = Object(volume, "efsVolumeConfiguration")) {
      return Efs(name, *efs);
    }
    const json::object* docker = Object(volume, "dockerVolumeConfiguration");
    if (docker != nullptr && StringField(*docker, "scope") == "shared") {
      return Shared(name, *docker);
    }
    std::optional<LocalVolumeMount> mount;
    if (docker != nullptr) {
      auto parsed = ParseLocalVolumeOptions(StringMap(Object(*docker, "driverOpts")));
      if (!parsed.ok()) return parsed.status();
      mount = std::move(*parsed);
    }
    if (!mount) {
      // A folder of the task's own, removed with it.
      std::string path = task_dir_ + "/volumes/" + name;
      BERTH_RETURN_IF_ERROR(host_.env->CreateDirs(path));
      return path;
    }
    auto spec = SpecOf(*mount);
    if (!spec.ok()) return spec.status();
    std::string target = host_.mounts_dir + "/task-" + task_id_ + "-" + name;
    BERTH_RETURN_IF_ERROR(host_.mounts->Acquire(task_id_, target, *spec, /*remove_target=*/true));
    return target;
  }

 private:
  StatusOr<MountSpec> SpecOf(const LocalVolumeMount& m) {
    MountSpec spec{m.fstype, m.device, m.flags, m.data};
    if (m.kind == LocalVolumeMount::Kind::kBind) {
      std::error_code ec;
      fs::path device = fs::canonical(m.device, ec);
      if (ec) return NotFound("driverOpts.device " + m.device + ": " + ec.message());
      StatusOr<fs::path> root = Root();
      if (!root.ok()) return root.status();
      if (!Within(*root, device)) {
        return FailedPrecondition("driverOpts.device " + m.device + " is outside the volume root " +
                                  root->string() + " (berth agent --volume-root)");
      }
      spec.source = device.string();
    }
    if (m.kind == LocalVolumeMount::Kind::kNfs) {
      auto address = host_.resolve(m.nfs_host);
      if (!address.ok()) return address.status();
      spec.data = WithNfsAddress(m.data, *address);
    }
    return spec;
  }

  StatusOr<fs::path> Root() {
    std::error_code ec;
    fs::path root = fs::canonical(host_.volume_root, ec);
    if (ec) return Internal("volume root " + host_.volume_root + ": " + ec.message());
    return root;
  }

  // VOLUME_ROOT/NAME: volume.json (driverOpts, labels) and _data.
  StatusOr<std::string> Shared(const std::string& name, const json::object& docker) {
    // Two tasks that autoprovision one volume at once make it once.
    static std::mutex provisioning;
    std::lock_guard lock(provisioning);
    const std::string dir = host_.volume_root + "/" + name;
    const std::string data = dir + "/_data";
    const auto opts = StringMap(Object(docker, "driverOpts"));
    const auto labels = StringMap(Object(docker, "labels"));
    const json::value* a = docker.if_contains("autoprovision");
    const bool autoprovision = a && a->is_bool() && a->as_bool();
    std::error_code ec;
    const bool exists = fs::exists(dir + "/volume.json", ec) || fs::exists(data, ec);
    std::map<std::string, std::string> have_opts, have_labels;
    if (auto saved = ReadJsonObject(dir + "/volume.json")) {
      have_opts = StringMap(Object(*saved, "driverOpts"));
      have_labels = StringMap(Object(*saved, "labels"));
    }
    if (!exists) {
      if (!autoprovision) {
        return NotFound(
            "the shared volume does not exist on this node, and autoprovision is "
            "false (set it, or create " +
            data + ")");
      }
      BERTH_RETURN_IF_ERROR(host_.env->CreateDirs(dir));
      json::object record{{"driver", "local"},
                          {"driverOpts", JsonMap(opts)},
                          {"labels", JsonMap(labels)},
                          {"createdBy", task_id_}};
      BERTH_RETURN_IF_ERROR(
          host_.env->WriteFileAtomically(dir + "/volume.json", json::serialize(record)));
      BERTH_RETURN_IF_ERROR(host_.env->CreateDirs(data));
      have_opts = opts;
      have_labels = labels;
    } else if (autoprovision && (have_opts != opts || have_labels != labels)) {
      // As ECS's agent: a volume it would provision exists with other settings.
      return FailedPrecondition(
          "a shared volume of that name exists on this node with other driverOpts or labels");
    }
    // Kept by name inside the root, also when the name is a link out of it.
    StatusOr<fs::path> root = Root();
    if (!root.ok()) return root.status();
    fs::path real = fs::canonical(data, ec);
    if (ec) return Internal(data + ": " + ec.message());
    if (!Within(*root, real)) {
      return FailedPrecondition(data + " is outside the volume root " + root->string());
    }
    auto parsed = ParseLocalVolumeOptions(have_opts);
    if (!parsed.ok()) return parsed.status().WithContext(dir + "/volume.json");
    if (!parsed->has_value()) return real.string();
    auto spec = SpecOf(**parsed);
    if (!spec.ok()) return spec.status();
    BERTH_RETURN_IF_ERROR(
        host_.mounts->Acquire(task_id_, real.string(), *spec, /*remove_target=*/false));
    return real.string();
  }

  StatusOr<std::string> Efs(const std::string& name, const json::object& efs) {
    const std::string id(StringField(efs, "fileSystemId"));
    // The server refuses it; a definition registered before it did is
    // refused here.
    if (StringField(efs, "transitEncryption") == "ENABLED") {
      return FailedPrecondition(
          "transitEncryption ENABLED cannot be honoured: the file system's NFS export is mounted "
          "without TLS");
    }
    auto it = host_.efs_addresses.find(id);
    if (it == host_.efs_addresses.end()) {
      return NotFound("EFS file system " + Quoted(id) +
                      " has no address on this node (berth agent --efs-address " + id +
                      "=HOST:/PATH)");
    }
    auto address = SplitNfsAddress(it->second);
    if (!address.ok()) return address.status();
    std::string root(StringField(efs, "rootDirectory"));
    std::string path =
        (fs::path(address->second) / fs::path(root).relative_path()).lexically_normal().string();
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    if (path.find("..") != std::string::npos) {
      return InvalidArgument("rootDirectory " + Quoted(root) + " leaves the file system");
    }
    auto ip = host_.resolve(address->first);
    if (!ip.ok()) return ip.status();
    MountSpec spec{"nfs4", address->first + ":" + path, 0, WithNfsAddress(kEfsMountOptions, *ip)};
    std::string target = host_.mounts_dir + "/efs-" + (SafeName(id) ? id : "fs") + "-" +
                         Sha256Hex(id + ":" + path).substr(0, 12);
    BERTH_RETURN_IF_ERROR(host_.mounts->Acquire(task_id_, target, spec, /*remove_target=*/true));
    return target;
  }

  const VolumeHost& host_;
  const std::string& task_id_;
  const std::string& task_dir_;
};

}  // namespace

StatusOr<std::map<std::string, std::string>> ParseEfsAddresses(
    const std::vector<std::string>& flags) {
  std::map<std::string, std::string> out;
  for (const std::string& flag : flags) {
    auto fail = [&](const std::string& why) {
      return InvalidArgument("--efs-address " + Quoted(flag) + ": " + why);
    };
    size_t eq = flag.find('=');
    if (eq == std::string::npos) return fail("want fs-ID=HOST:/PATH");
    std::string id = flag.substr(0, eq);
    if (!SafeName(id)) return fail("the file system id must be letters, digits and '-'");
    auto address = SplitNfsAddress(flag.substr(eq + 1));
    if (!address.ok()) return fail(address.status().message());
    if (!out.emplace(id, flag.substr(eq + 1)).second) return fail(id + " is given twice");
  }
  return out;
}

StatusOr<std::string> ResolveHost(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0 || found == nullptr) {
    return Unavailable("resolve " + host + ": " + gai_strerror(rc));
  }
  char text[INET6_ADDRSTRLEN] = {};
  const void* addr =
      found->ai_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr);
  inet_ntop(found->ai_family, addr, text, sizeof text);
  freeaddrinfo(found);
  return std::string(text);
}

StatusOr<std::map<std::string, std::string>> PrepareTaskVolumes(const VolumeHost& host,
                                                                const json::object& task_definition,
                                                                const std::string& task_id,
                                                                const std::string& task_dir) {
  std::map<std::string, std::string> paths;
  const json::value* list = task_definition.if_contains("volumes");
  if (list == nullptr || !list->is_array()) return paths;
  Preparer preparer(host, task_id, task_dir);
  for (const json::value& v : list->as_array()) {
    if (!v.is_object()) continue;
    const std::string name(StringField(v.as_object(), "name"));
    auto path = preparer.Volume(v.as_object());
    if (!path.ok()) return path.status().WithContext("volume " + Quoted(name));
    paths[name] = std::move(*path);
  }
  return paths;
}

Status ReleaseTaskVolumes(const VolumeHost& host, const std::string& task_id,
                          const std::string& task_dir) {
  Status released = host.mounts ? host.mounts->Release(task_id) : Status::Ok();
  // Nothing is ever mounted in here: the mounts live in mounts_dir.
  Status removed = host.env->RemoveAll(task_dir + "/volumes");
  return released.ok() ? removed : released;
}

}  // namespace berth::agent
