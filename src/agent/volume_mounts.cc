#include "agent/volume_mounts.h"

#include <sys/mount.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/state_files.h"
#include "common/log.h"

namespace berth::agent {

namespace json = boost::json;

namespace {

// Whether path is a mount point in this process's mount namespace
// (/proc/self/mountinfo: the fifth field, spaces written as \040).
bool IsMountPoint(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    if (!(fields >> id >> parent >> device >> root >> point)) continue;
    std::string unescaped;
    for (size_t i = 0; i < point.size(); ++i) {
      bool space = point.compare(i, 4, "\\040") == 0;
      unescaped += space ? ' ' : point[i];
      if (space) i += 3;
    }
    if (unescaped == path) return true;
  }
  return false;
}

}  // namespace

StatusOr<std::unique_ptr<VolumeMounts>> VolumeMounts::Open(Options options) {
  std::unique_ptr<VolumeMounts> mounts(new VolumeMounts(std::move(options)));
  BERTH_RETURN_IF_ERROR(mounts->Load());
  return mounts;
}

Status VolumeMounts::Load() {
  auto saved = ReadJsonObject(options_.state_file);
  if (!saved) {
    if (ReadWholeFile(options_.state_file)) {
      return Internal("volume mounts: " + options_.state_file + " is not a JSON object");
    }
    return Status::Ok();  // none yet
  }
  const bool same_boot = StringField(*saved, "bootId") == options_.boot_id;
  const json::value* list = saved->if_contains("mounts");
  if (list == nullptr || !list->is_object()) return Status::Ok();
  for (const auto& [target, v] : list->as_object()) {
    if (!v.is_object()) continue;
    const json::object& o = v.as_object();
    Record r;
    r.spec.fstype = std::string(StringField(o, "fstype"));
    r.spec.source = std::string(StringField(o, "source"));
    r.spec.data = std::string(StringField(o, "data"));
    if (const json::value* f = o.if_contains("flags"); f && f->is_int64()) {
      r.spec.flags = static_cast<unsigned long>(f->as_int64());
    }
    if (const json::value* u = o.if_contains("users"); u && u->is_array()) {
      for (const json::value& user : u->as_array()) {
        if (user.is_string()) r.users.insert(std::string(user.as_string()));
      }
    }
    const json::value* mounted = o.if_contains("mounted");
    r.mounted = same_boot && mounted && mounted->is_bool() && mounted->as_bool();
    const json::value* remove = o.if_contains("removeTarget");
    r.remove_target = remove && remove->is_bool() && remove->as_bool();
    records_[std::string(target)] = std::move(r);
  }
  return Status::Ok();
}

Status VolumeMounts::Save() {
  json::object mounts;
  for (const auto& [target, r] : records_) {
    json::array users;
    for (const std::string& u : r.users) users.emplace_back(u);
    mounts[target] = json::object{{"fstype", r.spec.fstype},
                                  {"source", r.spec.source},
                                  {"flags", static_cast<int64_t>(r.spec.flags)},
                                  {"data", r.spec.data},
                                  {"users", std::move(users)},
                                  {"mounted", r.mounted},
                                  {"removeTarget", r.remove_target}};
  }
  json::object doc{{"bootId", options_.boot_id}, {"mounts", std::move(mounts)}};
  return options_.env->WriteFileAtomically(options_.state_file, json::serialize(doc))
      .WithContext("volume mounts: save");
}

Status VolumeMounts::MountNow(const std::string& target, const MountSpec& spec) {
  Env& env = *options_.env;
  BERTH_RETURN_IF_ERROR(env.CreateDirs(target));
  // Left by a crash that came before it was written down: detached, so that
  // it is not stacked under the new one and outlives its release.
  if (IsMountPoint(target)) BERTH_RETURN_IF_ERROR(env.Unmount(target, /*detach=*/true));
  constexpr unsigned long kBindFlags = MS_BIND | MS_REC;
  Env::MountRequest request;
  request.source = spec.source;
  request.target = target;
  if ((spec.flags & MS_BIND) == 0) {
    request.fstype = spec.fstype;
    request.flags = spec.flags;
    request.options = spec.data;
    return env.Mount(request);
  }
  request.flags = spec.flags & kBindFlags;
  BERTH_RETURN_IF_ERROR(env.Mount(request));
  // The kernel takes a bind's other flags (ro, nosuid, ...) only on a remount.
  if ((spec.flags & ~kBindFlags) == 0) return Status::Ok();
  request.source.clear();
  request.flags = MS_REMOUNT | MS_BIND | (spec.flags & ~MS_REC);
  Status remounted = env.Mount(request);
  if (!remounted.ok()) (void)env.Unmount(target, /*detach=*/true);
  return remounted;
}

Status VolumeMounts::Acquire(const std::string& user, const std::string& target,
                             const MountSpec& spec, bool remove_target) {
  std::lock_guard lock(mu_);
  auto [it, added] = records_.try_emplace(target);
  Record& r = it->second;
  if (!added && !(r.spec == spec)) {
    if (!r.users.empty()) {
      return FailedPrecondition(target + " is mounted from " + r.spec.source +
                                " with other options for other tasks");
    }
    // Left over without users (its unmount failed): made again as asked.
    BERTH_RETURN_IF_ERROR(options_.env->Unmount(target, /*detach=*/true));
    r.mounted = false;
  }
  const bool counted = r.users.contains(user);
  // Counted on, yet not known to be mounted: made before a crash that came
  // before it was written down, and the tasks counted have it in their
  // containers. Taken as it is where it is there.
  if (!r.mounted && !r.users.empty() && IsMountPoint(target)) r.mounted = true;
  r.spec = spec;
  r.remove_target = remove_target;
  // The user is written down before the mount is made: a crash in between
  // leaves a record whose mount the next Acquire or Release deals with,
  // never a mount no record knows.
  r.users.insert(user);
  Status saved = Save();
  Status mounted = saved.ok() && !r.mounted ? MountNow(target, spec) : Status::Ok();
  if (!saved.ok() || !mounted.ok()) {
    if (!counted) r.users.erase(user);
    if (r.users.empty() && !r.mounted) {
      if (r.remove_target) {
        std::error_code ec;
        std::filesystem::remove(target, ec);  // rmdir: nothing is mounted there
      }
      records_.erase(target);
    }
    (void)Save();
    return saved.ok() ? mounted : saved;
  }
  if (!r.mounted) {
    r.mounted = true;
    (void)Save();  // a lost "mounted" only means a later mount attempt finds it there
    LogInfo("volume mounted",
            {{"target", target}, {"source", spec.source}, {"fstype", spec.fstype}, {"user", user}});
  }
  return Status::Ok();
}

Status VolumeMounts::UnmountUnused() {
  Status first;
  for (auto it = records_.begin(); it != records_.end();) {
    Record& r = it->second;
    if (!r.users.empty()) {
      ++it;
      continue;
    }
    const std::string& target = it->first;
    Status s = options_.env->Unmount(target, /*detach=*/false);
    if (!s.ok()) {
      // Busy: something still has it open (a container that would not
      // die). Detached, it goes when that does.
      LogWarn("volume not unmounted; detaching it", {{"target", target}, {"error", s.message()}});
      s = options_.env->Unmount(target, /*detach=*/true);
    }
    if (!s.ok()) {
      LogWarn("volume not unmounted", {{"target", target}, {"error", s.message()}});
      if (first.ok()) first = s;
      ++it;
      continue;
    }
    if (r.mounted) LogInfo("volume unmounted", {{"target", target}});
    if (r.remove_target) {
      // rmdir alone: should anything still be mounted there, it stays.
      std::error_code ec;
      std::filesystem::remove(target, ec);
    }
    it = records_.erase(it);
  }
  return first;
}

Status VolumeMounts::Release(const std::string& user) {
  std::lock_guard lock(mu_);
  bool changed = false;
  for (auto& [target, r] : records_) changed = r.users.erase(user) > 0 || changed;
  if (!changed) return Status::Ok();
  // Counted out first: a crash before the unmount leaves an unused record,
  // which the next Release or Retain unmounts.
  BERTH_RETURN_IF_ERROR(Save());
  Status unmounted = UnmountUnused();
  Status saved = Save();
  return unmounted.ok() ? saved : unmounted;
}

Status VolumeMounts::Retain(const std::set<std::string>& users) {
  std::lock_guard lock(mu_);
  for (auto& [target, r] : records_) {
    std::erase_if(r.users, [&](const std::string& u) { return !users.contains(u); });
  }
  Status unmounted = UnmountUnused();
  Status saved = Save();
  return unmounted.ok() ? saved : unmounted;
}

std::vector<std::string> VolumeMounts::Users(const std::string& target) const {
  std::lock_guard lock(mu_);
  auto it = records_.find(target);
  if (it == records_.end()) return {};
  return std::vector<std::string>(it->second.users.begin(), it->second.users.end());
}

}  // namespace berth::agent
