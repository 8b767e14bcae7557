#include "agent/task_volumes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>

#include <boost/json/parse.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "common/fault_injection_env.h"

namespace berth::agent {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using Op = FaultInjectionEnv::Op;

class TaskVolumesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/berth-task-volumes-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    base_ = pattern;
    env_.UseFakeMounts();
    auto mounts = VolumeMounts::Open({&env_, (base_ / "mounts.json").string(), "boot"});
    ASSERT_TRUE(mounts.ok());
    mounts_ = std::move(*mounts);
    fs::create_directories(base_ / "volumes");
    host_.mounts = mounts_.get();
    host_.env = &env_;
    host_.mounts_dir = (base_ / "mounts").string();
    host_.volume_root = (base_ / "volumes").string();
    host_.efs_addresses = {{"fs-0123", "files.example:/exports"}};
    host_.resolve = [](const std::string& host) -> StatusOr<std::string> {
      if (host == "files.example" || host == "10.0.0.9") return std::string("10.0.0.9");
      return Unavailable("resolve " + host + ": Name or service not known");
    };
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // volumes: the JSON array of the task definition's volumes.
  StatusOr<std::map<std::string, std::string>> Prepare(const std::string& volumes,
                                                       const std::string& task = "task-a") {
    json::object td = json::parse(R"({"volumes": )" + volumes + "}").as_object();
    return PrepareTaskVolumes(host_, td, task, TaskDir(task));
  }
  std::string TaskDir(const std::string& task) { return (base_ / "tasks" / task).string(); }
  std::string Error(const std::string& volumes) {
    auto prepared = Prepare(volumes);
    EXPECT_FALSE(prepared.ok());
    return prepared.ok() ? "" : prepared.status().message();
  }
  const Env::MountRequest* MountAt(const std::string& target) {
    static Env::MountRequest found;
    for (const auto& m : env_.Mounts()) {
      if (m.target == target) return &(found = m);
    }
    return nullptr;
  }

  fs::path base_;
  FaultInjectionEnv env_{Env::Default()};
  std::unique_ptr<VolumeMounts> mounts_;
  VolumeHost host_;
};

TEST_F(TaskVolumesTest, HostAndPlainVolumesAreFolders) {
  auto paths = Prepare(R"([{"name": "data", "host": {"sourcePath": ")" + (base_ / "src").string() +
                       R"("}}, {"name": "scratch"},
                           {"name": "tmp", "dockerVolumeConfiguration": {"scope": "task"}}])");
  ASSERT_TRUE(paths.ok()) << paths.status().message();
  EXPECT_EQ(paths->at("data"), (base_ / "src").string());
  EXPECT_EQ(paths->at("scratch"), TaskDir("task-a") + "/volumes/scratch");
  EXPECT_TRUE(fs::is_directory(paths->at("tmp")));
  ASSERT_TRUE(ReleaseTaskVolumes(host_, "task-a", TaskDir("task-a")).ok());
  EXPECT_FALSE(fs::exists(TaskDir("task-a") + "/volumes")) << "removed with the task";
  EXPECT_TRUE(fs::exists(base_ / "src")) << "a host folder is the host's";
}

TEST_F(TaskVolumesTest, ATaskScopedTmpfsIsMountedForTheTaskAlone) {
  auto paths = Prepare(R"([{"name": "scratch", "dockerVolumeConfiguration": {"scope": "task",
      "driverOpts": {"type": "tmpfs", "device": "tmpfs", "o": "size=64m,noexec"}}}])");
  ASSERT_TRUE(paths.ok()) << paths.status().message();
  const std::string target = (base_ / "mounts" / "task-task-a-scratch").string();
  EXPECT_EQ(paths->at("scratch"), target);
  const Env::MountRequest* m = MountAt(target);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->fstype, "tmpfs");
  EXPECT_EQ(m->options, "size=64m");
  EXPECT_EQ(m->flags, static_cast<unsigned long>(MS_NOEXEC));
  ASSERT_TRUE(ReleaseTaskVolumes(host_, "task-a", TaskDir("task-a")).ok());
  EXPECT_EQ(MountAt(target), nullptr);
}

constexpr char kSharedNfs[] = R"([{"name": "ckpt", "dockerVolumeConfiguration": {
    "scope": "shared", "autoprovision": true, "labels": {"team": "ml"},
    "driverOpts": {"type": "nfs", "device": "files.example:/ckpt", "o": "nfsvers=4.1,hard"}}}])";

TEST_F(TaskVolumesTest, ASharedNfsVolumeIsOneMountWhileTasksUseIt) {
  auto a = Prepare(kSharedNfs, "task-a");
  auto b = Prepare(kSharedNfs, "task-b");
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().message() << b.status().message();
  const std::string data = (fs::canonical(base_ / "volumes") / "ckpt" / "_data").string();
  EXPECT_EQ(a->at("ckpt"), data);
  EXPECT_EQ(b->at("ckpt"), data);
  const Env::MountRequest* m = MountAt(data);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->fstype, "nfs");
  EXPECT_EQ(m->source, "files.example:/ckpt");
  EXPECT_EQ(m->options, "addr=10.0.0.9,nfsvers=4.1,hard") << "the kernel takes an address";
  EXPECT_EQ(env_.calls(Op::kMount), 1);
  ASSERT_TRUE(ReleaseTaskVolumes(host_, "task-a", TaskDir("task-a")).ok());
  EXPECT_NE(MountAt(data), nullptr) << "task-b still uses it";
  ASSERT_TRUE(ReleaseTaskVolumes(host_, "task-b", TaskDir("task-b")).ok());
  EXPECT_EQ(MountAt(data), nullptr);
  EXPECT_TRUE(fs::is_directory(data)) << "the shared volume is kept by name";
  std::ifstream record(base_ / "volumes" / "ckpt" / "volume.json");
  std::string text((std::istreambuf_iterator<char>(record)), {});
  EXPECT_THAT(text, HasSubstr(R"("labels":{"team":"ml"})"));
}

TEST_F(TaskVolumesTest, ASharedVolumeMustExistOrBeProvisionedAlike) {
  const char* no_autoprovision =
      R"([{"name": "ckpt", "dockerVolumeConfiguration": {"scope": "shared"}}])";
  EXPECT_THAT(Error(no_autoprovision),
              AllOf(StartsWith("volume 'ckpt': "), HasSubstr("does not exist on this node")));
  ASSERT_TRUE(Prepare(kSharedNfs).ok());
  // Without autoprovision an existing volume is taken as it is.
  auto paths = Prepare(no_autoprovision, "task-b");
  ASSERT_TRUE(paths.ok()) << paths.status().message();
  EXPECT_EQ(env_.calls(Op::kMount), 1);
  EXPECT_THAT(Error(R"([{"name": "ckpt", "dockerVolumeConfiguration": {"scope": "shared",
                        "autoprovision": true, "driverOpts": {"type": "tmpfs"}}}])"),
              HasSubstr("exists on this node with other driverOpts or labels"));
}

TEST_F(TaskVolumesTest, ABindMustComeFromInsideTheVolumeRoot) {
  fs::create_directories(base_ / "volumes" / "datasets");
  fs::create_directories(base_ / "outside");
  fs::create_symlink(base_ / "outside", base_ / "volumes" / "sneaky");
  auto bind = [&](const fs::path& device) {
    return R"([{"name": "ds", "dockerVolumeConfiguration": {"driverOpts": {"type": "none",
               "o": "bind,ro", "device": ")" +
           device.string() + R"("}}}])";
  };
  auto paths = Prepare(bind(base_ / "volumes" / "datasets"));
  ASSERT_TRUE(paths.ok()) << paths.status().message();
  const Env::MountRequest* m = MountAt(paths->at("ds"));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->flags, static_cast<unsigned long>(MS_REMOUNT | MS_BIND | MS_RDONLY));
  ASSERT_TRUE(ReleaseTaskVolumes(host_, "task-a", TaskDir("task-a")).ok());
  for (const fs::path& device :
       {base_ / "outside", base_ / "volumes" / "sneaky", fs::path("/etc")}) {
    EXPECT_THAT(Error(bind(device)),
                AllOf(StartsWith("volume 'ds': "), HasSubstr("is outside the volume root")))
        << device;
  }
  EXPECT_THAT(Error(bind(base_ / "volumes" / "missing")), HasSubstr("No such file"));
  EXPECT_THAT(env_.Mounts(), IsEmpty());
}

TEST_F(TaskVolumesTest, EfsIsAnNfsMountOfTheConfiguredAddress) {
  const char* efs = R"([{"name": "ckpt", "efsVolumeConfiguration": {"fileSystemId": "fs-0123",
                        "rootDirectory": "/runs/7/", "transitEncryption": "DISABLED"}}])";
  auto a = Prepare(efs, "task-a");
  auto b = Prepare(efs, "task-b");
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().message() << b.status().message();
  EXPECT_EQ(a->at("ckpt"), b->at("ckpt")) << "one mount for the file system's tasks";
  EXPECT_THAT(a->at("ckpt"), StartsWith((base_ / "mounts" / "efs-fs-0123-").string()));
  const Env::MountRequest* m = MountAt(a->at("ckpt"));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->fstype, "nfs4");
  EXPECT_EQ(m->source, "files.example:/exports/runs/7");
  EXPECT_THAT(m->options, StartsWith("addr=10.0.0.9,vers=4.1,"));
  EXPECT_THAT(Error(R"([{"name": "tls", "efsVolumeConfiguration": {"fileSystemId": "fs-0123",
                         "transitEncryption": "ENABLED"}}])"),
              HasSubstr("volume 'tls': transitEncryption ENABLED cannot be honoured"));
  EXPECT_THAT(Error(R"([{"name": "other", "efsVolumeConfiguration": {"fileSystemId": "fs-9"}}])"),
              HasSubstr("volume 'other': EFS file system 'fs-9' has no address on this node "
                        "(berth agent --efs-address fs-9=HOST:/PATH)"));
}

TEST_F(TaskVolumesTest, AFailureLeavesWhatWasMountedToTheRelease) {
  env_.Fail(Op::kMount, "task-task-a-second", ENODEV);
  EXPECT_THAT(Error(R"([{"name": "first", "dockerVolumeConfiguration": {
                          "driverOpts": {"type": "tmpfs"}}},
                        {"name": "second", "dockerVolumeConfiguration": {
                          "driverOpts": {"type": "tmpfs"}}}])"),
              AllOf(StartsWith("volume 'second': mount "), HasSubstr("No such device")));
  ASSERT_TRUE(ReleaseTaskVolumes(host_, "task-a", TaskDir("task-a")).ok());
  EXPECT_THAT(env_.Mounts(), IsEmpty());
}

TEST(EfsAddresses, ParsesTheFlags) {
  auto parsed = ParseEfsAddresses({"fs-1=10.0.0.2:/exports", "fs-2=[fd00::2]:/efs"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->at("fs-1"), "10.0.0.2:/exports");
  EXPECT_EQ(parsed->at("fs-2"), "[fd00::2]:/efs");
  for (const char* bad : {"fs-1", "fs-1=host", "fs-1=host:relative", "=host:/x", "fs/1=host:/x"}) {
    auto r = ParseEfsAddresses({bad});
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_THAT(r.status().message(), StartsWith("--efs-address '")) << bad;
    }
  }
  EXPECT_THAT(ParseEfsAddresses({"fs-1=a:/x", "fs-1=b:/y"}).status().message(),
              HasSubstr("given twice"));
}

TEST(ResolveHost, AnAddressIsItself) {
  EXPECT_EQ(ResolveHost("127.0.0.1").value(), "127.0.0.1");
  EXPECT_FALSE(ResolveHost("no-such-host.invalid").ok());
}

}  // namespace
}  // namespace berth::agent
