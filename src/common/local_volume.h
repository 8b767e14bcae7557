// Docker's `local` volume driver: what its options (an ECS
// dockerVolumeConfiguration's driverOpts `type`, `device` and `o`, as in
// `docker volume create --opt`) mount. Pure: the server checks a task
// definition's options with it, the node agent mounts what it returns.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/status.h"

namespace berth {

struct LocalVolumeMount {
  enum class Kind { kNfs, kTmpfs, kBind };
  Kind kind = Kind::kTmpfs;
  std::string fstype;  // "nfs", "nfs4" or "tmpfs"; empty for a bind mount
  // The source: "HOST:/PATH" for NFS (HOST may be empty when o has addr=),
  // the folder bound (absolute), or "tmpfs".
  std::string device;
  // MS_* flags from o's flag words (ro, nosuid, noexec, ...); a bind has
  // MS_BIND (and MS_REC for rbind). Binds ignore MS_RDONLY on the first
  // mount: whoever mounts one remounts it read-only.
  unsigned long flags = 0;
  // The rest of o, for the file system: "addr=10.0.0.2,vers=4.1,hard",
  // "size=64m,mode=1777". Never set for a bind.
  std::string data;
  // NFS: the server to reach, from addr= in o or else the device's HOST.
  // The kernel takes only an IP address in addr=; the agent resolves a name
  // and sets addr= (as Docker does).
  std::string nfs_host;
};

// driverOpts as the task definition gives them. nullopt when there are none:
// the volume is a plain folder. InvalidArgument names the option:
// "driverOpts.type 'ext4' is not supported: ...".
StatusOr<std::optional<LocalVolumeMount>> ParseLocalVolumeOptions(
    const std::map<std::string, std::string>& driver_opts);

// o with addr= set to address (replacing one given, else first), for an NFS
// mount whose server the caller resolved.
std::string WithNfsAddress(const std::string& data, const std::string& address);

}  // namespace berth
