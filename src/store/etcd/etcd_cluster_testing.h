// A 3-member etcd cluster on loopback ports for tests, run by
// scripts/etcd-cluster.sh (its path compiled in as BERTH_ETCD_CLUSTER_SCRIPT)
// and stopped with the test binary, also when the binary dies: the script
// watches it. Without etcd installed Start fails the test; scripts/setup.sh
// installs it.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::store {

// A cluster run by scripts/etcd-cluster.sh with the given arguments.
class EtcdCluster {
 public:
  explicit EtcdCluster(std::vector<std::string> args) : args_(std::move(args)) {}
  ~EtcdCluster() { Stop(); }

  // Fails the test when the cluster does not come up.
  void Start() {
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    std::vector<std::string> argv = {"bash", BERTH_ETCD_CLUSTER_SCRIPT, "--watch-pid",
                                     std::to_string(getpid())};
    argv.insert(argv.end(), args_.begin(), args_.end());
    std::vector<char*> c_argv;
    for (std::string& arg : argv) c_argv.push_back(arg.data());
    c_argv.push_back(nullptr);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      // The script stops the cluster on SIGTERM, which it gets when this
      // process dies without stopping it.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      execv("/bin/bash", c_argv.data());
      _exit(127);
    }
    close(out[1]);
    FILE* lines = fdopen(out[0], "r");
    char line[4096];
    std::string ready;
    while (fgets(line, sizeof line, lines) != nullptr) {
      if (std::string_view(line).starts_with("etcd-cluster: ready ")) {
        ready = line + std::strlen("etcd-cluster: ready ");
        break;
      }
    }
    fclose(lines);
    ASSERT_FALSE(ready.empty())
        << "scripts/etcd-cluster.sh did not start an etcd cluster (see its errors above; "
           "scripts/setup.sh installs etcd-server and etcd-client)";
    std::istringstream fields(ready);
    std::string endpoints;
    fields >> endpoints >> dir_;
    std::istringstream list(endpoints);
    for (std::string endpoint; std::getline(list, endpoint, ',');) endpoints_.push_back(endpoint);
    ASSERT_EQ(endpoints_.size(), 3u) << ready;
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  const std::vector<std::string>& endpoints() const { return endpoints_; }
  // The process id of member i (0-2).
  pid_t member_pid(int i) const {
    std::ifstream file(dir_ + "/m" + std::to_string(i) + ".pid");
    pid_t pid = -1;
    file >> pid;
    return pid;
  }

 private:
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  std::string dir_;
  std::vector<std::string> endpoints_;
};

// The one cluster all the tests of a binary share: started before its first
// test and stopped after its last, by including this header.
class SharedEtcdCluster : public ::testing::Environment {
 public:
  static EtcdCluster& Get() {
    static EtcdCluster* const cluster = new EtcdCluster({});
    return *cluster;
  }
  void SetUp() override { Get().Start(); }
  void TearDown() override { Get().Stop(); }
};
inline const auto* const kSharedEtcdCluster =
    ::testing::AddGlobalTestEnvironment(new SharedEtcdCluster);

}  // namespace berth::store
