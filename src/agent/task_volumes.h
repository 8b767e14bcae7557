// A task's volumes on this node: the host folder each one is, made (and
// mounted) before the task's containers start, and released when the task
// ends.
//
//   host.sourcePath          the host folder itself
//   (nothing)                a folder of the task's, removed with it
//   dockerVolumeConfiguration, driver local:
//     scope task             a folder of the task's, or with driverOpts a
//                            mount of its own (DATA/mounts/task-ID-NAME)
//     scope shared           VOLUME_ROOT/NAME/_data, kept by name on the node
//                            (VOLUME_ROOT/NAME/volume.json: its driverOpts and
//                            labels); with driverOpts mounted there while a
//                            task uses it; autoprovision makes it
//   efsVolumeConfiguration   an NFS 4.1 mount of the address --efs-address
//                            gives the file system, at rootDirectory
//                            (DATA/mounts/efs-FSID-HASH), shared by its tasks
//
// Mounts go through VolumeMounts, counted by task id. A bind's device must
// lie inside the volume root, as shared volumes do (symbolic links
// followed). Errors name the volume: "volume 'ckpt': ...".
#pragma once

#include <boost/json/fwd.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agent/volume_mounts.h"
#include "common/env.h"
#include "common/status.h"

namespace berth::agent {

struct VolumeHost {
  VolumeMounts* mounts = nullptr;
  Env* env = Env::Default();
  std::string mounts_dir;                            // DATA/mounts: the task-scoped and EFS mounts
  std::string volume_root;                           // shared volumes; bind devices must be inside
  std::map<std::string, std::string> efs_addresses;  // fs-ID -> "HOST:/PATH"
  // A host name or address -> an IP address (the kernel's NFS client takes
  // only those).
  std::function<StatusOr<std::string>(const std::string& host)> resolve;
};

// "fs-ID=HOST:/PATH" flags (berth agent --efs-address) by file system id.
StatusOr<std::map<std::string, std::string>> ParseEfsAddresses(
    const std::vector<std::string>& flags);

// getaddrinfo(3): the first address of host (itself when it is one).
StatusOr<std::string> ResolveHost(const std::string& host);

// Volume name -> the host folder the containers bind. task_dir: the task's
// own folder (its plain volumes go in task_dir/volumes). On an error some
// volumes may be mounted already: ReleaseTaskVolumes undoes them.
StatusOr<std::map<std::string, std::string>> PrepareTaskVolumes(
    const VolumeHost& host, const boost::json::object& task_definition, const std::string& task_id,
    const std::string& task_dir);

// Releases the task's mounts (unmounting what no other task uses) and
// removes its own volume folders.
Status ReleaseTaskVolumes(const VolumeHost& host, const std::string& task_id,
                          const std::string& task_dir);

}  // namespace berth::agent
