#include "agent/image/layer_unpack.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/image/test_layers.h"

namespace berth::agent {
namespace {

namespace fs = std::filesystem;
using testing::Compression;
using testing::Dir;
using testing::File;
using testing::Hardlink;
using ::testing::HasSubstr;
using testing::MakeTar;
using testing::StringSource;
using testing::Symlink;
using testing::TarEntry;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class LayerUnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-unpack-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    layer_ = root_ / "layer";
    outside_ = root_ / "outside";
    fs::create_directories(layer_);
    fs::create_directories(outside_);
  }
  void TearDown() override { fs::remove_all(root_); }

  Status Unpack(const std::vector<TarEntry>& entries, Compression c = Compression::kGzip) {
    StringSource source(MakeTar(entries, c));
    return UnpackLayer(source, layer_.string());
  }

  // Nothing may appear next to the layer folder.
  void ExpectNothingOutside() {
    EXPECT_TRUE(fs::is_empty(outside_));
    int n = 0;
    for (const auto& e : fs::directory_iterator(root_)) {
      (void)e;
      ++n;
    }
    EXPECT_EQ(n, 2);  // layer and outside
  }

  fs::path root_, layer_, outside_;
};

TEST_F(LayerUnpackTest, RestoresOwnershipModesTimesLinksAndDevices) {
  TarEntry conf = File("etc/conf", "setting=1\n", 0640);
  conf.uid = 1000;
  conf.gid = 1001;
  conf.mtime = 1600000000;
  conf.xattrs = {{"user.origin", "build"}};
  TarEntry su = File("bin/su", "#!/bin/true\n", 04755);
  TarEntry null_dev;
  null_dev.type = TarEntry::kCharDevice;
  null_dev.path = "dev/null";
  null_dev.major = 1;
  null_dev.minor = 3;
  null_dev.mode = 0666;
  TarEntry sticky = Dir("tmp", 01777);
  sticky.mtime = 1500000000;
  ASSERT_TRUE(Unpack({Dir("etc"), conf, Dir("bin"), su, Symlink("bin/sh", "/bin/busybox"),
                      Hardlink("bin/su2", "bin/su"), Dir("lib"), Symlink("lib/conf", "../etc/conf"),
                      Dir("dev"), null_dev, sticky})
                  .ok());

  struct stat st;
  ASSERT_EQ(lstat((layer_ / "etc/conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtime, 1600000000);
  EXPECT_EQ(ReadAll(layer_ / "etc/conf"), "setting=1\n");
  char value[16] = {};
  EXPECT_EQ(lgetxattr((layer_ / "etc/conf").c_str(), "user.origin", value, sizeof(value)), 5);
  EXPECT_STREQ(value, "build");

  ASSERT_EQ(lstat((layer_ / "bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u) << "setuid bit kept";
  EXPECT_EQ(st.st_nlink, 2u) << "hard link restored as a link";
  EXPECT_EQ(fs::read_symlink(layer_ / "bin/sh"), "/bin/busybox");
  EXPECT_EQ(fs::read_symlink(layer_ / "lib/conf"), "../etc/conf");

  ASSERT_EQ(lstat((layer_ / "dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 1u);
  EXPECT_EQ(minor(st.st_rdev), 3u);

  ASSERT_EQ(lstat((layer_ / "tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  EXPECT_EQ(st.st_mtime, 1500000000) << "folder time set after its contents";
}

TEST_F(LayerUnpackTest, EveryCompressionUnpacks) {
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    fs::remove_all(layer_);
    fs::create_directories(layer_);
    std::string big(3 << 20, 'x');  // larger than one piece of anything
    ASSERT_TRUE(Unpack({File("a", "alpha"), File("big", big)}, c).ok());
    EXPECT_EQ(ReadAll(layer_ / "a"), "alpha");
    EXPECT_EQ(fs::file_size(layer_ / "big"), big.size());
  }
}

TEST_F(LayerUnpackTest, WhiteoutsBecomeOverlayWhiteouts) {
  ASSERT_TRUE(Unpack({Dir("etc"), File("etc/.wh.gone", ""), Dir("data"),
                      File("data/.wh..wh..opq", ""), File("data/new", "n")})
                  .ok());
  struct stat st;
  ASSERT_EQ(lstat((layer_ / "etc/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_FALSE(fs::exists(layer_ / "etc/.wh.gone"));
  char value[4] = {};
  EXPECT_EQ(lgetxattr((layer_ / "data").c_str(), "trusted.overlay.opaque", value, sizeof(value)),
            1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_FALSE(fs::exists(layer_ / "data/.wh..wh..opq"));
  EXPECT_EQ(ReadAll(layer_ / "data/new"), "n");
}

TEST_F(LayerUnpackTest, ReadsTheStreamToItsEnd) {
  // The hash of a blob covers bytes after the tar's end marker too.
  std::string tar = MakeTar({File("a", "alpha")}, Compression::kNone) + std::string(50000, '\0');
  size_t size = tar.size();
  StringSource source(std::move(tar));
  ASSERT_TRUE(UnpackLayer(source, layer_.string()).ok());
  EXPECT_EQ(source.consumed(), size);
}

TEST_F(LayerUnpackTest, RefusesGarbage) {
  StringSource source("this is not a tar file, not even close............");
  Status status = UnpackLayer(source, layer_.string());
  EXPECT_FALSE(status.ok());
}

// Found by layer_unpack_fuzz: a GNU long-name header ("././@LongLink",
// type 'L') that promises a 155-byte name and ends there. libarchive fails
// it without an error message, and a null message once crashed the agent.
TEST_F(LayerUnpackTest, RefusesATruncatedLongNameHeader) {
  std::string block(512, '\0');
  for (auto [offset, field] : std::initializer_list<std::pair<size_t, std::string_view>>{
           {0, "././@LongLink"},
           {100, "0000000"},
           {108, "0000000"},
           {116, "0000000"},
           {124, "00000000233"},
           {136, "00000000000"},
           {148, std::string_view("007753\0 ", 8)},
           {156, "L"},
           {255, "ustar  "}}) {
    block.replace(offset, field.size(), field);
  }
  StringSource source(block);
  Status status = UnpackLayer(source, layer_.string());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a valid tar layer"));
}

struct Malicious {
  const char* name;
  std::vector<TarEntry> entries;
  std::string entry;  // named in the error
  std::string why;
};

TEST_F(LayerUnpackTest, RefusesEntriesThatEscape) {
  std::string outside = outside_.string();
  const Malicious cases[] = {
      {"dotdot", {File("../outside/evil", "x")}, "../outside/evil", "\"..\" component"},
      {"dotdot inside",
       {Dir("a"), File("a/../../outside/evil", "x")},
       "a/../../outside/evil",
       "\"..\""},
      {"absolute", {File(outside + "/evil", "x")}, outside + "/evil", "absolute path"},
      {"climbing symlink then write",
       {Symlink("link", "../../.."), File("link/x", "x")},
       "link",
       "climbs above the layer root"},
      {"write through absolute symlink",
       {Symlink("link", outside), File("link/evil", "x")},
       "link/evil",
       "writes through the symlink \"link\""},
      {"nested climbing symlink",
       {Dir("a"), Dir("a/b"), Symlink("a/b/up", "../../../outside")},
       "a/b/up",
       "climbs above the layer root"},
      {"hard link out", {Hardlink("h", "../outside/file")}, "h", "hard link target"},
      {"whiteout through symlink",
       {Symlink("link", outside), File("link/.wh.x", "")},
       "link/.wh.x",
       "writes through the symlink"},
  };
  for (const Malicious& c : cases) {
    SCOPED_TRACE(c.name);
    fs::remove_all(layer_);
    fs::create_directories(layer_);
    Status status = Unpack(c.entries);
    ASSERT_FALSE(status.ok());
    EXPECT_THAT(status.message(), HasSubstr("entry \"" + c.entry + "\""));
    EXPECT_THAT(status.message(), HasSubstr(c.why));
    ExpectNothingOutside();
  }
}

}  // namespace
}  // namespace berth::agent
