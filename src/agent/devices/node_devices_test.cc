#include "agent/devices/node_devices.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace berth::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A fake system root in a temporary folder: regular files for /proc and /sys, real
// character devices (1:3, like /dev/null) for /dev, as the agent only looks at the type.
class FakeRoot {
 public:
  FakeRoot() {
    std::string tmpl = (fs::temp_directory_path() / "berth-devices-XXXXXX").string();
    char* dir = ::mkdtemp(tmpl.data());
    EXPECT_NE(dir, nullptr);
    root_ = tmpl;
  }
  ~FakeRoot() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  const std::string& root() const { return root_; }

  void Write(const std::string& path, const std::string& text) {
    fs::path p = fs::path(root_) / path.substr(1);
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

  // False when this process may not make device nodes (not root): the test skips.
  bool CharDevice(const std::string& path) {
    fs::path p = fs::path(root_) / path.substr(1);
    fs::create_directories(p.parent_path());
    return ::mknod(p.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
  }

  // A machine with `cpus` CPUs and `mem_kib` of memory.
  void Basics(const std::string& online = "0-7", const std::string& mem_kib = "16318412") {
    Write("/sys/devices/system/cpu/online", online + "\n");
    Write("/proc/meminfo", "MemTotal:       " + mem_kib +
                               " kB\nMemFree:         1234567 kB\nMemAvailable:    2345678 kB\n");
  }

 private:
  std::string root_;
};

#define REQUIRE_CHAR_DEVICE(fake, path)                                                  \
  do {                                                                                   \
    if (!(fake).CharDevice(path)) GTEST_SKIP() << "mknod " << (path) << ": not allowed"; \
  } while (0)

// trn1.32xlarge: 16 Trainium devices, 2 NeuronCores each, each linked to 4 others in a
// 4x4 torus (row neighbours and column neighbours, wrapping around).
std::vector<int> TorusLinks(int i) {
  int r = i / 4, c = i % 4;
  std::vector<int> links = {((r + 3) % 4) * 4 + c, ((r + 1) % 4) * 4 + c, r * 4 + (c + 3) % 4,
                            r * 4 + (c + 1) % 4};
  std::sort(links.begin(), links.end());
  return links;
}

TEST(DiscoverNodeDevicesTest, Trn1TreeWith16LinkedDevices) {
  FakeRoot fake;
  fake.Basics("0-127", "527939612");  // 128 vCPUs, ~512 GiB
  for (int i = 0; i < 16; ++i) {
    std::string n = std::to_string(i);
    REQUIRE_CHAR_DEVICE(fake, "/dev/neuron" + n);
    fake.Write("/sys/class/neuron_device/neuron" + n + "/core_count", "2\n");
    // The driver writes "a, b, c, d\n"; write half of them space-separated and unsorted.
    std::vector<int> links = TorusLinks(i);
    std::string text;
    for (size_t k = 0; k < links.size(); ++k) {
      int link = links[i % 2 == 0 ? k : links.size() - 1 - k];
      text += (k == 0 ? "" : (i % 2 == 0 ? ", " : " ")) + std::to_string(link);
    }
    fake.Write("/sys/class/neuron_device/neuron" + n + "/connected_devices", text + "\n");
  }
  fake.CharDevice("/dev/null");
  fake.Write("/dev/neuron_ctl_notes", "not a device\n");

  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  EXPECT_EQ(devices->cpu_count, 128);
  EXPECT_EQ(devices->cpu_units, 128 * 1024);
  EXPECT_EQ(devices->memory_mib, 527939612 / 1024 - 256);  // 515565 - 256 = 515309
  ASSERT_EQ(devices->neuron.size(), 16u);
  for (int i = 0; i < 16; ++i) {
    const NeuronDevice& d = devices->neuron[i];
    EXPECT_EQ(d.index, i);  // sorted numerically: neuron10 after neuron9
    EXPECT_EQ(d.core_count, 2);
    EXPECT_EQ(d.connected, TorusLinks(i)) << "neuron" << i;
    EXPECT_EQ(d.connected.size(), 4u);
    // Links are symmetric in a torus.
    for (int link : d.connected) {
      const std::vector<int>& back = devices->neuron[link].connected;
      EXPECT_NE(std::find(back.begin(), back.end(), i), back.end()) << i << " <-> " << link;
    }
  }
  EXPECT_THAT(devices->neuron[0].connected, ElementsAre(1, 3, 4, 12));
  EXPECT_THAT(devices->gpus, IsEmpty());
}

TEST(DiscoverNodeDevicesTest, Trn1EfaDevices) {
  // trn1.32xlarge: 8 EFA adapters, uverbs0..7, beside rdma_cm and a leftover file.
  FakeRoot fake;
  fake.Basics();
  for (int i = 7; i >= 0; --i)
    REQUIRE_CHAR_DEVICE(fake, "/dev/infiniband/uverbs" + std::to_string(i));
  REQUIRE_CHAR_DEVICE(fake, "/dev/infiniband/rdma_cm");
  fake.Write("/dev/infiniband/uverbs9", "");   // a regular file is not a device
  REQUIRE_CHAR_DEVICE(fake, "/dev/uverbs10");  // not under /dev/infiniband
  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  EXPECT_THAT(devices->efa, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  EXPECT_THAT(devices->neuron, IsEmpty());
}

TEST(DiscoverNodeDevicesTest, NoDevices) {
  FakeRoot fake;
  fake.Basics();
  // No /dev at all.
  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  EXPECT_EQ(devices->cpu_count, 8);
  EXPECT_THAT(devices->neuron, IsEmpty());
  EXPECT_THAT(devices->gpus, IsEmpty());
  EXPECT_THAT(devices->efa, IsEmpty());

  // A /dev with other devices, and sysfs for a device that is not in /dev.
  REQUIRE_CHAR_DEVICE(fake, "/dev/null");
  fake.Write("/sys/class/neuron_device/neuron0/core_count", "2\n");
  devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  EXPECT_THAT(devices->neuron, IsEmpty());
  EXPECT_THAT(devices->gpus, IsEmpty());
}

TEST(DiscoverNodeDevicesTest, OnlyCharacterDevicesWithDigitsCount) {
  FakeRoot fake;
  fake.Basics();
  fake.Write("/dev/neuron0", "");  // a regular file is not a device
  REQUIRE_CHAR_DEVICE(fake, "/dev/neuron1");
  REQUIRE_CHAR_DEVICE(fake, "/dev/neuron");
  REQUIRE_CHAR_DEVICE(fake, "/dev/neuronX");
  REQUIRE_CHAR_DEVICE(fake, "/dev/neuron2a");
  fs::create_directories(fs::path(fake.root()) / "dev/neuron3");  // nor is a folder
  // A link to a character device counts (stat follows it).
  fs::create_symlink("neuron1", fs::path(fake.root()) / "dev/neuron4");

  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  ASSERT_EQ(devices->neuron.size(), 2u);
  EXPECT_EQ(devices->neuron[0].index, 1);
  EXPECT_EQ(devices->neuron[1].index, 4);
}

TEST(DiscoverNodeDevicesTest, NeuronDeviceWithoutSysfsStillCounts) {
  FakeRoot fake;
  fake.Basics();
  REQUIRE_CHAR_DEVICE(fake, "/dev/neuron0");
  REQUIRE_CHAR_DEVICE(fake, "/dev/neuron1");
  REQUIRE_CHAR_DEVICE(fake, "/dev/neuron2");
  // neuron1: only the virtual device folder (no class link); neuron2: empty links.
  fake.Write("/sys/devices/virtual/neuron_device/neuron1/core_count", "4\n");
  fake.Write("/sys/devices/virtual/neuron_device/neuron1/connected_devices", "0, 2\n");
  fake.Write("/sys/class/neuron_device/neuron2/core_count", "2\n");
  fake.Write("/sys/class/neuron_device/neuron2/connected_devices", "\n");

  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  ASSERT_EQ(devices->neuron.size(), 3u);
  EXPECT_EQ(devices->neuron[0].core_count, 0);
  EXPECT_THAT(devices->neuron[0].connected, IsEmpty());
  EXPECT_EQ(devices->neuron[1].core_count, 4);
  EXPECT_THAT(devices->neuron[1].connected, ElementsAre(0, 2));
  EXPECT_EQ(devices->neuron[2].core_count, 2);
  EXPECT_THAT(devices->neuron[2].connected, IsEmpty());
}

TEST(DiscoverNodeDevicesTest, MalformedSysfsIsAnErrorNamingTheFile) {
  FakeRoot fake;
  fake.Basics();
  REQUIRE_CHAR_DEVICE(fake, "/dev/neuron0");
  fake.Write("/sys/class/neuron_device/neuron0/core_count", "two\n");
  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_FALSE(devices.ok());
  EXPECT_THAT(devices.status().message(),
              HasSubstr("parse " + fake.root() + "/sys/class/neuron_device/neuron0/core_count"));

  fake.Write("/sys/class/neuron_device/neuron0/core_count", "2\n");
  fake.Write("/sys/class/neuron_device/neuron0/connected_devices", "1; 2\n");
  devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_FALSE(devices.ok());
  EXPECT_THAT(devices.status().message(),
              HasSubstr("discover Neuron devices: parse " + fake.root() +
                        "/sys/class/neuron_device/neuron0/"
                        "connected_devices: bad device list"));
}

TEST(DiscoverNodeDevicesTest, GpusWithDriverInformation) {
  FakeRoot fake;
  fake.Basics();
  REQUIRE_CHAR_DEVICE(fake, "/dev/nvidia0");
  REQUIRE_CHAR_DEVICE(fake, "/dev/nvidia1");
  REQUIRE_CHAR_DEVICE(fake, "/dev/nvidiactl");
  REQUIRE_CHAR_DEVICE(fake, "/dev/nvidia-uvm");
  REQUIRE_CHAR_DEVICE(fake, "/dev/nvidia-uvm-tools");
  REQUIRE_CHAR_DEVICE(fake, "/dev/nvidia-modeset");
  // The PCI folders sort the other way round from the minors.
  fake.Write("/proc/driver/nvidia/gpus/0000:00:1b.0/information",
             "Model: \t\t NVIDIA A10G\n"
             "IRQ:   \t\t 72\n"
             "GPU UUID: \t GPU-11111111-2222-3333-4444-555555555555\n"
             "Video BIOS: \t 94.02.75.00.01\n"
             "Bus Type: \t PCIe\n"
             "DMA Size: \t 47 bits\n"
             "DMA Mask: \t 0x7fffffffffff\n"
             "Bus Location: \t 0000:00:1b.0\n"
             "Device Minor: \t 1\n"
             "GPU Excluded:\t No\n");
  fake.Write("/proc/driver/nvidia/gpus/0000:00:1e.0/information",
             "Model: \t\t NVIDIA H100 80GB HBM3\n"
             "GPU UUID: \t GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\n"
             "Device Minor: \t 0\n");

  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  EXPECT_THAT(devices->neuron, IsEmpty());
  ASSERT_EQ(devices->gpus.size(), 2u);
  EXPECT_EQ(devices->gpus[0].index, 0);
  EXPECT_EQ(devices->gpus[0].model, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(devices->gpus[0].uuid, "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
  EXPECT_EQ(devices->gpus[1].index, 1);
  EXPECT_EQ(devices->gpus[1].model, "NVIDIA A10G");
  EXPECT_EQ(devices->gpus[1].uuid, "GPU-11111111-2222-3333-4444-555555555555");
}

TEST(DiscoverNodeDevicesTest, GpuWithoutDriverInformationStillCounts) {
  FakeRoot fake;
  fake.Basics();
  REQUIRE_CHAR_DEVICE(fake, "/dev/nvidia3");
  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  ASSERT_EQ(devices->gpus.size(), 1u);
  EXPECT_EQ(devices->gpus[0].index, 3);
  EXPECT_EQ(devices->gpus[0].uuid, "");
}

TEST(DiscoverNodeDevicesTest, CpusFromOnlineList) {
  FakeRoot fake;
  fake.Basics("0-3,6");
  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  EXPECT_EQ(devices->cpu_count, 5);
  EXPECT_EQ(devices->cpu_units, 5 * 1024);
}

TEST(DiscoverNodeDevicesTest, CpusFromCpuinfoWhenNoOnlineList) {
  FakeRoot fake;
  fake.Write("/proc/meminfo", "MemTotal: 1048576 kB\n");
  fake.Write("/proc/cpuinfo",
             "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon\n\n"
             "processor\t: 1\nvendor_id\t: GenuineIntel\n\n"
             "processor\t: 2\nvendor_id\t: GenuineIntel\n");
  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  EXPECT_EQ(devices->cpu_count, 3);
  EXPECT_EQ(devices->cpu_units, 3072);
}

TEST(DiscoverNodeDevicesTest, NoCpuInformationIsAnError) {
  FakeRoot fake;
  fake.Write("/proc/meminfo", "MemTotal: 1048576 kB\n");
  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_FALSE(devices.ok());
  EXPECT_THAT(devices.status().message(),
              HasSubstr("discover CPUs: read " + fake.root() + "/proc/cpuinfo: "));

  fake.Write("/sys/devices/system/cpu/online", "3-1\n");
  devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_FALSE(devices.ok());
  EXPECT_THAT(devices.status().message(),
              HasSubstr("parse " + fake.root() + "/sys/devices/system/cpu/online: bad CPU list"));
}

TEST(DiscoverNodeDevicesTest, MissingMeminfoIsAnError) {
  FakeRoot fake;
  fake.Write("/sys/devices/system/cpu/online", "0-1\n");
  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_FALSE(devices.ok());
  EXPECT_EQ(devices.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(devices.status().message(),
            "discover memory: read " + fake.root() + "/proc/meminfo: No such file or directory");

  fake.Write("/proc/meminfo", "MemFree: 12 kB\n");
  devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_FALSE(devices.ok());
  EXPECT_THAT(devices.status().message(), HasSubstr("/proc/meminfo: no MemTotal line"));
}

TEST(DiscoverNodeDevicesTest, MemoryReserveNeverBelowZero) {
  FakeRoot fake;
  fake.Basics("0", "1048576");  // 1024 MiB
  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root()});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  EXPECT_EQ(devices->memory_mib, 1024 - 256);

  devices = DiscoverNodeDevices({.root = fake.root(), .memory_reserve_mib = 0});
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->memory_mib, 1024);

  devices = DiscoverNodeDevices({.root = fake.root(), .memory_reserve_mib = 4096});
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->memory_mib, 0);
}

TEST(DiscoverNodeDevicesTest, RootWithTrailingSlash) {
  FakeRoot fake;
  fake.Basics("0-1");
  StatusOr<NodeDevices> devices = DiscoverNodeDevices({.root = fake.root() + "/"});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  EXPECT_EQ(devices->cpu_count, 2);
}

TEST(DiscoverNodeDevicesTest, ThisMachine) {
  // The real root: whatever it has, discovery must succeed and find some CPU and memory.
  StatusOr<NodeDevices> devices = DiscoverNodeDevices({});
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  EXPECT_GT(devices->cpu_count, 0);
  EXPECT_GT(devices->memory_mib, 0);
}

TEST(ParseCpuListTest, KernelFormats) {
  struct Case {
    std::string text;
    std::vector<int> want;
  };
  for (const Case& c : std::vector<Case>{
           {"0", {0}},
           {"0-3\n", {0, 1, 2, 3}},
           {"0-3,6", {0, 1, 2, 3, 6}},
           {"0-1,4-5,8\n", {0, 1, 4, 5, 8}},
           {"2,0-1", {0, 1, 2}},    // sorted
           {"0-1,1-2", {0, 1, 2}},  // no duplicates
           {"\n", {}},
       }) {
    StatusOr<std::vector<int>> got = ParseCpuList(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().ToString();
    EXPECT_EQ(*got, c.want) << c.text;
  }
  for (std::string bad : {"a", "3-1", "0-", "-1", "0,,1", ",", "0-3;6", "0 - 3", "0-99999999"}) {
    EXPECT_FALSE(ParseCpuList(bad).ok()) << bad;
  }
}

TEST(ParseDeviceIndexListTest, CommasAndSpaces) {
  EXPECT_THAT(*ParseDeviceIndexList("1, 3, 4, 12\n"), ElementsAre(1, 3, 4, 12));
  EXPECT_THAT(*ParseDeviceIndexList("12 4 3 1"), ElementsAre(1, 3, 4, 12));
  EXPECT_THAT(*ParseDeviceIndexList("12,1,1"), ElementsAre(1, 12));
  EXPECT_THAT(*ParseDeviceIndexList("\t5,\n6 "), ElementsAre(5, 6));
  EXPECT_THAT(*ParseDeviceIndexList(""), IsEmpty());
  EXPECT_THAT(*ParseDeviceIndexList("\n"), IsEmpty());
  for (std::string bad : {"1;2", "-1", "a", "1-3", "0x1"}) {
    EXPECT_FALSE(ParseDeviceIndexList(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace berth::agent
