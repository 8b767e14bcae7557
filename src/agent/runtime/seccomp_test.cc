#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "agent/runtime/oci_bundle.h"

namespace berth::agent {
namespace {

namespace json = boost::json;
constexpr const char* kProfile = "/usr/share/containers/seccomp.json";

// Every action the profile gives `name`, in rule order.
std::vector<std::string> Actions(const json::object& s, const std::string& name) {
  std::vector<std::string> out;
  for (const json::value& r : s.at("syscalls").as_array()) {
    for (const json::value& n : r.at("names").as_array()) {
      if (n == json::value(name)) out.emplace_back(r.at("action").as_string());
    }
  }
  return out;
}

TEST(Seccomp, RealProfileFollowsCapabilities) {
  if (!std::filesystem::exists(kProfile)) GTEST_SKIP() << kProfile << " absent";
  StatusOr<json::object> plain = LoadDefaultSeccomp(kProfile, {"CAP_CHOWN", "CAP_SYS_CHROOT"});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->at("defaultAction"), "SCMP_ACT_ERRNO");
  EXPECT_EQ(plain->at("defaultErrnoRet"), 38);
  EXPECT_THAT(plain->at("architectures").as_array(),
              testing::ElementsAre("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"));
  EXPECT_THAT(Actions(*plain, "read"), testing::ElementsAre("SCMP_ACT_ALLOW"));
  EXPECT_THAT(Actions(*plain, "arch_prctl"), testing::ElementsAre("SCMP_ACT_ALLOW"));
  EXPECT_TRUE(Actions(*plain, "s390_runtime_instr").empty());  // other arches dropped
  // Without CAP_SYS_ADMIN bpf is refused with EPERM; with it, allowed.
  EXPECT_THAT(Actions(*plain, "bpf"), testing::ElementsAre("SCMP_ACT_ERRNO"));
  EXPECT_THAT(Actions(*plain, "chroot"), testing::ElementsAre("SCMP_ACT_ALLOW"));
  for (const json::value& r : plain->at("syscalls").as_array()) {
    if (r.at("names").as_array().front() == "bpf") {
      EXPECT_EQ(r.at("errnoRet"), 1);
    }
  }

  StatusOr<json::object> admin = LoadDefaultSeccomp(kProfile, {"SYS_ADMIN"});
  ASSERT_TRUE(admin.ok());
  EXPECT_THAT(Actions(*admin, "bpf"), testing::ElementsAre("SCMP_ACT_ALLOW"));
  EXPECT_THAT(Actions(*admin, "chroot"), testing::ElementsAre("SCMP_ACT_ERRNO"));
}

TEST(Seccomp, ArgsAreKept) {
  if (!std::filesystem::exists(kProfile)) GTEST_SKIP() << kProfile << " absent";
  StatusOr<json::object> s = LoadDefaultSeccomp(kProfile, {});
  ASSERT_TRUE(s.ok());
  bool found = false;
  for (const json::value& r : s->at("syscalls").as_array()) {
    if (r.at("names").as_array().front() == "personality") {
      found = true;
      EXPECT_EQ(r.at("args").at(0).at("op"), "SCMP_CMP_EQ");
    }
  }
  EXPECT_TRUE(found);
}

TEST(Seccomp, BadFiles) {
  EXPECT_FALSE(LoadDefaultSeccomp("/nonexistent/seccomp.json", {}).ok());
  std::string p = std::filesystem::temp_directory_path() / "berth-bad-seccomp.json";
  std::ofstream(p) << "[1,2]";
  EXPECT_FALSE(LoadDefaultSeccomp(p, {}).ok());
  std::filesystem::remove(p);
}

}  // namespace
}  // namespace berth::agent
