// Helpers for the registry state and distribution tests: a registry on a
// memory store and a temporary blob directory that can be "restarted", and
// builders for manifests.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "awsjson/commit_tracker.h"
#include "common/fault_injection_env.h"
#include "registry/blob_store.h"
#include "registry/digest.h"
#include "registry/manifest.h"
#include "registry/registry_state.h"
#include "store/store.h"
#include "store/store_test_util.h"

namespace berth::registry::testing {

struct BlobRef {
  std::string digest;
  uint64_t size = 0;
  std::string media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
};

inline BlobRef RefTo(std::string_view bytes, std::string media_type) {
  return {Digest::Sha256Of(bytes).ToString(), bytes.size(), std::move(media_type)};
}

inline boost::json::object Descriptor(const BlobRef& b) {
  return {{"mediaType", b.media_type}, {"digest", b.digest}, {"size", b.size}};
}

// An OCI image manifest; extra members are merged in (subject, artifactType).
inline std::string ImageManifest(const BlobRef& config, const std::vector<BlobRef>& layers,
                                 boost::json::object extra = {}) {
  boost::json::array layer_list;
  for (const auto& l : layers) layer_list.push_back(Descriptor(l));
  boost::json::object m{{"schemaVersion", 2},
                        {"mediaType", kOciManifestType},
                        {"config", Descriptor(config)},
                        {"layers", std::move(layer_list)}};
  for (auto& [k, v] : extra) m[k] = v;
  return boost::json::serialize(m);
}

inline std::string IndexManifest(const std::vector<BlobRef>& children) {
  boost::json::array list;
  for (const auto& c : children) list.push_back(Descriptor(c));
  return boost::json::serialize(boost::json::object{
      {"schemaVersion", 2}, {"mediaType", kOciIndexType}, {"manifests", std::move(list)}});
}

inline std::string ReadFile(const std::string& path, uint64_t offset = 0,
                            uint64_t length = UINT64_MAX) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  std::string s = all.str();
  if (offset > s.size()) return "";
  return s.substr(offset, length);
}

// A registry whose state can be dropped and rebuilt from the same store and
// blob directory, as after a restart.
class RegistryFixture : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    auto blobs = BlobStore::Open(dir_.path() + "/blobs", &env_);
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    blobs_ = std::move(*blobs);
    state_ =
        std::make_unique<RegistryState>(*store_, tracker_, *blobs_, ArnScope{}, "localhost:5000");
    Status loaded = state_->Load();
    ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  }

  // Drops the in-memory state and loads it again.
  virtual void Restart() {
    state_.reset();
    blobs_.reset();
    Open();
  }

  void CreateRepository(std::string_view name, std::string mutability = "MUTABLE") {
    RepositorySettings settings;
    settings.image_tag_mutability = std::move(mutability);
    auto created = state_->CreateRepository(name, settings, 1'700'000'000'000);
    ASSERT_TRUE(created.ok()) << created.error().message;
  }

  // Stores bytes as a blob and links it into repository.
  BlobRef AddBlob(std::string_view repository, std::string_view bytes,
                  std::string media_type = "application/vnd.oci.image.layer.v1.tar+gzip") {
    BlobRef ref = RefTo(bytes, std::move(media_type));
    EXPECT_TRUE(blobs_->Put(*Digest::Parse(ref.digest), bytes).ok());
    auto linked = state_->LinkBlob(repository, ref.digest);
    EXPECT_TRUE(linked.ok()) << linked.error().message;
    return ref;
  }

  // Pushes an image with one config and the given layers; returns its manifest.
  std::string PushImage(std::string_view repository, std::string_view tag,
                        std::string_view layer_text = "layer", boost::json::object extra = {}) {
    BlobRef config = AddBlob(repository, "{\"config\":\"" + std::string(layer_text) + "\"}",
                             "application/vnd.oci.image.config.v1+json");
    BlobRef layer = AddBlob(repository, layer_text);
    std::string manifest = ImageManifest(config, {layer}, std::move(extra));
    auto put = state_->PutManifest(repository, tag, kOciManifestType, manifest, false, 1000);
    EXPECT_TRUE(put.ok()) << put.error().message;
    return manifest;
  }

  store::testing::TempDir dir_;
  // The blob store's file system: the real one, failing where a test says.
  FaultInjectionEnv env_{Env::Default()};
  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  awsjson::CommitTracker tracker_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<RegistryState> state_;
};

}  // namespace berth::registry::testing
