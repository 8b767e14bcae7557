// BuildOciBundle: decides the few facts every part depends on (network,
// hostname, privilege) and assembles config.json from the parts built in
// bundle_process.cc, bundle_linux.cc and bundle_mounts.cc.
#include "agent/runtime/oci_bundle.h"

#include <algorithm>
#include <cmath>

#include "agent/runtime/bundle_internal.h"

namespace berth::agent {
namespace bundle {

std::optional<std::string> GetString(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().get_string());
}

std::optional<int64_t> GetInt(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  const json::value& v = it->value();
  if (v.is_int64()) return v.get_int64();
  // Past int64 is INT64_MAX (more than any limit), as model::OptInt reads
  // it; a fraction is truncated, but a double outside int64's range would
  // be undefined to convert and reads as absent.
  if (v.is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v.get_uint64(), INT64_MAX));
  if (v.is_double() && std::isfinite(v.get_double()) && std::abs(v.get_double()) < 9e18) {
    return static_cast<int64_t>(v.get_double());
  }
  return std::nullopt;
}

std::optional<bool> GetBool(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_bool()) return std::nullopt;
  return it->value().get_bool();
}

const json::array* GetArray(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_array()) return nullptr;
  return &it->value().get_array();
}

const json::object* GetObject(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return nullptr;
  return &it->value().get_object();
}

std::vector<std::string> GetStrings(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const json::array* a = GetArray(o, key)) {
    for (const json::value& v : *a) {
      if (v.is_string()) out.emplace_back(v.get_string());
    }
  }
  return out;
}

json::object ApplyOverrides(const json::object& container, const json::object* overrides) {
  json::object c = container;
  if (overrides == nullptr) return c;
  for (std::string_view key :
       {"command", "cpu", "memory", "memoryReservation", "resourceRequirements"}) {
    auto it = overrides->find(key);
    if (it != overrides->end() && !it->value().is_null()) c[key] = it->value();
  }
  if (const json::array* extra = GetArray(*overrides, "environment")) {
    json::array env;
    if (const json::array* base = GetArray(c, "environment")) env = *base;
    for (const json::value& v : *extra) env.push_back(v);
    c["environment"] = std::move(env);
  }
  if (const json::array* files = GetArray(*overrides, "environmentFiles")) {
    if (!files->empty()) c["environmentFiles"] = *files;
  }
  return c;
}

StatusOr<Facts> DecideFacts(const BundleInput& in, const json::object& c) {
  Facts f;
  f.privileged = GetBool(c, "privileged").value_or(false);
  std::string mode = GetString(*in.task_definition, "networkMode").value_or("");
  // Only host networking and a private loopback-only namespace exist: berth
  // builds no bridge, port mappings or per-task interfaces. awsvpc (the
  // Fargate default) gets the loopback-only namespace too, so such
  // definitions run, without a network.
  if (mode == "bridge") {
    return InvalidArgument("networkMode bridge is not supported; use host or none");
  }
  f.network_mode = SharesHostNetwork(*in.task_definition, c) ? "host" : "none";

  std::optional<std::string> hostname = GetString(c, "hostname");
  if (hostname && !hostname->empty()) {
    f.hostname = *hostname;
  } else if (f.network_mode != "host") {
    // Docker names a container by its id's first 12 characters; the task id
    // is what a user sees in DescribeTasks.
    f.hostname = in.task_id.substr(0, 12);
    if (f.hostname.empty()) f.hostname = "berth";
  }
  // else: host networking shares the host's name, as ECS containers do.

  std::string ipc = GetString(*in.task_definition, "ipcMode").value_or("");
  f.share_host_ipc = ipc == "host";
  f.no_ipc = ipc == "none";
  return f;
}

}  // namespace bundle

bool SharesHostNetwork(const boost::json::object& task_definition,
                       const boost::json::object& container) {
  return bundle::GetString(task_definition, "networkMode").value_or("") == "host" &&
         !bundle::GetBool(container, "disableNetworking").value_or(false);
}

StatusOr<OciBundle> BuildOciBundle(const BundleInput& in) {
  namespace json = boost::json;
  using namespace bundle;
  if (in.task_definition == nullptr || in.container == nullptr) {
    return InvalidArgument("bundle: task definition and container definition are required");
  }
  if (in.rootfs.empty() || in.rootfs[0] != '/') {
    return InvalidArgument("bundle: rootfs must be an absolute path");
  }
  json::object c = ApplyOverrides(*in.container, in.overrides);
  if (const json::array* files = GetArray(c, "environmentFiles"); files && !files->empty()) {
    return InvalidArgument("environmentFiles are not supported (they are read from S3)");
  }
  if (const json::array* secrets = GetArray(c, "secrets"); secrets && !secrets->empty()) {
    return InvalidArgument(
        "secrets are not supported (they come from SSM or Secrets Manager); "
        "pass values in environment");
  }
  if (const json::array* from = GetArray(c, "volumesFrom"); from && !from->empty()) {
    return InvalidArgument("volumesFrom is not supported; use mountPoints with a task volume");
  }

  StatusOr<Facts> facts = DecideFacts(in, c);
  if (!facts.ok()) return facts.status();
  StatusOr<json::object> process = BuildProcess(in, c, *facts);
  if (!process.ok()) return process.status();
  StatusOr<json::object> linux_cfg = BuildLinux(in, c, *facts);
  if (!linux_cfg.ok()) return linux_cfg.status();

  OciBundle out;
  json::array mounts;
  BERTH_RETURN_IF_ERROR(BuildMounts(in, c, *facts, mounts, out.files));

  json::object& cfg = out.config;
  cfg["ociVersion"] = "1.0.2";
  cfg["process"] = std::move(*process);
  cfg["root"] = json::object{{"path", in.rootfs},
                             {"readonly", GetBool(c, "readonlyRootFilesystem").value_or(false)}};
  if (!facts->hostname.empty()) cfg["hostname"] = facts->hostname;
  cfg["mounts"] = std::move(mounts);
  cfg["linux"] = std::move(*linux_cfg);
  if (const json::object* labels = GetObject(c, "dockerLabels"); labels && !labels->empty()) {
    cfg["annotations"] = *labels;
  }
  return out;
}

}  // namespace berth::agent
