#include "common/local_volume.h"

#include <sys/mount.h>

#include <string_view>
#include <utility>
#include <vector>

namespace berth {
namespace {

// mount(2) takes one page of file system options.
constexpr size_t kMaxOptionsLength = 4095;

struct FlagWord {
  std::string_view word;
  unsigned long set;
  unsigned long clear;
};

// The words of o that are mount flags rather than file system options, as
// Docker's local driver reads them (moby/sys/mount).
constexpr FlagWord kFlagWords[] = {
    {"defaults", 0, 0},
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"nostrictatime", 0, MS_STRICTATIME},
    {"bind", MS_BIND, 0},
    {"rbind", MS_BIND | MS_REC, 0},
};

// Words that would act on mounts other than the volume's own.
constexpr std::string_view kRefusedWords[] = {"remount",    "move",       "shared",  "rshared",
                                              "slave",      "rslave",     "private", "rprivate",
                                              "unbindable", "runbindable"};

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

// Splits o into flags and the rest.
Status SplitOptions(const std::string& o, LocalVolumeMount& out, std::string& addr) {
  if (o.size() > kMaxOptionsLength) {
    return InvalidArgument("driverOpts.o is longer than " + std::to_string(kMaxOptionsLength) +
                           " characters");
  }
  std::vector<std::string> data;
  for (const std::string& word : SplitCommas(o)) {
    for (std::string_view refused : kRefusedWords) {
      if (word == refused) {
        return InvalidArgument("driverOpts.o " + Quoted(word) +
                               " is not allowed: it changes mounts other than the volume's");
      }
    }
    bool flag = false;
    for (const FlagWord& f : kFlagWords) {
      if (word == f.word) {
        out.flags = (out.flags | f.set) & ~f.clear;
        flag = true;
      }
    }
    if (flag) continue;
    if (word.starts_with("addr=")) addr = word.substr(5);
    data.push_back(word);
  }
  for (size_t i = 0; i < data.size(); ++i) out.data += (i ? "," : "") + data[i];
  return Status::Ok();
}

// "HOST:/PATH" or "[V6ADDR]:/PATH"; HOST may be empty. The host, or an error.
StatusOr<std::string> NfsDeviceHost(const std::string& device) {
  size_t colon;
  std::string host;
  if (device.starts_with("[")) {
    size_t close = device.find(']');
    if (close == std::string::npos || close + 1 >= device.size() || device[close + 1] != ':') {
      return InvalidArgument("driverOpts.device " + Quoted(device) +
                             " is not HOST:/PATH for type nfs");
    }
    host = device.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = device.find(':');
    if (colon == std::string::npos) {
      return InvalidArgument("driverOpts.device " + Quoted(device) +
                             " is not HOST:/PATH (or :/PATH with addr= in o) for type nfs");
    }
    host = device.substr(0, colon);
  }
  if (colon + 1 >= device.size() || device[colon + 1] != '/') {
    return InvalidArgument("driverOpts.device " + Quoted(device) +
                           ": the exported path after ':' must be absolute");
  }
  return host;
}

}  // namespace

StatusOr<std::optional<LocalVolumeMount>> ParseLocalVolumeOptions(
    const std::map<std::string, std::string>& driver_opts) {
  if (driver_opts.empty()) return std::optional<LocalVolumeMount>();
  for (const auto& [key, value] : driver_opts) {
    if (key != "type" && key != "device" && key != "o") {
      return InvalidArgument("driverOpts: unknown option " + Quoted(key) +
                             " (the local driver takes type, device and o)");
    }
  }
  auto get = [&](const char* key) {
    auto it = driver_opts.find(key);
    return it == driver_opts.end() ? std::string() : it->second;
  };
  const std::string type = get("type");
  const std::string device = get("device");
  if (type.empty()) {
    return InvalidArgument(
        "driverOpts: type is required with device or o (nfs, tmpfs, or none "
        "with o bind)");
  }
  LocalVolumeMount out;
  std::string addr;
  BERTH_RETURN_IF_ERROR(SplitOptions(get("o"), out, addr));
  const bool bind = (out.flags & MS_BIND) != 0;

  if (type == "nfs" || type == "nfs4") {
    if (bind) return InvalidArgument("driverOpts.o: bind does not go with type " + type);
    StatusOr<std::string> host = NfsDeviceHost(device);
    if (!host.ok()) return host.status();
    out.nfs_host = addr.empty() ? *host : addr;
    if (out.nfs_host.empty()) {
      return InvalidArgument("driverOpts: type " + type +
                             " needs the server: device HOST:/PATH, or addr= in o");
    }
    out.kind = LocalVolumeMount::Kind::kNfs;
    out.fstype = type;
    out.device = device;
    return std::optional<LocalVolumeMount>(std::move(out));
  }
  if (type == "tmpfs") {
    if (bind) return InvalidArgument("driverOpts.o: bind does not go with type tmpfs");
    out.kind = LocalVolumeMount::Kind::kTmpfs;
    out.fstype = "tmpfs";
    out.device = device.empty() ? "tmpfs" : device;
    return std::optional<LocalVolumeMount>(std::move(out));
  }
  if (type == "none" || type == "bind") {
    // Docker binds with type none and o bind; berth takes type bind too.
    if (type == "bind" && !bind) out.flags |= MS_BIND;
    if ((out.flags & MS_BIND) == 0) {
      return InvalidArgument("driverOpts: type none mounts nothing without bind or rbind in o");
    }
    if (device.empty() || device[0] != '/') {
      return InvalidArgument("driverOpts.device " + Quoted(device) +
                             ": a bind needs the absolute path of a host folder");
    }
    if (!out.data.empty()) {
      return InvalidArgument("driverOpts.o " + Quoted(out.data) +
                             ": a bind takes only mount flags (ro, nosuid, noexec, ...)");
    }
    out.kind = LocalVolumeMount::Kind::kBind;
    out.device = device;
    return std::optional<LocalVolumeMount>(std::move(out));
  }
  return InvalidArgument("driverOpts.type " + Quoted(type) +
                         " is not supported: the local driver here mounts nfs, nfs4 or tmpfs, or "
                         "binds a host folder (type none, o bind)");
}

std::string WithNfsAddress(const std::string& data, const std::string& address) {
  std::string out = "addr=" + address;
  for (const std::string& word : SplitCommas(data)) {
    if (!word.starts_with("addr=")) out += "," + word;
  }
  return out;
}

}  // namespace berth
