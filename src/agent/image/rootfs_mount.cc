// MountRootfs / UnmountRootfs: a container's root as an overlay of its
// image's layers (read-only, shared by every container of the image) and a
// writable upper folder of its own.
#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

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

Status MountOverlay(const std::string& target, const std::string& options) {
  if (mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0) {
    return Internal("mount overlay on " + target + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Status MountRootfs(const std::vector<std::string>& layer_dirs, const std::string& upper,
                   const std::string& work, const std::string& target) {
  std::string what = "mount rootfs " + target;
  std::error_code ec;
  for (const std::string* dir : {&upper, &work, &target}) {
    std::filesystem::create_directories(*dir, ec);
    if (ec) return Internal("create " + *dir + ": " + ec.message()).WithContext(what);
  }
  if (layer_dirs.empty()) {
    // An image without layers: the container sees just its own writable folder.
    if (mount(upper.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return Internal(std::string("bind mount: ") + std::strerror(errno)).WithContext(what);
    }
    return Status::Ok();
  }
  // Overlay lists the topmost layer first.
  std::vector<std::string> lower(layer_dirs.rbegin(), layer_dirs.rend());
  auto options = Options(lower, std::filesystem::absolute(upper).string(),
                         std::filesystem::absolute(work).string());
  if (!options.ok()) return options.status().WithContext(what);
  if (options->size() <= kMaxMountOptions) return MountOverlay(target, *options).WithContext(what);

  // Too long for one page: name the layers relative to their common parent
  // (the store's layers/sha256), from a thread with its own working directory.
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
  Status status;
  std::thread mounter([&] {
    if (unshare(CLONE_FS) != 0 || chdir(parent.c_str()) != 0) {
      status = Internal("chdir " + parent.string() + ": " + std::strerror(errno));
      return;
    }
    status = MountOverlay(absolute_target, *short_options);
  });
  mounter.join();
  return status.WithContext(what);
}

Status UnmountRootfs(const std::string& target) {
  if (umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0) return Status::Ok();
  if (errno == EINVAL || errno == ENOENT) return Status::Ok();  // not mounted
  if (errno == EBUSY && umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
    return Status::Ok();
  }
  return Internal("unmount " + target + ": " + std::strerror(errno));
}

}  // namespace berth::agent
