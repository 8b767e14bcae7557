#include "agent/image/image_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/image/registry_client.h"
#include "agent/image/registry_memory.h"
#include "agent/image/test_layers.h"
#include "agent/image/test_registry.h"
#include "common/fault_injection_env.h"

namespace berth::agent {
namespace {

namespace fs = std::filesystem;
using testing::Compression;
using testing::Dir;
using ::testing::ElementsAre;
using testing::FakeRegistry;
using testing::File;
using ::testing::HasSubstr;
using testing::Layer;
using testing::MakeTar;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

CredentialsLookup NoCredentials() {
  return [](std::string_view) { return std::nullopt; };
}
CredentialsLookup Credentials(std::string user, std::string password) {
  return [=](std::string_view) { return RegistryCredentials{user, password}; };
}

size_t CountEntries(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-images-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    store_ = OpenStore();
  }
  void TearDown() override {
    for (const std::string& target : mounted_) (void)UnmountRootfs(env_, target);
    fs::remove_all(root_);
  }

  std::unique_ptr<ImageStore> OpenStore(PullBehavior behavior = PullBehavior::kDefault) {
    ImageStore::Options options;
    options.root = (root_ / "store").string();
    options.timeout_seconds = 10;
    options.pull_behavior = behavior;
    options.writeback_every_bytes = writeback_every_bytes_;
    options.env = &env_;
    auto store = ImageStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  StatusOr<PulledImage> Pull(const std::string& image,
                             CredentialsLookup credentials = NoCredentials()) {
    return store_->Pull(image, credentials, nullptr);
  }

  fs::path Mount(const PulledImage& image, const std::string& name) {
    fs::path base = root_ / name;
    std::string target = (base / "rootfs").string();
    Status status = MountRootfs(env_, image.layer_dirs, (base / "upper").string(),
                                (base / "work").string(), target);
    EXPECT_TRUE(status.ok()) << status.ToString();
    mounted_.push_back(target);
    return target;
  }

  size_t CachedLayers() { return CountEntries(root_ / "store/layers/sha256"); }

  fs::path root_;
  uint64_t writeback_every_bytes_ = 64 << 20;
  FaultInjectionEnv env_{Env::Default()};  // real files and mounts unless told to fail
  std::unique_ptr<ImageStore> store_;
  std::vector<std::string> mounted_;
  FakeRegistry registry_;
};

TEST_F(ImageStoreTest, PullsTwoLayersAndMountsTheMergedView) {
  std::string base =
      MakeTar({Dir("etc"), File("etc/keep", "kept"), File("etc/gone", "old"), Dir("data"),
               File("data/old", "lower"), File("bin-tool", "v1", 0755)});
  std::string top =
      MakeTar({Dir("etc"), File("etc/.wh.gone", ""), Dir("data"), File("data/.wh..wh..opq", ""),
               File("data/new", "upper"), File("bin-tool", "v2", 0755)});
  std::string digest = registry_.AddImage("train", "1", {{base}, {top}});

  std::vector<PullProgress> reports;
  auto image = store_->Pull(registry_.host() + "/train:1", NoCredentials(),
                            [&](const PullProgress& p) { reports.push_back(p); });
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->reference, registry_.host() + "/train:1");
  EXPECT_EQ(image->manifest_digest, digest);
  EXPECT_THAT(image->config.entrypoint, ElementsAre("/bin/train"));
  EXPECT_THAT(image->config.cmd, ElementsAre("--epochs", "3"));
  EXPECT_THAT(image->config.env, ElementsAre("PATH=/usr/bin", "A=1"));
  EXPECT_EQ(image->config.working_dir, "/work");
  EXPECT_EQ(image->config.user, "1000:1000");
  ASSERT_EQ(image->layer_dirs.size(), 2u);

  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().layers_done, 2);
  EXPECT_EQ(reports.back().layers_total, 2);
  EXPECT_EQ(reports.back().bytes_done, base.size() + top.size());
  EXPECT_EQ(reports.back().bytes_total, base.size() + top.size());
  // Each layer's own bar, in manifest order, never past its size.
  ASSERT_EQ(reports.back().layers.size(), 2u);
  EXPECT_EQ(reports.back().layers[0].bytes_total, base.size());
  EXPECT_EQ(reports.back().layers[1].bytes_total, top.size());
  for (const PullProgress& report : reports) {
    for (const LayerProgress& layer : report.layers) {
      EXPECT_LE(layer.bytes_done, layer.bytes_total) << layer.digest;
      EXPECT_TRUE(layer.digest.starts_with("sha256:"));
    }
  }
  for (const LayerProgress& layer : reports.back().layers) {
    EXPECT_TRUE(layer.done) << layer.digest;
    EXPECT_EQ(layer.bytes_done, layer.bytes_total) << layer.digest;
  }

  fs::path rootfs = Mount(*image, "c1");
  EXPECT_EQ(ReadAll(rootfs / "etc/keep"), "kept");
  EXPECT_FALSE(fs::exists(rootfs / "etc/gone")) << "whiteout deletes the lower file";
  EXPECT_EQ(ReadAll(rootfs / "data/new"), "upper");
  EXPECT_FALSE(fs::exists(rootfs / "data/old")) << "opaque folder hides the lower content";
  EXPECT_EQ(ReadAll(rootfs / "bin-tool"), "v2") << "upper layer wins";

  // Writes go to the container's upper folder, never into the shared layers.
  std::ofstream(rootfs / "etc/keep") << "changed";
  EXPECT_EQ(ReadAll(fs::path(image->layer_dirs[0]) / "etc/keep"), "kept");
  ASSERT_TRUE(UnmountRootfs(env_, rootfs.string()).ok());
  EXPECT_FALSE(fs::exists(rootfs / "etc/keep"));
  EXPECT_TRUE(UnmountRootfs(env_, rootfs.string()).ok()) << "not mounted is not an error";
}

TEST_F(ImageStoreTest, SingleLayerImageMounts) {
  registry_.AddImage("train", "1", {{MakeTar({File("only", "one")})}});
  auto image = Pull(registry_.host() + "/train:1");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(ReadAll(Mount(*image, "c1") / "only"), "one");
}

TEST_F(ImageStoreTest, IndexResolvesToLinuxAmd64) {
  std::string amd64 = registry_.AddImage("train", "", {{MakeTar({File("arch", "amd64")})}});
  std::string arm64 = registry_.AddImage("train", "", {{MakeTar({File("arch", "arm64")})}});
  auto entry = [](const std::string& digest, const char* arch) {
    return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + digest +
           R"(","size":1,"platform":{"os":"linux","architecture":")" + arch + R"("}})";
  };
  // Sizes in an index are not checked against the manifest; digests are.
  std::string index =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
      entry(arm64, "arm64") + "," + entry(amd64, "amd64") + "]}";
  std::string index_digest =
      registry_.AddManifest("train", "multi", index, "application/vnd.oci.image.index.v1+json");

  auto image = Pull(registry_.host() + "/train:multi");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->manifest_digest, amd64);
  // The tag names the index: that is the image's digest at the registry.
  EXPECT_EQ(image->repo_digest, index_digest);
  EXPECT_EQ(ReadAll(fs::path(image->layer_dirs[0]) / "arch"), "amd64");
  // Asked again, the index's digest still matches the cached one.
  registry_.ResetCounts();
  ASSERT_TRUE(Pull(registry_.host() + "/train:multi").ok());
  EXPECT_EQ(registry_.requests(), 1);

  // By the index's digest too.
  auto by_digest = Pull(registry_.host() + "/train@" + index_digest);
  ASSERT_TRUE(by_digest.ok()) << by_digest.status().ToString();
  EXPECT_EQ(by_digest->manifest_digest, amd64);
  EXPECT_EQ(by_digest->repo_digest, index_digest);

  std::string arm_only =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[)" +
      entry(arm64, "arm64") + "]}";
  registry_.AddManifest("train", "arm", arm_only,
                        "application/vnd.docker.distribution.manifest.list.v2+json");
  auto refused = Pull(registry_.host() + "/train:arm");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("no linux/amd64 image"));
  EXPECT_THAT(refused.status().message(), HasSubstr("linux/arm64"));
}

TEST_F(ImageStoreTest, DigestMismatchFailsAndCachesNothing) {
  std::string good = MakeTar({File("model.bin", std::string(100000, 'm'))});
  std::string evil = MakeTar({File("model.bin", std::string(100000, 'e'))});
  evil.resize(good.size());  // same size, other bytes
  registry_.AddImage("train", "1", {{good}});
  std::string layer = "sha256:" + Sha256Hex(good);
  registry_.ReplaceBlob(layer, evil);

  auto image = Pull(registry_.host() + "/train:1");
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.status().message(), HasSubstr("pull " + registry_.host() + "/train:1"));
  EXPECT_THAT(image.status().message(), HasSubstr("layer " + layer));
  EXPECT_THAT(image.status().message(), HasSubstr("digest mismatch"));
  EXPECT_EQ(CachedLayers(), 0u);
  EXPECT_EQ(CountEntries(root_ / "store/tmp"), 0u) << "the partial unpack is removed";
}

// A pull whose record cannot be written fails, naming the cause, and the
// reference file keeps what it said before.
TEST_F(ImageStoreTest, AFailedReferenceWriteFailsThePullAndKeepsThePreviousReference) {
  std::string first = registry_.AddImage("train", "1", {{MakeTar({File("v", "1")})}});
  ASSERT_TRUE(Pull(registry_.host() + "/train:1").ok());
  fs::path refs = root_ / "store/refs";
  ASSERT_EQ(CountEntries(refs), 1u);
  fs::path ref_file = fs::directory_iterator(refs)->path();
  EXPECT_EQ(ReadAll(ref_file), first + " " + first + "\n");

  // The tag moves, and the cached layers are gone (collected), so the next
  // pull writes the reference again: its fsync fails.
  registry_.AddImage("train", "1", {{MakeTar({File("v", "2")})}});
  fs::remove_all(root_ / "store/layers/sha256");
  fs::create_directories(root_ / "store/layers/sha256");
  env_.Fail(FaultInjectionEnv::Op::kSync, "/refs/", EIO);
  auto failed = Pull(registry_.host() + "/train:1");
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("pull " + registry_.host() + "/train:1"));
  EXPECT_THAT(failed.status().message(), HasSubstr("Input/output error"));
  EXPECT_EQ(ReadAll(ref_file), first + " " + first + "\n");
  EXPECT_EQ(CountEntries(refs), 1u) << "no temporary file left";

  env_.ClearFaults();
  auto pulled = Pull(registry_.host() + "/train:1");
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_NE(pulled->manifest_digest, first);
  EXPECT_EQ(ReadAll(ref_file), pulled->manifest_digest + " " + pulled->repo_digest + "\n");
}

TEST_F(ImageStoreTest, AFailedLayerSyncFailsThePullAndCachesNothing) {
  registry_.AddImage("train", "1", {{MakeTar({File("model.bin", "weights")})}});
  env_.Fail(FaultInjectionEnv::Op::kSync, "/store/tmp/", EIO, 1);
  auto failed = Pull(registry_.host() + "/train:1");
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("sync layer sha256:"));
  EXPECT_THAT(failed.status().message(), HasSubstr("Input/output error"));
  EXPECT_EQ(CachedLayers(), 0u);
  EXPECT_EQ(CountEntries(root_ / "store/tmp"), 0u);
  EXPECT_TRUE(Pull(registry_.host() + "/train:1").ok());
}

// A syncfs after every file while the layer unpacks: the layer is whole,
// and a disk that fails them fails the pull whichever syncfs saw it.
TEST_F(ImageStoreTest, ALayerWrittenBackWhileItUnpacksIsWhole) {
  writeback_every_bytes_ = 1;
  store_ = OpenStore();
  std::vector<testing::TarEntry> files;
  for (int i = 0; i < 40; ++i)
    files.push_back(File("f" + std::to_string(i), std::string(4096, 'a' + i % 26)));
  registry_.AddImage("train", "1", {{MakeTar(files)}});
  env_.Fail(FaultInjectionEnv::Op::kSync, "/store/tmp/", EIO);
  auto failed = Pull(registry_.host() + "/train:1");
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("sync layer sha256:"));
  EXPECT_EQ(CachedLayers(), 0u);
  EXPECT_EQ(CountEntries(root_ / "store/tmp"), 0u);

  env_.ClearFaults();
  auto image = Pull(registry_.host() + "/train:1");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ASSERT_EQ(image->layer_dirs.size(), 1u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(ReadAll(fs::path(image->layer_dirs[0]) / ("f" + std::to_string(i))),
              std::string(4096, 'a' + i % 26));
  }
}

TEST_F(ImageStoreTest, AFullDiskFailsThePullSayingSoAndCachesNothing) {
  registry_.AddImage("train", "1", {{MakeTar({File("model.bin", "weights")})}});
  // Where a full disk shows with delayed allocation: the layer's fsync.
  env_.Fail(FaultInjectionEnv::Op::kSync, "/store/tmp/", ENOSPC, 1);
  auto failed = Pull(registry_.host() + "/train:1");
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr(registry_.host() + "/train:1"));
  EXPECT_THAT(failed.status().message(), HasSubstr("No space left on device"));
  EXPECT_EQ(CachedLayers(), 0u);
  EXPECT_EQ(CountEntries(root_ / "store/tmp"), 0u);
}

TEST_F(ImageStoreTest, SizeMismatchFailsAndCachesNothing) {
  std::string tar = MakeTar({File("a", "alpha")});
  registry_.AddImage("train", "long", {{tar, "application/vnd.oci.image.layer.v1.tar+gzip", 10}});
  auto shorter = Pull(registry_.host() + "/train:long");
  ASSERT_FALSE(shorter.ok());
  EXPECT_THAT(shorter.status().message(), HasSubstr("size mismatch"));

  std::string tar2 = MakeTar({File("b", "beta")});
  registry_.AddImage("train", "short",
                     {{tar2, "application/vnd.oci.image.layer.v1.tar+gzip", -10}});
  auto longer = Pull(registry_.host() + "/train:short");
  ASSERT_FALSE(longer.ok());
  EXPECT_THAT(longer.status().message(), HasSubstr("size mismatch"));
  EXPECT_EQ(CachedLayers(), 0u);
  EXPECT_EQ(CountEntries(root_ / "store/tmp"), 0u);
}

TEST_F(ImageStoreTest, ManifestDigestIsVerifiedWhenPulledByDigest) {
  std::string digest = registry_.AddImage("train", "1", {{MakeTar({File("a", "1")})}});
  std::string other = "sha256:" + std::string(64, 'b');
  // The registry answers a digest it does not hold with another manifest.
  auto image = Pull(registry_.host() + "/train@" + digest);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  registry_.AddManifest("train", "", "{}", "application/vnd.oci.image.manifest.v1+json");
  auto missing = Pull(registry_.host() + "/train@" + other);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("MANIFEST_UNKNOWN"));
}

TEST_F(ImageStoreTest, MaliciousLayerIsRefusedNamingTheEntry) {
  registry_.AddImage("train", "1", {{MakeTar({File("ok", "fine"), File("../evil", "x")})}});
  auto image = Pull(registry_.host() + "/train:1");
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.status().message(), HasSubstr("entry \"../evil\""));
  EXPECT_EQ(CachedLayers(), 0u);
  EXPECT_FALSE(fs::exists(root_ / "store/tmp/../evil"));
  EXPECT_FALSE(fs::exists(root_ / "store/evil"));
}

TEST_F(ImageStoreTest, ZstdAndPlainTarLayers) {
  registry_.AddImage(
      "train", "1",
      {{MakeTar({File("z", "zstd")}, Compression::kZstd),
        "application/vnd.oci.image.layer.v1.tar+zstd"},
       {MakeTar({File("p", "plain")}, Compression::kNone),
        "application/vnd.oci.image.layer.v1.tar"},
       {MakeTar({File("d", "docker")}), "application/vnd.docker.image.rootfs.diff.tar.gzip"}});
  auto image = Pull(registry_.host() + "/train:1");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  fs::path rootfs = Mount(*image, "c1");
  EXPECT_EQ(ReadAll(rootfs / "z"), "zstd");
  EXPECT_EQ(ReadAll(rootfs / "p"), "plain");
  EXPECT_EQ(ReadAll(rootfs / "d"), "docker");
}

TEST_F(ImageStoreTest, OnceAndPreferCachedTakeACachedTagWithoutAnyRequest) {
  for (PullBehavior behavior : {PullBehavior::kOnce, PullBehavior::kPreferCached}) {
    SCOPED_TRACE(std::string(PullBehaviorName(behavior)));
    store_ = OpenStore(behavior);
    registry_.AddImage("train", "1", {{MakeTar({File("a", "1")})}, {MakeTar({File("b", "2")})}});
    auto first = Pull(registry_.host() + "/train:1");
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    registry_.ResetCounts();

    auto again = Pull(registry_.host() + "/train:1");
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->manifest_digest, first->manifest_digest);
    EXPECT_EQ(again->repo_digest, first->repo_digest);
    EXPECT_EQ(again->layer_dirs, first->layer_dirs);
    EXPECT_EQ(again->config.entrypoint, first->config.entrypoint);

    // A restarted agent finds its cache too, and a re-pushed tag is not
    // looked at.
    registry_.AddImage("train", "1", {{MakeTar({File("a", "moved")})}});
    store_ = OpenStore(behavior);
    auto reopened = Pull(registry_.host() + "/train:1");
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    EXPECT_EQ(reopened->layer_dirs, first->layer_dirs);
    EXPECT_EQ(reopened->config.env, first->config.env);
    EXPECT_EQ(reopened->repo_digest, first->repo_digest);
    EXPECT_EQ(registry_.requests(), 0);
  }
}

TEST_F(ImageStoreTest, DefaultAsksForTheTagWithAHeadAndKeepsTheCacheWhenItIsUnchanged) {
  std::string digest =
      registry_.AddImage("train", "1", {{MakeTar({File("a", "1")})}, {MakeTar({File("b", "2")})}});
  auto first = Pull(registry_.host() + "/train:1");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->repo_digest, digest);
  registry_.ResetCounts();

  auto again = Pull(registry_.host() + "/train:1");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->layer_dirs, first->layer_dirs);
  EXPECT_EQ(registry_.requests("HEAD", "/v2/train/manifests/1"), 1);
  EXPECT_EQ(registry_.requests(), 1);

  // An image asked for by digest is never asked for again.
  registry_.ResetCounts();
  auto by_digest = Pull(registry_.host() + "/train@" + digest);
  ASSERT_TRUE(by_digest.ok()) << by_digest.status().ToString();
  registry_.ResetCounts();
  ASSERT_TRUE(Pull(registry_.host() + "/train@" + digest).ok());
  EXPECT_EQ(registry_.requests(), 0);
}

TEST_F(ImageStoreTest, ARePushedTagIsPulledAgainFetchingOnlyTheLayersNotCached) {
  std::string base = MakeTar({File("base", "shared")});
  std::string old_top = MakeTar({File("model", "v1")});
  for (PullBehavior behavior : {PullBehavior::kDefault, PullBehavior::kAlways}) {
    SCOPED_TRACE(std::string(PullBehaviorName(behavior)));
    std::string new_top =
        MakeTar({File("model", "v2"), File("by", std::string(PullBehaviorName(behavior)))});
    store_ = OpenStore(behavior);
    std::string old_digest = registry_.AddImage("train", "1", {{base}, {old_top}});
    auto first = Pull(registry_.host() + "/train:1");
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    ASSERT_EQ(first->repo_digest, old_digest);

    std::string new_digest = registry_.AddImage("train", "1", {{base}, {new_top}});
    registry_.ResetCounts();
    auto moved = Pull(registry_.host() + "/train:1");
    ASSERT_TRUE(moved.ok()) << moved.status().ToString();
    EXPECT_EQ(moved->repo_digest, new_digest);
    EXPECT_EQ(moved->manifest_digest, new_digest);
    EXPECT_EQ(ReadAll(fs::path(moved->layer_dirs[1]) / "model"), "v2");
    EXPECT_EQ(registry_.requests("HEAD", "/v2/train/manifests/1"), 1);
    EXPECT_EQ(registry_.requests("/v2/train/blobs/sha256:" + Sha256Hex(base)), 0);
    EXPECT_EQ(registry_.requests("/v2/train/blobs/sha256:" + Sha256Hex(new_top)), 1);

    // Back to the first image for the next round.
    registry_.AddImage("train", "1", {{base}, {old_top}});
    ASSERT_TRUE(Pull(registry_.host() + "/train:1").ok());
  }
}

TEST_F(ImageStoreTest, DefaultRunsTheCachedImageWhenTheRegistryIsAwayAndAlwaysFails) {
  auto away = std::make_unique<FakeRegistry>();
  const std::string image = away->host() + "/train:1";
  std::string digest = away->AddImage("train", "1", {{MakeTar({File("a", "1")})}});
  ASSERT_TRUE(Pull(image).ok());
  away.reset();  // nothing listens there any more

  auto cached = Pull(image);
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  EXPECT_EQ(cached->repo_digest, digest);

  store_ = OpenStore(PullBehavior::kAlways);
  auto refused = Pull(image);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("pull " + image));
  EXPECT_THAT(refused.status().message(), HasSubstr("HEAD "));

  // Without a cached image there is nothing to fall back on.
  store_ = OpenStore(PullBehavior::kDefault);
  EXPECT_FALSE(Pull(image.substr(0, image.size() - 1) + "2").ok());
}

TEST(PullBehaviorTest, NamesAreTheAgentsSettings) {
  for (const char* name : {"default", "always", "once", "prefer-cached"}) {
    auto parsed = ParsePullBehavior(name);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(PullBehaviorName(*parsed), name);
  }
  EXPECT_THAT(ParsePullBehavior("never").status().message(),
              HasSubstr("must be default, always, once or prefer-cached"));
}

TEST_F(ImageStoreTest, ConcurrentPullsFetchEachBlobOnce) {
  std::string shared = MakeTar({File("shared", std::string(200000, 's'))});
  std::string a = MakeTar({File("a", "only a")});
  std::string b = MakeTar({File("b", "only b")});
  registry_.AddImage("train", "a", {{shared}, {a}});
  registry_.AddImage("train", "b", {{shared}, {b}});
  registry_.blob_delay_ms = 200;  // keep the downloads in flight together

  std::vector<StatusOr<PulledImage>> results(4, Status(StatusCode::kInternal, "not run"));
  std::vector<std::thread> threads;
  const char* tags[] = {"a", "a", "b", "b"};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = Pull(registry_.host() + "/train:" + tags[i]); });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& r : results) ASSERT_TRUE(r.ok()) << r.status().ToString();

  EXPECT_EQ(registry_.requests("/v2/train/blobs/sha256:" + Sha256Hex(shared)), 1);
  EXPECT_EQ(registry_.requests("/v2/train/blobs/sha256:" + Sha256Hex(a)), 1);
  EXPECT_EQ(registry_.requests("/v2/train/blobs/sha256:" + Sha256Hex(b)), 1);
  EXPECT_EQ(registry_.requests("/v2/train/manifests/a"), 1);
  EXPECT_EQ(registry_.requests("/v2/train/manifests/b"), 1);
  EXPECT_EQ(results[0]->layer_dirs[0], results[2]->layer_dirs[0]);
  EXPECT_EQ(CachedLayers(), 3u);
}

TEST_F(ImageStoreTest, FollowsBlobRedirects) {
  registry_.redirect_blobs = true;
  registry_.AddImage("train", "1", {{MakeTar({File("a", "redirected")})}});
  auto image = Pull(registry_.host() + "/train:1");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(ReadAll(fs::path(image->layer_dirs[0]) / "a"), "redirected");
}

TEST_F(ImageStoreTest, ListedPlainHttpRegistryIsNeverAskedForTls) {
  FakeRegistry tls_registry(FakeRegistry::Auth::kNone, /*tls=*/true);
  tls_registry.AddImage("train", "1", {{MakeTar({File("a", "1")})}});
  ImageStore::Options options;
  options.root = (root_ / "listed").string();
  options.timeout_seconds = 10;
  options.plain_http_registries = {tls_registry.host()};
  auto store = ImageStore::Open(options);
  ASSERT_TRUE(store.ok());
  // Plain http to a TLS port: the front hangs up on the garbage.
  auto image = (*store)->Pull(tls_registry.host() + "/train:1", NoCredentials(), nullptr);
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.status().message(), HasSubstr("GET http://" + tls_registry.host()));
}

TEST_F(ImageStoreTest, UnknownTagSaysSo) {
  auto image = Pull(registry_.host() + "/train:nope");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(image.status().message(), HasSubstr("manifest nope"));
  EXPECT_THAT(image.status().message(), HasSubstr("MANIFEST_UNKNOWN"));
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-images-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    store_ = OpenStore(PullBehavior::kDefault);
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A store of its own; ca_file: CA certificates it trusts for https.
  std::unique_ptr<ImageStore> OpenStore(PullBehavior behavior, const std::string& ca_file = "") {
    ImageStore::Options options;
    options.root = (root_ / ("store" + std::to_string(++stores_))).string();
    options.pull_behavior = behavior;
    options.ca_file = ca_file;
    options.timeout_seconds = 10;
    auto store = ImageStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // A store asking the registry at every pull (kAlways: a failed check
  // fails rather than falling back to the cache) that pulled image, a
  // one-layer train:1 added to registry, with the right credentials;
  // null when that failed.
  std::unique_ptr<ImageStore> StoreThatPulled(FakeRegistry& registry, const std::string& image) {
    registry.AddImage("train", "1", {{MakeTar({File("a", "1")})}});
    auto store = OpenStore(PullBehavior::kAlways);
    auto pulled = store->Pull(image, Credentials("trainer", "s3cret"), nullptr);
    EXPECT_TRUE(pulled.ok()) << pulled.status().ToString();
    return pulled.ok() ? std::move(store) : nullptr;
  }

  fs::path root_;
  int stores_ = 0;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(AuthTest, BasicAuth) {
  FakeRegistry registry(FakeRegistry::Auth::kBasic);
  registry.AddImage("train", "1", {{MakeTar({File("a", "1")})}, {MakeTar({File("b", "2")})}});
  std::string image = registry.host() + "/train:1";

  auto anonymous = store_->Pull(image, NoCredentials(), nullptr);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(anonymous.status().message(),
              HasSubstr("asks for credentials (Basic auth) and none are configured"));

  auto wrong = store_->Pull(image, Credentials("trainer", "wrong"), nullptr);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), HasSubstr("refused the credentials"));

  std::vector<std::string> asked;
  auto pulled = store_->Pull(
      image,
      [&](std::string_view registry) {
        asked.emplace_back(registry);
        return std::optional(RegistryCredentials{"trainer", "s3cret"});
      },
      nullptr);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_THAT(asked, ElementsAre(registry.host())) << "looked up once per pull";
}

TEST_F(AuthTest, BearerToken) {
  FakeRegistry registry(FakeRegistry::Auth::kBearer);
  registry.AddImage("train", "1", {{MakeTar({File("a", "1")})}, {MakeTar({File("b", "2")})}});
  std::string image = registry.host() + "/train:1";

  auto anonymous = store_->Pull(image, NoCredentials(), nullptr);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(anonymous.status().message(), HasSubstr("no credentials configured"));

  registry.ResetCounts();
  auto pulled = store_->Pull(image, Credentials("trainer", "s3cret"), nullptr);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(registry.requests("/token"), 1) << "one token serves the whole pull";
}

// ECS's default pull behaviour asks the registry what a cached tag names at
// every task start. After a first pull that is one HEAD, sent with the
// token that pull got; a token the registry no longer takes is answered
// with a new one.
TEST_F(AuthTest, ACachedTagIsCheckedWithOneRequestCarryingTheRememberedToken) {
  FakeRegistry registry(FakeRegistry::Auth::kBearer);
  std::string image = registry.host() + "/train:1";
  auto store = StoreThatPulled(registry, image);
  ASSERT_NE(store, nullptr);

  registry.ResetCounts();
  auto again = store->Pull(image, Credentials("trainer", "s3cret"), nullptr);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(registry.requests("HEAD", "/v2/train/manifests/1"), 1);
  EXPECT_EQ(registry.requests(), 1) << "no 401, no token request";

  registry.token = "tok-456";  // the old one revoked
  registry.ResetCounts();
  again = store->Pull(image, Credentials("trainer", "s3cret"), nullptr);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(registry.requests("HEAD", "/v2/train/manifests/1"), 2) << "the old token, the new";
  EXPECT_EQ(registry.requests("/token"), 1);

  registry.ResetCounts();
  ASSERT_TRUE(store->Pull(image, Credentials("trainer", "s3cret"), nullptr).ok());
  EXPECT_EQ(registry.requests(), 1);
}

TEST_F(AuthTest, ARememberedTokenIsNeverSentForOtherCredentials) {
  FakeRegistry registry(FakeRegistry::Auth::kBearer);
  std::string image = registry.host() + "/train:1";
  auto store = StoreThatPulled(registry, image);
  ASSERT_NE(store, nullptr);

  auto other = store->Pull(image, Credentials("trainer", "wrong"), nullptr);
  ASSERT_FALSE(other.ok()) << "the token of the right password answered for a wrong one";
  EXPECT_EQ(other.status().code(), StatusCode::kUnauthenticated);
  auto anonymous = store->Pull(image, NoCredentials(), nullptr);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), StatusCode::kUnauthenticated);

  ASSERT_TRUE(store->Pull(image, Credentials("trainer", "s3cret"), nullptr).ok());
}

TEST_F(AuthTest, ARegistryThatAskedForBasicAuthGetsItWithTheFirstRequest) {
  FakeRegistry registry(FakeRegistry::Auth::kBasic);
  std::string image = registry.host() + "/train:1";
  auto store = StoreThatPulled(registry, image);
  ASSERT_NE(store, nullptr);

  registry.ResetCounts();
  ASSERT_TRUE(store->Pull(image, Credentials("trainer", "s3cret"), nullptr).ok());
  EXPECT_EQ(registry.requests(), 1);

  // Credentials looked up afresh each pull: changed ones are what is sent.
  registry.password = "rotated";
  auto stale = store->Pull(image, Credentials("trainer", "s3cret"), nullptr);
  ASSERT_FALSE(stale.ok());
  EXPECT_THAT(stale.status().message(), HasSubstr("refused the credentials"));
  registry.ResetCounts();
  ASSERT_TRUE(store->Pull(image, Credentials("trainer", "rotated"), nullptr).ok());
  EXPECT_EQ(registry.requests(), 1);
}

// https registries: 127.0.0.1 is loopback, so it gets https first and plain
// http only when it does not speak TLS; a certificate error is final.
class HttpsTest : public AuthTest {
 protected:
  std::unique_ptr<ImageStore> StoreTrusting(const std::string& ca_file) {
    return OpenStore(PullBehavior::kDefault, ca_file);
  }
};

TEST_F(HttpsTest, PullsWithTheCaFileAndRefusesAnUntrustedCertificate) {
  FakeRegistry registry(FakeRegistry::Auth::kNone, /*tls=*/true);
  registry.AddImage("train", "1",
                    {{MakeTar({File("a", "over tls")})}, {MakeTar({File("b", "2")})}});
  std::string image = registry.host() + "/train:1";

  auto untrusted = store_->Pull(image, NoCredentials(), nullptr);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_THAT(untrusted.status().message(),
              HasSubstr("tls handshake with " + registry.host() + ": certificate verify failed"));
  EXPECT_EQ(registry.requests(), 0) << "nothing was sent over plain http";

  auto pulled = StoreTrusting(registry.ca_file())->Pull(image, NoCredentials(), nullptr);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(ReadAll(fs::path(pulled->layer_dirs[0]) / "a"), "over tls");
}

TEST_F(HttpsTest, BearerTokenAndRedirectsOverHttps) {
  FakeRegistry registry(FakeRegistry::Auth::kBearer, /*tls=*/true);
  registry.redirect_blobs = true;
  registry.AddImage("train", "1", {{MakeTar({File("a", "1")})}, {MakeTar({File("b", "2")})}});
  auto pulled = StoreTrusting(registry.ca_file())
                    ->Pull(registry.host() + "/train:1", Credentials("trainer", "s3cret"), nullptr);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(registry.requests("/token"), 1);
  EXPECT_EQ(registry.requests("/v2/train/manifests/1"), 2) << "401, then with the token";

  auto wrong = StoreTrusting(registry.ca_file())
                   ->Pull(registry.host() + "/train:1", Credentials("trainer", "nope"), nullptr);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(wrong.status().message(), HasSubstr("HTTP 401"));
}

TEST_F(HttpsTest, NeverDowngradesToHttp) {
  FakeRegistry registry(FakeRegistry::Auth::kNone, /*tls=*/true);
  registry.redirect_blobs = true;
  registry.redirect_base = "http://" + registry.plain_host();
  registry.AddImage("train", "1", {{MakeTar({File("a", "1")})}});
  auto redirected = StoreTrusting(registry.ca_file())
                        ->Pull(registry.host() + "/train:1", NoCredentials(), nullptr);
  ASSERT_FALSE(redirected.ok());
  EXPECT_THAT(redirected.status().message(), HasSubstr("refusing to downgrade"));

  FakeRegistry bearer(FakeRegistry::Auth::kBearer, /*tls=*/true);
  bearer.realm_base = "http://" + bearer.plain_host();
  bearer.AddImage("train", "1", {{MakeTar({File("a", "1")})}});
  auto token = StoreTrusting(bearer.ca_file())
                   ->Pull(bearer.host() + "/train:1", Credentials("trainer", "s3cret"), nullptr);
  ASSERT_FALSE(token.ok());
  EXPECT_THAT(token.status().message(), HasSubstr("refusing to send credentials over http"));
  EXPECT_EQ(bearer.requests("/token"), 0);
}

// A loopback registry is probed with a TLS handshake once; later pulls speak
// what it answered. A remembered answer that no longer holds (the registry
// restarted with or without TLS) is probed again.
TEST_F(HttpsTest, ALoopbackRegistrysTransportIsRememberedAndProbedAgainWhenItFails) {
  RegistryMemory memory(SystemClock());
  auto resolve = [&](const FakeRegistry& registry, const std::string& ca_file) {
    auto ref = ImageReference::Parse(registry.host() + "/train:1");
    EXPECT_TRUE(ref.ok());
    RegistryClient client(*ref, NoCredentials(), Transport::kHttpsOrHttp, &memory);
    RegistryConnections connections(10, ca_file);
    StatusOr<std::string> digest = client.ResolveTag(connections, "1");
    return digest.ok() ? *digest : digest.status().ToString();
  };
  FakeRegistry plain;
  std::string digest = plain.AddImage("train", "1", {{MakeTar({File("a", "1")})}});
  EXPECT_EQ(memory.SpeaksTls(plain.host()), std::nullopt);
  EXPECT_EQ(resolve(plain, ""), digest);
  EXPECT_EQ(memory.SpeaksTls(plain.host()), false);
  EXPECT_EQ(resolve(plain, ""), digest);

  memory.RememberSpeaksTls(plain.host(), true);
  EXPECT_EQ(resolve(plain, ""), digest);
  EXPECT_EQ(memory.SpeaksTls(plain.host()), false);

  FakeRegistry tls(FakeRegistry::Auth::kNone, /*tls=*/true);
  digest = tls.AddImage("train", "1", {{MakeTar({File("a", "1")})}});
  memory.RememberSpeaksTls(tls.host(), false);
  EXPECT_EQ(resolve(tls, tls.ca_file()), digest);
  EXPECT_EQ(memory.SpeaksTls(tls.host()), true);
  EXPECT_EQ(resolve(tls, tls.ca_file()), digest);
}

}  // namespace
}  // namespace berth::agent

namespace berth::agent {
namespace {}  // namespace
}  // namespace berth::agent
