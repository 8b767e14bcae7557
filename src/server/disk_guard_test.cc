#include "server/disk_guard.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/fault_injection_env.h"

namespace berth::server {
namespace {

TEST(DiskGuardTest, RefusesBelowTheReserveAndResumesWhenSpaceIsFreed) {
  FaultInjectionEnv env(Env::Default());
  const std::string folder = std::filesystem::temp_directory_path();
  DiskGuard guard(&env, {folder}, 256 << 20);
  env.SetFreeSpace(uint64_t{1} << 30);
  EXPECT_EQ(guard.WriteRefusal(), std::nullopt);
  env.SetFreeSpace(uint64_t{12} << 20);
  auto refusal = guard.WriteRefusal();
  ASSERT_TRUE(refusal.has_value());
  EXPECT_NE(refusal->find("the disk holding " + folder + " has 12 MiB free, less than the 256 MiB"),
            std::string::npos)
      << *refusal;
  env.SetFreeSpace(uint64_t{300} << 20);
  EXPECT_EQ(guard.WriteRefusal(), std::nullopt);
}

TEST(DiskGuardTest, AReserveOfZeroNeverRefuses) {
  FaultInjectionEnv env(Env::Default());
  env.SetFreeSpace(0);
  EXPECT_EQ(DiskGuard(&env, {"/"}, 0).WriteRefusal(), std::nullopt);
}

TEST(DiskGuardTest, AFolderThatCannotBeLookedAtDoesNotRefuse) {
  DiskGuard guard(Env::Default(), {"/no/such/folder/for/berth"}, 1);
  EXPECT_EQ(guard.WriteRefusal(), std::nullopt);
}

}  // namespace
}  // namespace berth::server
