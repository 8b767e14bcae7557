#include "agent/container_stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>

namespace berth::agent {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int64_t kAt = 1'700'000'000'000;

// A fake /proc and cgroup mounts under a temporary root.
class ContainerStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-stats-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    Write("proc/stat",
          "cpu  100 0 50 800 10 0 0 0 0 0\ncpu0 50 0 25 400 5 0 0 0 0 0\n"
          "cpu1 50 0 25 400 5 0 0 0 0 0\nintr 1\n");
    Write("proc/meminfo", "MemTotal:       16384 kB\nMemFree: 1 kB\n");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& path, const std::string& text) {
    fs::create_directories((root_ / path).parent_path());
    std::ofstream(root_ / path) << text;
  }

  fs::path root_;
};

TEST_F(ContainerStatsTest, CgroupV1) {
  Write("proc/self/mountinfo",
        "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "38 31 0:35 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n");
  Write("proc/42/cgroup",
        "8:pids:/berth/t/c\n7:blkio:/berth/t/c\n4:memory:/berth/t/c\n2:cpu,cpuacct:/berth/t/c\n"
        "1:name=systemd:/\n");
  const std::string cpu = "sys/fs/cgroup/cpu,cpuacct/berth/t/c/";
  Write(cpu + "cpuacct.usage", "5000000\n");
  Write(cpu + "cpuacct.usage_percpu", "3000000 2000000 \n");
  Write(cpu + "cpuacct.stat", "user 3\nsystem 1\n");
  Write(cpu + "cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 700\n");
  const std::string memory = "sys/fs/cgroup/memory/berth/t/c/";
  Write(memory + "memory.usage_in_bytes", "1048576\n");
  Write(memory + "memory.max_usage_in_bytes", "2097152\n");
  Write(memory + "memory.limit_in_bytes", "9223372036854771712\n");  // no limit
  Write(memory + "memory.stat", "cache 4096\nrss 8192\n");
  Write(memory + "memory.failcnt", "0\n");
  Write("sys/fs/cgroup/pids/berth/t/c/pids.current", "3\n");
  Write("sys/fs/cgroup/blkio/berth/t/c/blkio.throttle.io_service_bytes",
        "8:0 Read 100\n8:0 Write 200\nTotal 300\n");

  ContainerStats stats(root_.string());
  auto first = stats.Read("t-c", "c", 42, kAt);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const json::object& s = *first;
  EXPECT_EQ(s.at("id"), json::value("t-c"));
  EXPECT_EQ(s.at("name"), json::value("/c"));
  EXPECT_EQ(s.at("read"), json::value("2023-11-14T22:13:20Z"));
  EXPECT_EQ(s.at("pids_stats"), json::parse(R"({"current":3})"));
  const json::value& usage = s.at("cpu_stats").at("cpu_usage");
  EXPECT_EQ(usage.at("total_usage"), json::value(5000000));
  EXPECT_EQ(usage.at("percpu_usage"), json::parse("[3000000,2000000]"));
  EXPECT_EQ(usage.at("usage_in_usermode"), json::value(30000000));
  EXPECT_EQ(usage.at("usage_in_kernelmode"), json::value(10000000));
  // (100 + 50 + 800 + 10) ticks of 10 ms.
  EXPECT_EQ(s.at("cpu_stats").at("system_cpu_usage"), json::value(int64_t{9'600'000'000}));
  EXPECT_EQ(s.at("cpu_stats").at("online_cpus"), json::value(2));
  EXPECT_EQ(s.at("cpu_stats").at("throttling_data"),
            json::parse(R"({"periods":10,"throttled_periods":2,"throttled_time":700})"));
  EXPECT_EQ(s.at("memory_stats").at("usage"), json::value(1048576));
  EXPECT_EQ(s.at("memory_stats").at("max_usage"), json::value(2097152));
  EXPECT_EQ(s.at("memory_stats").at("limit"), json::value(16384 * 1024));  // the host's
  EXPECT_EQ(s.at("memory_stats").at("stats"), json::parse(R"({"cache":4096,"rss":8192})"));
  EXPECT_EQ(s.at("blkio_stats").at("io_service_bytes_recursive"),
            json::parse(R"([{"major":8,"minor":0,"op":"Read","value":100},
                            {"major":8,"minor":0,"op":"Write","value":200}])"));
  EXPECT_EQ(s.at("precpu_stats").at("cpu_usage").at("total_usage"), json::value(0));

  // The next reading has this one as its precpu_stats.
  Write(cpu + "cpuacct.usage", "9000000\n");
  auto second = stats.Read("t-c", "c", 42, kAt + 1000);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->at("precpu_stats").at("cpu_usage").at("total_usage"), json::value(5000000));
  EXPECT_EQ(second->at("cpu_stats").at("cpu_usage").at("total_usage"), json::value(9000000));
  EXPECT_EQ(second->at("preread"), json::value("2023-11-14T22:13:20Z"));

  EXPECT_FALSE(stats.Read("t-x", "x", 43, kAt).ok());  // no such process
}

TEST_F(ContainerStatsTest, CgroupV2) {
  Write("proc/self/mountinfo", "30 23 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  Write("proc/42/cgroup", "0::/berth/t/c\n");
  const std::string dir = "sys/fs/cgroup/berth/t/c/";
  Write(dir + "cpu.stat",
        "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 4\nnr_throttled 1\n"
        "throttled_usec 9\n");
  Write(dir + "memory.current", "4096\n");
  Write(dir + "memory.peak", "8192\n");
  Write(dir + "memory.max", "1048576\n");
  Write(dir + "memory.stat", "anon 4096\nfile 0\n");
  Write(dir + "pids.current", "2\n");
  Write(dir + "io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");

  ContainerStats stats(root_.string());
  auto s = stats.Read("t-c", "c", 42, kAt);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->at("cpu_stats").at("cpu_usage").at("total_usage"), json::value(5000000));
  EXPECT_EQ(s->at("cpu_stats").at("cpu_usage").at("usage_in_usermode"), json::value(3000000));
  EXPECT_EQ(s->at("cpu_stats").at("throttling_data"),
            json::parse(R"({"periods":4,"throttled_periods":1,"throttled_time":9000})"));
  EXPECT_EQ(s->at("memory_stats").at("usage"), json::value(4096));
  EXPECT_EQ(s->at("memory_stats").at("max_usage"), json::value(8192));
  EXPECT_EQ(s->at("memory_stats").at("limit"), json::value(1048576));
  EXPECT_EQ(s->at("pids_stats").at("current"), json::value(2));
  EXPECT_EQ(s->at("blkio_stats").at("io_service_bytes_recursive"),
            json::parse(R"([{"major":8,"minor":0,"op":"read","value":10},
                            {"major":8,"minor":0,"op":"write","value":20}])"));
}

}  // namespace
}  // namespace berth::agent
