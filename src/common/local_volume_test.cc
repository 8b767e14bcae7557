#include "common/local_volume.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

namespace berth {
namespace {

using ::testing::HasSubstr;
using Opts = std::map<std::string, std::string>;

LocalVolumeMount Parsed(const Opts& opts) {
  auto parsed = ParseLocalVolumeOptions(opts);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(parsed.ok() && parsed->has_value());
  return parsed.ok() && parsed->has_value() ? **parsed : LocalVolumeMount{};
}

std::string Error(const Opts& opts) {
  auto parsed = ParseLocalVolumeOptions(opts);
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? "" : parsed.status().message();
}

TEST(LocalVolume, NoOptionsIsAPlainFolder) {
  auto parsed = ParseLocalVolumeOptions({});
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->has_value());
}

TEST(LocalVolume, NfsSplitsFlagsFromServerOptions) {
  // Docker's documented form: the server in addr=, the export after ':'.
  LocalVolumeMount m = Parsed({{"type", "nfs"},
                               {"device", ":/exports/ckpt"},
                               {"o", "addr=10.0.0.2,rw,nfsvers=4,hard,nosuid"}});
  EXPECT_EQ(m.kind, LocalVolumeMount::Kind::kNfs);
  EXPECT_EQ(m.fstype, "nfs");
  EXPECT_EQ(m.device, ":/exports/ckpt");
  EXPECT_EQ(m.flags, static_cast<unsigned long>(MS_NOSUID));
  EXPECT_EQ(m.data, "addr=10.0.0.2,nfsvers=4,hard");
  EXPECT_EQ(m.nfs_host, "10.0.0.2");
}

TEST(LocalVolume, NfsServerFromTheDevice) {
  EXPECT_EQ(Parsed({{"type", "nfs4"}, {"device", "files.example:/data"}}).nfs_host,
            "files.example");
  EXPECT_EQ(Parsed({{"type", "nfs"}, {"device", "[fd00::2]:/data"}, {"o", "vers=4.1"}}).nfs_host,
            "fd00::2");
}

TEST(LocalVolume, NfsNeedsAServerAndAnAbsoluteExport) {
  EXPECT_THAT(Error({{"type", "nfs"}, {"device", ":/data"}}), HasSubstr("needs the server"));
  EXPECT_THAT(Error({{"type", "nfs"}, {"device", "/data"}}), HasSubstr("is not HOST:/PATH"));
  EXPECT_THAT(Error({{"type", "nfs"}, {"device", "host:data"}}), HasSubstr("must be absolute"));
  EXPECT_THAT(Error({{"type", "nfs"}, {"device", "h:/d"}, {"o", "bind"}}),
              HasSubstr("bind does not go with type nfs"));
}

TEST(LocalVolume, Tmpfs) {
  LocalVolumeMount m =
      Parsed({{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=64m,uid=1000,noexec"}});
  EXPECT_EQ(m.kind, LocalVolumeMount::Kind::kTmpfs);
  EXPECT_EQ(m.fstype, "tmpfs");
  EXPECT_EQ(m.data, "size=64m,uid=1000");
  EXPECT_EQ(m.flags, static_cast<unsigned long>(MS_NOEXEC));
  EXPECT_EQ(Parsed({{"type", "tmpfs"}}).device, "tmpfs");
}

TEST(LocalVolume, BindTakesAnAbsoluteFolderAndOnlyFlags) {
  LocalVolumeMount m = Parsed({{"type", "none"}, {"device", "/srv/ckpt"}, {"o", "bind,ro"}});
  EXPECT_EQ(m.kind, LocalVolumeMount::Kind::kBind);
  EXPECT_EQ(m.device, "/srv/ckpt");
  EXPECT_EQ(m.flags, static_cast<unsigned long>(MS_BIND | MS_RDONLY));
  EXPECT_EQ(Parsed({{"type", "none"}, {"device", "/a"}, {"o", "rbind"}}).flags,
            static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_EQ(Parsed({{"type", "bind"}, {"device", "/a"}}).flags,
            static_cast<unsigned long>(MS_BIND));
  EXPECT_THAT(Error({{"type", "none"}, {"device", "/a"}}), HasSubstr("without bind or rbind"));
  EXPECT_THAT(Error({{"type", "none"}, {"device", "a/b"}, {"o", "bind"}}),
              HasSubstr("absolute path"));
  EXPECT_THAT(Error({{"type", "none"}, {"device", "/a"}, {"o", "bind,size=1m"}}),
              HasSubstr("only mount flags"));
}

TEST(LocalVolume, RefusesWhatItCannotMount) {
  EXPECT_THAT(Error({{"type", "ext4"}, {"device", "/dev/sda1"}}),
              HasSubstr("driverOpts.type 'ext4' is not supported"));
  EXPECT_THAT(Error({{"device", "/a"}}), HasSubstr("type is required"));
  EXPECT_THAT(Error({{"type", "tmpfs"}, {"size", "1m"}}), HasSubstr("unknown option 'size'"));
  EXPECT_THAT(Error({{"type", "tmpfs"}, {"o", "remount,size=1m"}}),
              HasSubstr("'remount' is not allowed"));
  EXPECT_THAT(Error({{"type", "none"}, {"device", "/a"}, {"o", "rbind,rshared"}}),
              HasSubstr("'rshared' is not allowed"));
  EXPECT_THAT(Error({{"type", "tmpfs"}, {"o", std::string(5000, 'x')}}), HasSubstr("longer than"));
}

TEST(LocalVolume, WithNfsAddressReplacesOrAddsAddr) {
  EXPECT_EQ(WithNfsAddress("addr=files.example,vers=4", "10.0.0.2"), "addr=10.0.0.2,vers=4");
  EXPECT_EQ(WithNfsAddress("vers=4.1,hard", "10.0.0.2"), "addr=10.0.0.2,vers=4.1,hard");
  EXPECT_EQ(WithNfsAddress("", "10.0.0.2"), "addr=10.0.0.2");
}

}  // namespace
}  // namespace berth
