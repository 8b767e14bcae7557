#include "common/task_size.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(TaskSize, CpuTakesUnitsOrVcpu) {
  EXPECT_EQ(ParseTaskCpu("1024"), 1024);
  EXPECT_EQ(ParseTaskCpu("1 vCPU"), 1024);
  EXPECT_EQ(ParseTaskCpu("0.25 vcpu"), 256);  // 0.25 * 1024
  EXPECT_EQ(ParseTaskCpu(" 2vCPU "), 2048);
  EXPECT_EQ(ParseTaskCpu("16 VCPU"), 16384);
}

TEST(TaskSize, CpuRefusesNonsense) {
  for (const char* text : {"", "0", "-1", "abc", "1 GB", "1e3", "1.2.3", "vCPU", "0.0001 vCPU",
                           "99999999999999999999"}) {
    EXPECT_EQ(ParseTaskCpu(text), std::nullopt) << text;
  }
}

TEST(TaskSize, MemoryTakesMibOrGb) {
  EXPECT_EQ(ParseTaskMemory("2048"), 2048);
  EXPECT_EQ(ParseTaskMemory("2 GB"), 2048);
  EXPECT_EQ(ParseTaskMemory("0.5GB"), 512);
  EXPECT_EQ(ParseTaskMemory("4 GiB"), 4096);
  EXPECT_EQ(ParseTaskMemory("512 MiB"), 512);
}

TEST(TaskSize, MemoryRefusesNonsense) {
  for (const char* text : {"", "0", "0 GB", "-512", "1 TB", "GB", "2 G B", "1 vCPU"}) {
    EXPECT_EQ(ParseTaskMemory(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace berth
