#include "agent/network_namespace.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <thread>

namespace berth::agent {

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Runs fn on a thread of its own: a thread that changes its network
// namespace ends with it, and the process's other threads never see it.
template <typename Fn>
auto OnOwnThread(Fn fn) -> decltype(fn()) {
  std::packaged_task<decltype(fn())()> task(std::move(fn));
  auto result = task.get_future();
  std::thread(std::move(task)).join();
  return result.get();
}

Status LoopbackUp() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Internal(Errno("socket"));
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  Status status;
  if (::ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
    status = Internal(Errno("read the flags of lo"));
  } else {
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (::ioctl(fd, SIOCSIFFLAGS, &request) != 0) status = Internal(Errno("bring lo up"));
  }
  ::close(fd);
  return status;
}

}  // namespace

bool IsNetworkNamespace(const std::string& path) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == NSFS_MAGIC;
}

Status CreateNetworkNamespace(const std::string& path) {
  if (IsNetworkNamespace(path)) return Status::Ok();
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0);
  if (fd < 0) return Internal(Errno("create " + path));
  ::close(fd);
  Status made = OnOwnThread([&]() -> Status {
    if (::unshare(CLONE_NEWNET) != 0) return Internal(Errno("unshare the network namespace"));
    BERTH_RETURN_IF_ERROR(LoopbackUp());
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return Internal(Errno("bind mount the network namespace"));
    }
    return Status::Ok();
  });
  if (!made.ok()) ::unlink(path.c_str());
  return made.WithContext("network namespace " + path);
}

StatusOr<int> ListenInNetworkNamespace(const std::string& path, uint16_t port) {
  StatusOr<int> listening = OnOwnThread([&]() -> StatusOr<int> {
    int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) return NotFound(Errno("open"));
    int joined = ::setns(ns, CLONE_NEWNET);
    ::close(ns);
    if (joined != 0) return Internal(Errno("enter"));
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Internal(Errno("socket"));
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd, SOMAXCONN) != 0) {
      Status failed = Unavailable(Errno("listen on 127.0.0.1:" + std::to_string(port)));
      ::close(fd);
      return failed;
    }
    return fd;
  });
  if (!listening.ok()) return listening.status().WithContext("network namespace " + path);
  return listening;
}

Status RemoveNetworkNamespace(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return Internal(Errno("unmount network namespace " + path));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Internal(Errno("remove network namespace " + path));
  }
  return Status::Ok();
}

}  // namespace berth::agent
