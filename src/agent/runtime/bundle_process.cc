// config.process: what runs, with which environment, user and limits.
// The image config and the definition combine as `docker run` combines an
// image with its flags.
#include <algorithm>
#include <climits>

#include "agent/runtime/bundle_internal.h"

namespace berth::agent::bundle {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr uint64_t kDockerDefaultNofile = 1048576;

// Docker's rule: an entryPoint replaces the image's Entrypoint and drops its
// Cmd (the Cmd was written for the old Entrypoint); a command replaces Cmd.
StatusOr<std::vector<std::string>> Args(const BundleInput& in, const json::object& c) {
  std::vector<std::string> entrypoint = GetStrings(c, "entryPoint");
  std::vector<std::string> command = GetStrings(c, "command");
  bool entrypoint_given = !entrypoint.empty();
  if (!entrypoint_given) entrypoint = in.image.entrypoint;
  if (command.empty() && !entrypoint_given) command = in.image.cmd;
  std::vector<std::string> args = entrypoint;
  args.insert(args.end(), command.begin(), command.end());
  if (args.empty()) {
    return InvalidArgument("no command: neither the task definition nor the image gives one");
  }
  const json::object* lp = GetObject(c, "linuxParameters");
  if (lp != nullptr && GetBool(*lp, "initProcessEnabled").value_or(false)) {
    // tini reaps zombies and forwards signals; "--" keeps the container's
    // flags away from tini's own.
    args.insert(args.begin(), {"/dev/init", "--"});
  }
  return args;
}

std::string JoinIds(const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) {
    if (!s.empty()) s += ',';
    s += std::to_string(id);
  }
  return s;
}

// An ordered environment where a later value replaces an earlier one in place.
class Env {
 public:
  void Set(const std::string& name, const std::string& value) {
    auto it =
        std::find_if(vars_.begin(), vars_.end(), [&](const auto& kv) { return kv.first == name; });
    if (it != vars_.end()) {
      it->second = value;
    } else {
      vars_.emplace_back(name, value);
    }
  }
  void SetEntry(const std::string& entry) {  // "NAME=value" (or "NAME")
    size_t eq = entry.find('=');
    if (eq == 0 || entry.empty()) return;
    if (eq == std::string::npos) {
      Set(entry, "");
    } else {
      Set(entry.substr(0, eq), entry.substr(eq + 1));
    }
  }
  json::array ToJson() const {
    json::array a;
    for (const auto& [k, v] : vars_) a.emplace_back(k + "=" + v);
    return a;
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

json::array BuildEnv(const BundleInput& in, const json::object& c, const Facts& f) {
  Env env;
  env.Set("PATH", kDefaultPath);
  if (!f.hostname.empty()) env.Set("HOSTNAME", f.hostname);
  for (const auto& [name, value] : in.default_env) env.Set(name, value);
  for (const std::string& e : in.image.env) env.SetEntry(e);
  if (const json::array* vars = GetArray(c, "environment")) {
    for (const json::value& v : *vars) {
      if (!v.is_object()) continue;
      std::optional<std::string> name = GetString(v.get_object(), "name");
      if (!name || name->empty()) continue;
      env.Set(*name, GetString(v.get_object(), "value").value_or(""));
    }
  }
  // Set last: they describe what the scheduler gave this container, and a
  // stale value from the definition must not point at another task's device.
  if (!in.gpu_ids.empty()) env.Set("NVIDIA_VISIBLE_DEVICES", JoinIds(in.gpu_ids));
  if (!in.neuron_device_ids.empty()) env.Set("BERTH_NEURON_DEVICES", JoinIds(in.neuron_device_ids));
  if (!in.efa_device_ids.empty()) env.Set("BERTH_EFA_DEVICES", JoinIds(in.efa_device_ids));
  for (const auto& [name, value] : in.agent_env) env.Set(name, value);
  return env.ToJson();
}

StatusOr<std::string> RlimitType(const std::string& name) {
  static const std::vector<std::pair<std::string, std::string>> kNames = {
      {"core", "RLIMIT_CORE"},         {"cpu", "RLIMIT_CPU"},
      {"data", "RLIMIT_DATA"},         {"fsize", "RLIMIT_FSIZE"},
      {"locks", "RLIMIT_LOCKS"},       {"memlock", "RLIMIT_MEMLOCK"},
      {"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"},
      {"nofile", "RLIMIT_NOFILE"},     {"nproc", "RLIMIT_NPROC"},
      {"rss", "RLIMIT_RSS"},           {"rtprio", "RLIMIT_RTPRIO"},
      {"rttime", "RLIMIT_RTTIME"},     {"sigpending", "RLIMIT_SIGPENDING"},
      {"stack", "RLIMIT_STACK"}};
  for (const auto& [ecs, oci] : kNames) {
    if (ecs == name) return oci;
  }
  return InvalidArgument("ulimits: unknown name " + name);
}

// ECS gives limits as 32-bit integers; -1 (as in `ulimit unlimited`) means
// no limit.
uint64_t LimitValue(int64_t v) { return v < 0 ? UINT64_MAX : static_cast<uint64_t>(v); }

std::string LimitText(uint64_t v) { return v == UINT64_MAX ? "unlimited" : std::to_string(v); }

StatusOr<json::array> BuildRlimits(const BundleInput& in, const json::object& c) {
  json::array out;
  bool nofile_given = false;
  if (const json::array* ulimits = GetArray(c, "ulimits")) {
    for (const json::value& v : *ulimits) {
      if (!v.is_object()) continue;
      const json::object& u = v.get_object();
      std::string name = GetString(u, "name").value_or("");
      StatusOr<std::string> type = RlimitType(name);
      if (!type.ok()) return type.status();
      uint64_t soft = LimitValue(GetInt(u, "softLimit").value_or(0));
      uint64_t hard = LimitValue(GetInt(u, "hardLimit").value_or(0));
      if (soft > hard) {
        return InvalidArgument("ulimits: " + name + " soft limit " + LimitText(soft) +
                               " is above its hard limit " + LimitText(hard));
      }
      // runc would fail with a bare "operation not permitted" when it sets
      // a hard limit the host does not allow; say which one instead.
      auto host = in.host_hard_limits.find(name);
      if (host != in.host_hard_limits.end() && hard > host->second) {
        return InvalidArgument("ulimits: " + name + " hard limit " + LimitText(hard) +
                               " is above the host's " + LimitText(host->second));
      }
      if (name == "nofile") nofile_given = true;
      out.push_back(json::object{{"type", *type}, {"hard", hard}, {"soft", soft}});
    }
  }
  if (!nofile_given) {
    // Docker's daemon runs with nofile 1048576 and its containers inherit
    // it; a host that allows less gives its own hard limit.
    uint64_t n = kDockerDefaultNofile;
    auto host = in.host_hard_limits.find("nofile");
    if (host != in.host_hard_limits.end()) n = std::min(n, host->second);
    out.push_back(json::object{{"type", "RLIMIT_NOFILE"}, {"hard", n}, {"soft", n}});
  }
  return out;
}

}  // namespace

StatusOr<json::object> BuildProcess(const BundleInput& in, const json::object& c, const Facts& f) {
  StatusOr<std::vector<std::string>> args = Args(in, c);
  if (!args.ok()) return args.status();
  json::object p;
  p["terminal"] = false;  // pseudoTerminal is not offered: conmon keeps plain pipes
  json::array a;
  for (const std::string& s : *args) a.emplace_back(s);
  p["args"] = std::move(a);
  p["env"] = BuildEnv(in, c, f);

  std::string cwd = GetString(c, "workingDirectory").value_or("");
  if (cwd.empty()) cwd = in.image.working_dir;
  if (cwd.empty()) cwd = "/";
  if (cwd[0] != '/') return InvalidArgument("workingDirectory: " + cwd + " is not absolute");
  p["cwd"] = cwd;

  std::string user = GetString(c, "user").value_or("");
  if (user.empty()) user = in.image.user;
  StatusOr<json::object> u = ResolveUser(in.rootfs, user);
  if (!u.ok()) return u.status().WithContext("user");
  p["user"] = std::move(*u);

  StatusOr<json::array> rlimits = BuildRlimits(in, c);
  if (!rlimits.ok()) return rlimits.status();
  p["rlimits"] = std::move(*rlimits);

  StatusOr<std::vector<std::string>> caps = ContainerCapabilities(c);
  if (!caps.ok()) return caps.status();
  json::array capv;
  for (const std::string& s : *caps) capv.emplace_back(s);
  // Docker (20.10+) leaves inheritable and ambient empty, so an exec'd
  // program gains nothing it was not given by file capabilities.
  p["capabilities"] = json::object{{"bounding", capv}, {"effective", capv}, {"permitted", capv}};

  // Docker turns no_new_privs on only when asked (--security-opt
  // no-new-privileges): setuid programs in images (sudo, ping) keep working.
  bool no_new_privs = false;
  for (const std::string& opt : GetStrings(c, "dockerSecurityOptions")) {
    if (opt == "no-new-privileges" || opt == "no-new-privileges:true" ||
        opt == "no-new-privileges=true") {
      no_new_privs = true;
    }
  }
  p["noNewPrivileges"] = no_new_privs;
  return p;
}

}  // namespace berth::agent::bundle
