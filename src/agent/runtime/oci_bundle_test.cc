#include "agent/runtime/oci_bundle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <memory>

namespace berth::agent {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

json::object Obj(std::string_view text) { return json::parse(text).as_object(); }

std::vector<std::string> Strings(const json::value& v) {
  std::vector<std::string> out;
  for (const json::value& s : v.as_array()) out.emplace_back(s.as_string());
  return out;
}

// A task definition, container and override given as JSON text, plus a
// device table standing in for the host's /dev.
struct Case {
  json::object td = Obj(R"({"family":"f","networkMode":"none"})");
  json::object ctr = Obj(R"({"name":"main","image":"img"})");
  std::optional<json::object> ov;
  BundleInput in;
  std::shared_ptr<bool> rdma_cm_present = std::make_shared<bool>(true);

  Case() {
    in.rootfs = "/var/lib/berth/rootfs/x";
    in.task_id = "0123456789abcdef0123456789abcdef";
    in.cgroups_path = "/berth/0123/main";
    in.image.cmd = {"/bin/sh"};
    in.devices = [rdma_cm = rdma_cm_present](const std::string& p) -> StatusOr<HostDevice> {
      if (p.rfind("/dev/neuron", 0) == 0) {
        return HostDevice{'c', 240, std::stoi(p.substr(11)), 0666};
      }
      if (p == "/dev/nvidia0") return HostDevice{'c', 195, 0, 0666};
      if (p == "/dev/nvidia1") return HostDevice{'c', 195, 1, 0666};
      if (p == "/dev/nvidiactl") return HostDevice{'c', 195, 255, 0666};
      if (p == "/dev/fuse") return HostDevice{'c', 10, 229, 0666};
      if (p.rfind("/dev/infiniband/uverbs", 0) == 0) {
        return HostDevice{'c', 231, 192 + std::stoi(p.substr(22)), 0666};
      }
      if (p == "/dev/infiniband/rdma_cm" && *rdma_cm) return HostDevice{'c', 10, 58, 0666};
      return NotFound("no such device");
    };
  }
  StatusOr<OciBundle> Build() {
    in.task_definition = &td;
    in.container = &ctr;
    in.overrides = ov ? &*ov : nullptr;
    return BuildOciBundle(in);
  }
  json::object Config() {
    StatusOr<OciBundle> b = Build();
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? b->config : json::object();
  }
};

std::vector<std::string> Env(const json::object& cfg) {
  return Strings(cfg.at("process").at("env"));
}

TEST(ProcessArgs, DockerRules) {
  struct Row {
    const char* name;
    std::vector<std::string> image_entrypoint, image_cmd;
    const char* container;  // JSON
    const char* overrides;  // JSON or null
    std::vector<std::string> want;
  };
  std::vector<Row> rows = {
      {"image only", {"/ep"}, {"a", "b"}, "{}", nullptr, {"/ep", "a", "b"}},
      {"command replaces Cmd", {"/ep"}, {"a"}, R"({"command":["x"]})", nullptr, {"/ep", "x"}},
      // Docker drops the image Cmd when the entrypoint is overridden.
      {"entryPoint drops Cmd", {"/ep"}, {"a"}, R"({"entryPoint":["/new"]})", nullptr, {"/new"}},
      {"both",
       {"/ep"},
       {"a"},
       R"({"entryPoint":["/new"],"command":["c"]})",
       nullptr,
       {"/new", "c"}},
      {"override command wins",
       {},
       {"a"},
       R"({"command":["def"]})",
       R"({"command":["ov"]})",
       {"ov"}},
      {"no entrypoint", {}, {"sh", "-c", "x"}, "{}", nullptr, {"sh", "-c", "x"}},
  };
  for (const Row& r : rows) {
    Case c;
    c.in.image.entrypoint = r.image_entrypoint;
    c.in.image.cmd = r.image_cmd;
    c.ctr = Obj(r.container);
    if (r.overrides) c.ov = Obj(r.overrides);
    EXPECT_EQ(Strings(c.Config().at("process").at("args")), r.want) << r.name;
  }
}

TEST(ProcessArgs, NothingToRunIsAnError) {
  Case c;
  c.in.image.cmd.clear();
  StatusOr<OciBundle> b = c.Build();
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(),
            "no command: neither the task definition nor the image gives one");
}

TEST(ProcessArgs, InitProcessRunsTiniFromDevInit) {
  Case c;
  c.ctr = Obj(R"({"command":["train"],"linuxParameters":{"initProcessEnabled":true}})");
  json::object cfg = c.Config();
  EXPECT_THAT(Strings(cfg.at("process").at("args")), ElementsAre("/dev/init", "--", "train"));
  bool mounted = false;
  for (const json::value& m : cfg.at("mounts").as_array()) {
    if (m.at("destination") == "/dev/init") {
      mounted = true;
      EXPECT_EQ(m.at("source"), "/usr/bin/tini-static");
    }
  }
  EXPECT_TRUE(mounted);
}

TEST(ProcessEnv, LaterWinsByNameAndDevicesAreSet) {
  Case c;
  c.in.image.env = {"PATH=/opt/bin:/bin", "A=image", "B=image"};
  c.ctr = Obj(R"({"environment":[{"name":"B","value":"def"},{"name":"C","value":"def"},
                                 {"name":"NVIDIA_VISIBLE_DEVICES","value":"7"}]})");
  c.ov = Obj(R"({"environment":[{"name":"C","value":"ov"}]})");
  c.in.gpu_ids = {0, 1};
  c.in.neuron_device_ids = {2, 3};
  EXPECT_THAT(Env(c.Config()),
              ElementsAre("PATH=/opt/bin:/bin", "HOSTNAME=0123456789ab", "A=image", "B=def", "C=ov",
                          "NVIDIA_VISIBLE_DEVICES=0,1", "BERTH_NEURON_DEVICES=2,3"));
}

TEST(ProcessEnv, DefaultPath) {
  Case c;
  EXPECT_EQ(Env(c.Config())[0],
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

TEST(ProcessCwd, DefinitionThenImageThenRoot) {
  Case c;
  EXPECT_EQ(c.Config().at("process").at("cwd"), "/");
  c.in.image.working_dir = "/img";
  EXPECT_EQ(c.Config().at("process").at("cwd"), "/img");
  c.ctr = Obj(R"({"workingDirectory":"/def"})");
  EXPECT_EQ(c.Config().at("process").at("cwd"), "/def");
}

class UserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("berth-user-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root_ / "etc");
    std::ofstream(root_ / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                           "train:x:1000:1001::/home/train:/bin/sh\n";
    std::ofstream(root_ / "etc/group") << "root:x:0:\ntrain:x:1001:\nvideo:x:44:train,other\n"
                                          "wheel:x:10:\n";
    c_.in.rootfs = root_.string();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  json::value User(const std::string& u) {
    c_.ctr = json::object{{"user", u}};
    return c_.Config().at("process").at("user");
  }
  std::filesystem::path root_;
  Case c_;
};

TEST_F(UserTest, Forms) {
  EXPECT_EQ(User("train"), json::parse(R"({"uid":1000,"gid":1001,"additionalGids":[44]})"));
  EXPECT_EQ(User("1000"), json::parse(R"({"uid":1000,"gid":1001,"additionalGids":[44]})"));
  EXPECT_EQ(User("4242"), json::parse(R"({"uid":4242,"gid":0})"));
  EXPECT_EQ(User("4242:7"), json::parse(R"({"uid":4242,"gid":7})"));
  EXPECT_EQ(User("train:wheel"), json::parse(R"({"uid":1000,"gid":10,"additionalGids":[44]})"));
}

TEST_F(UserTest, ImageUserAndDefault) {
  c_.in.image.user = "train";
  EXPECT_EQ(c_.Config().at("process").at("user").at("uid"), 1000);
  c_.in.image.user = "";
  EXPECT_EQ(c_.Config().at("process").at("user"), json::parse(R"({"uid":0,"gid":0})"));
}

TEST_F(UserTest, UnknownNamesAreErrors) {
  c_.ctr = Obj(R"({"user":"nobody"})");
  StatusOr<OciBundle> b = c_.Build();
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("unknown user nobody"));
  c_.ctr = Obj(R"({"user":"train:nogroup"})");
  b = c_.Build();
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("unknown group nogroup"));
}

json::value Rlimit(const json::object& cfg, const std::string& type) {
  for (const json::value& r : cfg.at("process").at("rlimits").as_array()) {
    if (r.at("type") == json::value(type)) return r;
  }
  return nullptr;
}

TEST(Rlimits, FromUlimitsAndDefaultNofile) {
  Case c;
  c.in.host_hard_limits = {{"nofile", 20000}, {"memlock", UINT64_MAX}};
  // Default nofile: Docker's 1048576, capped by what the host allows.
  EXPECT_EQ(Rlimit(c.Config(), "RLIMIT_NOFILE"), json::parse(R"({"type":"RLIMIT_NOFILE",
            "hard":20000,"soft":20000})"));
  c.ctr = Obj(R"({"ulimits":[{"name":"memlock","softLimit":-1,"hardLimit":-1},
                             {"name":"nofile","softLimit":1024,"hardLimit":4096}]})");
  json::object cfg = c.Config();
  EXPECT_EQ(Rlimit(cfg, "RLIMIT_MEMLOCK").at("hard"), UINT64_MAX);
  EXPECT_EQ(Rlimit(cfg, "RLIMIT_NOFILE").at("soft"), 1024);
  EXPECT_EQ(cfg.at("process").at("rlimits").as_array().size(), 2u);
}

// Found by assignments_fuzz: converting a double outside int64's range is
// undefined; such a limit reads as absent (0), one past int64 as unlimited.
TEST(Rlimits, NumbersOutsideInt64AreReadWithoutOverflow) {
  Case c;
  c.in.host_hard_limits = {{"nofile", UINT64_MAX}, {"stack", UINT64_MAX}};
  c.ctr = Obj(R"({"ulimits":[{"name":"nofile","softLimit":-1e56,"hardLimit":1e300},
                             {"name":"stack","softLimit":1,"hardLimit":18446744073709551615}]})");
  json::object cfg = c.Config();
  EXPECT_EQ(Rlimit(cfg, "RLIMIT_NOFILE"), json::parse(R"({"type":"RLIMIT_NOFILE",
            "hard":0,"soft":0})"));
  EXPECT_EQ(Rlimit(cfg, "RLIMIT_STACK").at("hard"), INT64_MAX);
}

TEST(Rlimits, AboveTheHostIsAnError) {
  Case c;
  c.in.host_hard_limits = {{"nofile", 1048576}};
  c.ctr = Obj(R"({"ulimits":[{"name":"nofile","softLimit":1024,"hardLimit":2000000}]})");
  StatusOr<OciBundle> b = c.Build();
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "ulimits: nofile hard limit 2000000 is above the host's 1048576");
}

TEST(Resources, CpuAndMemory) {
  Case c;
  c.td = Obj(R"({"networkMode":"host","cpu":"2048","memory":"4096"})");
  c.ctr = Obj(R"({"cpu":0,"memory":512,"memoryReservation":256,
                  "linuxParameters":{"maxSwap":1024,"swappiness":10}})");
  json::object r = c.Config().at("linux").at("resources").as_object();
  // cpu 0 -> the kernel's minimum of 2 shares; the task's cpu is on the
  // task's cgroup, not the container's.
  EXPECT_EQ(r.at("cpu"), json::parse(R"({"shares":2})"));
  // swap is memory + maxSwap: (512 + 1024) MiB.
  EXPECT_EQ(r.at("memory"), json::parse(R"({"limit":536870912,"reservation":268435456,
            "swap":1610612736,"swappiness":10})"));
}

TEST(Resources, OverridesAndTaskMemory) {
  Case c;
  c.td = Obj(R"({"memory":"1 GB","cpu":"1 vCPU"})");
  c.ctr = Obj(R"({"cpu":256,"linuxParameters":{"maxSwap":0}})");
  c.ov = Obj(R"({"cpu":512})");
  json::object r = c.Config().at("linux").at("resources").as_object();
  EXPECT_EQ(r.at("cpu"), json::parse(R"({"shares":512})"));
  // Swap is counted against the task's memory when the container has none.
  EXPECT_EQ(r.at("memory").at("limit"), 1073741824);
  EXPECT_EQ(r.at("memory").at("swap"), 1073741824);  // maxSwap 0: no swap
  EXPECT_EQ(c.Config().at("linux").at("cgroupsPath"), "/berth/0123/main");
}

TEST(Resources, TaskSizeIsLeftToTheTaskCgroup) {
  Case c;
  c.td = Obj(R"({"memory":"2 GB","cpu":"2 vCPU"})");
  c.ctr = Obj(R"({"memoryReservation":256})");
  json::object r = c.Config().at("linux").at("resources").as_object();
  EXPECT_EQ(r.at("memory"), json::parse(R"({"reservation":268435456})"));
  EXPECT_FALSE(r.contains("cpu"));
}

std::vector<std::string> DevicePaths(const json::object& cfg) {
  std::vector<std::string> out;
  for (const json::value& d : cfg.at("linux").at("devices").as_array()) {
    out.emplace_back(d.at("path").as_string());
  }
  return out;
}

TEST(Devices, UnionOfListedAndScheduled) {
  Case c;
  c.ctr = Obj(R"({"linuxParameters":{"devices":[
      {"hostPath":"/dev/neuron1","containerPath":"/dev/neuron1","permissions":["read","write"]},
      {"hostPath":"/dev/fuse","permissions":["read"]}]}})");
  c.in.neuron_device_ids = {1, 4};
  json::object cfg = c.Config();
  EXPECT_THAT(DevicePaths(cfg), ElementsAre("/dev/neuron1", "/dev/fuse", "/dev/neuron4"));
  EXPECT_EQ(cfg.at("linux").at("devices").at(0),
            json::parse(R"({"path":"/dev/neuron1","type":"c","major":240,"minor":1,
                            "fileMode":438,"uid":0,"gid":0})"));
  const json::array& rules = cfg.at("linux").at("resources").at("devices").as_array();
  EXPECT_EQ(rules.at(0), json::parse(R"({"allow":false,"access":"rwm"})"));
  EXPECT_EQ(rules.at(4), json::parse(R"({"allow":true,"access":"r","type":"c","major":10,
                                         "minor":229})"));
  EXPECT_EQ(rules.size(), 6u);
}

TEST(Devices, GpusWithControlDevicesWhenPresent) {
  Case c;
  c.in.gpu_ids = {1};
  EXPECT_THAT(DevicePaths(c.Config()), ElementsAre("/dev/nvidia1", "/dev/nvidiactl"));
}

TEST(Devices, EfaDevicesWithRdmaCmWhenPresent) {
  Case c;
  c.ctr = Obj(R"({"linuxParameters":{"devices":[{"hostPath":"/dev/infiniband/uverbs3"}]}})");
  c.in.efa_device_ids = {1, 3};
  json::object cfg = c.Config();
  EXPECT_THAT(DevicePaths(cfg), ElementsAre("/dev/infiniband/uverbs3", "/dev/infiniband/uverbs1",
                                            "/dev/infiniband/rdma_cm"));
  EXPECT_EQ(cfg.at("linux").at("devices").at(1),
            json::parse(R"({"path":"/dev/infiniband/uverbs1","type":"c","major":231,
                            "minor":193,"fileMode":438,"uid":0,"gid":0})"));
  EXPECT_THAT(Env(cfg), testing::Contains("BERTH_EFA_DEVICES=1,3"));
  Case d;
  *d.rdma_cm_present = false;
  d.in.efa_device_ids = {0};
  EXPECT_THAT(DevicePaths(d.Config()), ElementsAre("/dev/infiniband/uverbs0"));
}

TEST(Devices, MissingDeviceNamesThePath) {
  Case c;
  c.ctr = Obj(R"({"linuxParameters":{"devices":[{"hostPath":"/dev/xyz0"}]}})");
  StatusOr<OciBundle> b = c.Build();
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "linuxParameters.devices: /dev/xyz0: no such device");
  Case d;
  d.in.gpu_ids = {5};
  EXPECT_THAT(d.Build().status().message(), HasSubstr("/dev/nvidia5"));
}

TEST(Capabilities, AddDropAll) {
  auto caps = [](const char* ctr) {
    StatusOr<std::vector<std::string>> c = ContainerCapabilities(Obj(ctr));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : std::vector<std::string>{};
  };
  EXPECT_EQ(caps("{}").size(), 14u);
  std::vector<std::string> c = caps(R"({"linuxParameters":{"capabilities":
      {"add":["IPC_LOCK"],"drop":["NET_RAW","CAP_MKNOD"]}}})");
  EXPECT_EQ(c.size(), 13u);
  EXPECT_EQ(c.back(), "CAP_IPC_LOCK");
  EXPECT_THAT(caps(R"({"linuxParameters":{"capabilities":{"drop":["ALL"],"add":["SYS_PTRACE"]}}})"),
              ElementsAre("CAP_SYS_PTRACE"));
  EXPECT_EQ(
      caps(R"({"linuxParameters":{"capabilities":{"add":["ALL"],"drop":["SYS_ADMIN"]}}})").size(),
      40u);
  EXPECT_EQ(caps(R"({"privileged":true})").size(), 41u);
  EXPECT_FALSE(
      ContainerCapabilities(Obj(R"({"linuxParameters":{"capabilities":{"add":["FLY"]}}})")).ok());
}

TEST(Hardening, DefaultsAndPrivileged) {
  Case c;
  c.in.seccomp = Obj(R"({"defaultAction":"SCMP_ACT_ERRNO"})");
  json::object linux_cfg = c.Config().at("linux").as_object();
  EXPECT_TRUE(linux_cfg.contains("seccomp"));
  EXPECT_EQ(linux_cfg.at("maskedPaths").as_array().size(), 9u);
  EXPECT_EQ(linux_cfg.at("readonlyPaths").as_array().size(), 6u);
  EXPECT_EQ(c.Config().at("process").at("noNewPrivileges"), false);

  c.ctr = Obj(R"({"privileged":true,"dockerSecurityOptions":["no-new-privileges"],
                  "readonlyRootFilesystem":true})");
  json::object cfg = c.Config();
  linux_cfg = cfg.at("linux").as_object();
  EXPECT_FALSE(linux_cfg.contains("seccomp"));
  EXPECT_FALSE(linux_cfg.contains("maskedPaths"));
  EXPECT_EQ(linux_cfg.at("resources").at("devices").as_array().at(0),
            json::parse(R"({"allow":true,"access":"rwm"})"));
  EXPECT_EQ(cfg.at("process").at("noNewPrivileges"), true);
  EXPECT_EQ(cfg.at("root"), json::parse(R"({"path":"/var/lib/berth/rootfs/x","readonly":true})"));
}

std::vector<std::string> NamespaceTypes(const json::object& cfg) {
  std::vector<std::string> out;
  for (const json::value& n : cfg.at("linux").at("namespaces").as_array()) {
    out.emplace_back(n.at("type").as_string());
  }
  return out;
}

TEST(Namespaces, NetworkPidIpcModes) {
  Case c;
  EXPECT_THAT(NamespaceTypes(c.Config()), ElementsAre("mount", "pid", "ipc", "network", "uts"));
  c.td = Obj(R"({"networkMode":"host","pidMode":"host","ipcMode":"host"})");
  json::object cfg = c.Config();
  EXPECT_THAT(NamespaceTypes(cfg), ElementsAre("mount"));
  EXPECT_FALSE(cfg.contains("hostname"));  // the host's name, as in ECS host mode
  c.td = Obj(R"({"networkMode":"bridge"})");
  EXPECT_EQ(c.Build().status().message(), "networkMode bridge is not supported; use host or none");
}

TEST(Namespaces, AnAgentMadeNetworkNamespaceIsJoinedAndTheAgentsEnvironmentIsSet) {
  Case c;
  c.ctr = Obj(R"({"environment":[{"name":"ECS_CONTAINER_METADATA_URI_V4","value":"stale"},
                                 {"name":"A","value":"1"}]})");
  c.in.network_namespace = "/var/lib/berth/tasks/t/main/netns";
  c.in.agent_env = {{"ECS_CONTAINER_METADATA_URI_V4", "http://127.0.0.1:51679/v4/abc"}};
  c.in.default_env = {{"AWS_REGION", "us-east-1"}, {"A", "default"}};
  json::object cfg = c.Config();
  bool joined = false;
  for (const json::value& ns : cfg.at("linux").at("namespaces").as_array()) {
    if (ns.at("type") == json::value("network")) {
      joined = ns.as_object().contains("path") &&
               ns.at("path") == json::value("/var/lib/berth/tasks/t/main/netns");
    }
  }
  EXPECT_TRUE(joined) << json::serialize(cfg.at("linux").at("namespaces"));
  EXPECT_THAT(Env(cfg),
              ::testing::Contains("ECS_CONTAINER_METADATA_URI_V4=http://127.0.0.1:51679/v4/abc"));
  EXPECT_THAT(Env(cfg), ::testing::Not(::testing::Contains("ECS_CONTAINER_METADATA_URI_V4=stale")));
  EXPECT_THAT(Env(cfg), ::testing::Contains("A=1"));  // the definition's over a default
  EXPECT_THAT(Env(cfg), ::testing::Contains("AWS_REGION=us-east-1"));
}

json::value MountAt(const json::object& cfg, const std::string& dest) {
  for (const json::value& m : cfg.at("mounts").as_array()) {
    if (m.at("destination") == json::value(dest)) return m;
  }
  return nullptr;
}

TEST(Mounts, VolumesTmpfsShmAndFiles) {
  Case c;
  c.td = Obj(R"({"networkMode":"awsvpc"})");
  c.ctr = Obj(R"({"hostname":"trainer",
      "mountPoints":[{"sourceVolume":"data","containerPath":"/data","readOnly":true}],
      "extraHosts":[{"hostname":"db","ipAddress":"10.0.0.5"}],
      "dnsServers":["10.0.0.2"],"dnsSearchDomains":["corp"],
      "linuxParameters":{"sharedMemorySize":2048,
                         "tmpfs":[{"containerPath":"/scratch","size":64,"mountOptions":["exec"]}]}})");
  c.in.volume_paths = {{"data", "/srv/data"}};
  StatusOr<OciBundle> b = c.Build();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const json::object& cfg = b->config;
  EXPECT_EQ(MountAt(cfg, "/data"), json::parse(R"({"destination":"/data","type":"bind",
            "source":"/srv/data","options":["rbind","rprivate","ro"]})"));
  EXPECT_THAT(Strings(MountAt(cfg, "/dev/shm").at("options")), testing::Contains("size=2048m"));
  EXPECT_THAT(Strings(MountAt(cfg, "/scratch").at("options")),
              ElementsAre("nosuid", "nodev", "exec", "size=64m"));
  EXPECT_EQ(MountAt(cfg, "/etc/hosts").at("source"), "hosts");
  EXPECT_EQ(cfg.at("hostname"), "trainer");
  EXPECT_EQ(b->files.at("hostname"), "trainer\n");
  EXPECT_THAT(b->files.at("hosts"), HasSubstr("127.0.1.1\ttrainer\n10.0.0.5\tdb\n"));
  EXPECT_EQ(b->files.at("resolv.conf"), "search corp\nnameserver 10.0.0.2\n");
}

TEST(Mounts, UnknownVolumeIsAnError) {
  Case c;
  c.ctr = Obj(R"({"mountPoints":[{"sourceVolume":"nope","containerPath":"/x"}]})");
  EXPECT_EQ(c.Build().status().message(), "mountPoints: unknown sourceVolume nope");
}

TEST(Mounts, HostNetworkKeepsHostFilesUnlessGiven) {
  Case c;
  c.td = Obj(R"({"networkMode":"host"})");
  StatusOr<OciBundle> b = c.Build();
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->files.empty());
  c.in.host_hosts = "10.1.1.1 node1\n";
  c.in.host_resolv_conf = "nameserver 1.1.1.1\n";
  b = c.Build();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->files.at("hosts"), "10.1.1.1 node1\n");
  EXPECT_EQ(b->files.at("resolv.conf"), "nameserver 1.1.1.1\n");
}

TEST(Bundle, UnsupportedFieldsAreClearErrors) {
  Case c;
  c.ctr = Obj(R"({"secrets":[{"name":"A","valueFrom":"arn:aws:ssm:x"}]})");
  EXPECT_THAT(c.Build().status().message(), HasSubstr("secrets are not supported"));
}

}  // namespace
}  // namespace berth::agent
