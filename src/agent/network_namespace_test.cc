// Real network namespaces: root only (as the agent runs).
#include "agent/network_namespace.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

namespace berth::agent {
namespace {

namespace fs = std::filesystem;

// Connects to 127.0.0.1:port from inside the namespace at path (or from
// the host's, when path is empty); true when something accepts.
bool ConnectsFrom(const std::string& path, uint16_t port) {
  std::packaged_task<bool()> task([&] {
    if (!path.empty()) {
      int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) return false;
      ::close(ns);
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
  });
  auto result = task.get_future();
  std::thread(std::move(task)).join();
  return result.get();
}

TEST(NetworkNamespaceTest, AListenerInsideIsReachableThereOnly) {
  if (geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  char tmpl[] = "/tmp/berth-netns-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/netns";

  ASSERT_TRUE(CreateNetworkNamespace(path).ok());
  EXPECT_TRUE(IsNetworkNamespace(path));
  ASSERT_TRUE(CreateNetworkNamespace(path).ok());  // there already: kept
  auto fd = ListenInNetworkNamespace(path, 0);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  sockaddr_in bound{};
  socklen_t length = sizeof bound;
  ASSERT_EQ(::getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &length), 0);
  uint16_t port = ntohs(bound.sin_port);
  EXPECT_TRUE(ConnectsFrom(path, port));  // its loopback is up
  EXPECT_FALSE(ConnectsFrom("", port));   // the host's loopback is another
  ::close(*fd);

  ASSERT_TRUE(RemoveNetworkNamespace(path).ok());
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(RemoveNetworkNamespace(path).ok());  // gone already
  EXPECT_FALSE(ListenInNetworkNamespace(path, 0).ok());
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace berth::agent
