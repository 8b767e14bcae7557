// MountRootfs / UnmountRootfs: a container's root as an overlay of its
// image's layers (read-only, shared by every container of the image) and a
// writable upper folder of its own.
#include <sys/mount.h>

#include <filesystem>

#include "agent/image/image_store.h"

namespace berth::agent {
namespace {

// mount(2) takes at most one page of options.
constexpr size_t kMaxMountOptions = 4095;

// Overlay separates lowerdirs with ':' and options with ','; a ':' in a
// path is escaped, a ',' cannot be.
StatusOr<std::string> OverlayPath(const std::string& path) {
  if (path.find(',') != std::string::npos) {
    return InvalidArgument("path \"" + path + "\" contains ',', which overlay cannot take");
  }
  std::string out;
  for (char c : path) {
    if (c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

StatusOr<std::string> Options(const std::vector<std::string>& lower_topmost_first,
                              const std::string& upper, const std::string& work) {
  std::string out = "lowerdir=";
  for (size_t i = 0; i < lower_topmost_first.size(); ++i) {
    auto p = OverlayPath(lower_topmost_first[i]);
    if (!p.ok()) return p.status();
    if (i > 0) out += ':';
    out += *p;
  }
  for (auto [key, path] : {std::pair{",upperdir=", &upper}, std::pair{",workdir=", &work}}) {
    auto p = OverlayPath(*path);
    if (!p.ok()) return p.status();
    out += key + *p;
  }
  return out;
}

// working_dir: where relative paths in options start (empty: none are).
Status MountOverlay(Env& env, const std::string& target, const std::string& options,
                    const std::string& working_dir = "") {
  return env.Mount(Env::MountRequest{.source = "overlay",
                                     .target = target,
                                     .fstype = "overlay",
                                     .options = options,
                                     .working_dir = working_dir});
}

}  // namespace

Status MountRootfs(Env& env, const std::vector<std::string>& layer_dirs, const std::string& upper,
                   const std::string& work, const std::string& target) {
  std::string what = "mount rootfs " + target;
  for (const std::string* dir : {&upper, &work, &target}) {
    BERTH_RETURN_IF_ERROR(env.CreateDirs(*dir).WithContext(what));
  }
  if (layer_dirs.empty()) {
    // An image without layers: the container sees just its own writable folder.
    Env::MountRequest bind;
    bind.source = upper;
    bind.target = target;
    bind.flags = MS_BIND;
    return env.Mount(bind).WithContext(what);
  }
  // Overlay lists the topmost layer first.
  std::vector<std::string> lower(layer_dirs.rbegin(), layer_dirs.rend());
  auto options = Options(lower, std::filesystem::absolute(upper).string(),
                         std::filesystem::absolute(work).string());
  if (!options.ok()) return options.status().WithContext(what);
  if (options->size() <= kMaxMountOptions) {
    return MountOverlay(env, target, *options).WithContext(what);
  }

  // Too long for one page: name the layers relative to their common parent
  // (the store's layers/sha256), mounted from there.
  std::filesystem::path parent = std::filesystem::path(lower[0]).parent_path();
  std::vector<std::string> relative;
  for (const std::string& dir : lower) {
    if (std::filesystem::path(dir).parent_path() != parent) {
      return InvalidArgument("too many layers for one mount (" + std::to_string(lower.size()) +
                             ") and they are not in one folder")
          .WithContext(what);
    }
    relative.push_back(std::filesystem::path(dir).filename().string());
  }
  auto short_options = Options(relative, std::filesystem::absolute(upper).string(),
                               std::filesystem::absolute(work).string());
  if (!short_options.ok()) return short_options.status().WithContext(what);
  if (short_options->size() > kMaxMountOptions) {
    return InvalidArgument("too many layers for one overlay mount (" +
                           std::to_string(lower.size()) + ")")
        .WithContext(what);
  }
  std::string absolute_target = std::filesystem::absolute(target).string();
  return MountOverlay(env, absolute_target, *short_options, parent.string()).WithContext(what);
}

Status UnmountRootfs(Env& env, const std::string& target) {
  Status status = env.Unmount(target, /*detach=*/false);
  // Busy (a process still in it): detach now, the kernel finishes later.
  if (status.code() == StatusCode::kFailedPrecondition) status = env.Unmount(target, true);
  return status;
}

}  // namespace berth::agent
