#include "model/task_volumes.h"

#include <boost/json/object.hpp>
#include <map>
#include <string_view>
#include <vector>

#include "common/local_volume.h"
#include "model/json_util.h"

namespace berth::model {
namespace {

using boost::json::object;
using Result = std::optional<ApiError>;

ApiError Refuse(const std::string& path, const std::string& message) {
  return ApiError{"ClientException", path + ": " + message};
}

std::string Quoted(std::string_view text) {
  constexpr size_t kMax = 100;
  if (text.size() > kMax) return "'" + std::string(text.substr(0, kMax)) + "...'";
  return "'" + std::string(text) + "'";
}

Result CheckDockerVolume(const object& config, std::string_view name, const std::string& path) {
  std::string_view driver = OptString(config, "driver").value_or("local");
  if (driver != "local") {
    return Refuse(path + ".driver", "volume " + Quoted(name) +
                                        " asks for the Docker volume driver " + Quoted(driver) +
                                        ", which berth's agent does not have: it has only the "
                                        "local driver (nfs, tmpfs and bind mounts)");
  }
  std::string_view scope = OptString(config, "scope").value_or("task");
  if (OptBool(config, "autoprovision").value_or(false) && scope != "shared") {
    return Refuse(path + ".autoprovision",
                  "volume " + Quoted(name) + ": autoprovision applies only to scope shared");
  }
  std::map<std::string, std::string> options;
  if (const object* opts = ObjectAt(config, "driverOpts")) {
    for (const auto& [key, value] : *opts) options[std::string(key)] = AsString(value);
  }
  auto parsed = ParseLocalVolumeOptions(options);
  if (!parsed.ok()) {
    return Refuse(path + ".driverOpts",
                  "volume " + Quoted(name) + ": " + parsed.status().message());
  }
  return std::nullopt;
}

// berth mounts an EFS file system as the NFS export the agent is given for
// it (berth agent --efs-address): no TLS tunnel, no IAM, no access points.
Result CheckEfsVolume(const object& config, std::string_view name, const std::string& path) {
  if (OptString(config, "fileSystemId").value_or("").empty()) {
    return Refuse(path + ".fileSystemId", "volume " + Quoted(name) + " needs a fileSystemId");
  }
  std::string_view root = OptString(config, "rootDirectory").value_or("/");
  for (size_t start = 0; start <= root.size();) {
    size_t slash = root.find('/', start);
    if (slash == std::string_view::npos) slash = root.size();
    if (root.substr(start, slash - start) == "..") {
      return Refuse(path + ".rootDirectory", "volume " + Quoted(name) + ": rootDirectory " +
                                                 Quoted(root) +
                                                 " must not leave the file system ('..')");
    }
    start = slash + 1;
  }
  if (OptString(config, "transitEncryption").value_or("DISABLED") == "ENABLED") {
    return Refuse(path + ".transitEncryption",
                  "volume " + Quoted(name) +
                      ": transitEncryption ENABLED cannot be honoured: berth's agent mounts the "
                      "file system's NFS export (berth agent --efs-address) without TLS; set "
                      "DISABLED");
  }
  if (const object* auth = ObjectAt(config, "authorizationConfig")) {
    if (OptString(*auth, "iam").value_or("DISABLED") == "ENABLED") {
      return Refuse(path + ".authorizationConfig.iam",
                    "volume " + Quoted(name) +
                        ": IAM authorization cannot be honoured: berth's agent mounts the file "
                        "system's NFS export without it; set DISABLED");
    }
    if (!OptString(*auth, "accessPointId").value_or("").empty()) {
      return Refuse(path + ".authorizationConfig.accessPointId",
                    "volume " + Quoted(name) +
                        ": EFS access points cannot be honoured: berth's agent mounts the file "
                        "system's NFS export; use rootDirectory");
    }
  }
  return std::nullopt;
}

}  // namespace

Result CheckTaskVolume(const object& volume, const std::string& path) {
  std::string_view name = OptString(volume, "name").value_or("");
  std::vector<std::string_view> kinds;
  for (std::string_view kind : {"host", "dockerVolumeConfiguration", "efsVolumeConfiguration",
                                "fsxWindowsFileServerVolumeConfiguration"}) {
    if (ObjectAt(volume, kind) != nullptr) kinds.push_back(kind);
  }
  if (kinds.size() > 1) {
    return Refuse(path, "volume " + Quoted(name) + " has both " + std::string(kinds[0]) + " and " +
                            std::string(kinds[1]) + "; a volume is one of them");
  }
  if (const object* docker = ObjectAt(volume, "dockerVolumeConfiguration")) {
    return CheckDockerVolume(*docker, name, path + ".dockerVolumeConfiguration");
  }
  if (const object* efs = ObjectAt(volume, "efsVolumeConfiguration")) {
    return CheckEfsVolume(*efs, name, path + ".efsVolumeConfiguration");
  }
  if (ObjectAt(volume, "fsxWindowsFileServerVolumeConfiguration") != nullptr) {
    return Refuse(path + ".fsxWindowsFileServerVolumeConfiguration",
                  "volume " + Quoted(name) +
                      ": FSx for Windows File Server volumes are for Windows container instances; "
                      "berth runs Linux containers");
  }
  return std::nullopt;
}

}  // namespace berth::model
