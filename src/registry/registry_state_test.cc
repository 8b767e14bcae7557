#include "registry/registry_state.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "registry/registry_test_util.h"

namespace berth::registry {
namespace {

using testing::BlobRef;
using testing::ImageManifest;
using testing::IndexManifest;
using testing::ReadFile;
using testing::RefTo;
using Kind = RegistryErrorKind;

class RegistryStateTest : public testing::RegistryFixture {};

TEST_F(RegistryStateTest, CreatesListsAndRefusesDuplicateRepositories) {
  CreateRepository("team/train");
  CreateRepository("alpha");
  auto again = state_->CreateRepository("alpha", {}, 0);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, Kind::kRepositoryAlreadyExists);
  auto bad = state_->CreateRepository("Bad/Name", {}, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, Kind::kNameInvalid);

  auto repo = state_->GetRepository("team/train");
  ASSERT_TRUE(repo.ok());
  EXPECT_EQ(repo->arn, "arn:aws:ecr:us-east-1:000000000000:repository/team/train");
  EXPECT_EQ(repo->uri, "localhost:5000/team/train");
  EXPECT_EQ(repo->registry_id, "000000000000");
  boost::json::object ecr = repo->ToEcrJson();
  EXPECT_EQ(ecr.at("repositoryName").as_string(), "team/train");
  EXPECT_EQ(ecr.at("createdAt").as_double(), 1'700'000'000.0);

  RepositoryPage first = state_->ListRepositories("", 1);
  ASSERT_EQ(first.repositories.size(), 1u);
  EXPECT_EQ(first.repositories[0].name, "alpha");
  EXPECT_TRUE(first.more);
  RepositoryPage rest = state_->ListRepositories("alpha", 0);
  ASSERT_EQ(rest.repositories.size(), 1u);
  EXPECT_EQ(rest.repositories[0].name, "team/train");
  EXPECT_FALSE(rest.more);
}

TEST_F(RegistryStateTest, StoresAManifestByteForByteAndResolvesTagAndDigest) {
  CreateRepository("app");
  BlobRef config = AddBlob("app", "{}", "application/vnd.oci.image.config.v1+json");
  BlobRef layer1 = AddBlob("app", "layer one");
  BlobRef layer2 = AddBlob("app", "layer two!");
  // Unusual spacing: it must survive as sent.
  std::string manifest = "  " + ImageManifest(config, {layer1, layer2}) + "\n";
  auto put = state_->PutManifest("app", "v1", kOciManifestType, manifest, false, 42);
  ASSERT_TRUE(put.ok()) << put.error().message;
  std::string digest = Digest::Sha256Of(manifest).ToString();
  EXPECT_EQ(put->digest, digest);
  EXPECT_FALSE(put->unchanged);
  EXPECT_GT(put->commit_seq, 0u);

  for (std::string_view ref : {std::string_view("v1"), std::string_view(digest)}) {
    auto got = state_->GetManifest("app", ref);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->digest, digest);
    EXPECT_EQ(got->media_type, kOciManifestType);
    EXPECT_EQ(ReadFile(got->blob.path), manifest);
  }
  auto image = state_->FindImage("app", "v1");
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->image_size, 2u + 9u + 10u);  // config + layers
  EXPECT_EQ(image->manifest_size, manifest.size());
  EXPECT_EQ(image->pushed_at_millis, 42);
  EXPECT_EQ(image->tags, std::vector<std::string>{"v1"});
  EXPECT_EQ(image->config_media_type, "application/vnd.oci.image.config.v1+json");
  // The manifest is a blob of the repository too.
  EXPECT_TRUE(state_->HasBlob("app", digest));

  auto again = state_->PutManifest("app", "v1", kOciManifestType, manifest, false, 50);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->unchanged);
  auto missing = state_->GetManifest("app", "v2");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, Kind::kManifestUnknown);
  auto no_repo = state_->GetManifest("nope", "v1");
  ASSERT_FALSE(no_repo.ok());
  EXPECT_EQ(no_repo.error().kind, Kind::kRepositoryNotFound);
}

TEST_F(RegistryStateTest, RefusesManifestsWhoseBlobsAreNotInTheRepository) {
  CreateRepository("app");
  CreateRepository("other");
  BlobRef config = AddBlob("app", "{}", "application/vnd.oci.image.config.v1+json");
  BlobRef elsewhere = AddBlob("other", "layer of another repository");
  BlobRef absent = RefTo("never uploaded", "application/vnd.oci.image.layer.v1.tar");
  for (const BlobRef& layer : {elsewhere, absent}) {
    auto put = state_->PutManifest("app", "v1", kOciManifestType, ImageManifest(config, {layer}),
                                   false, 1);
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(put.error().kind, Kind::kManifestBlobUnknown);
    EXPECT_NE(put.error().message.find(layer.digest), std::string::npos);
  }
  BlobRef wrong_size = config;
  wrong_size.size = 3;
  auto put =
      state_->PutManifest("app", "v1", kOciManifestType, ImageManifest(wrong_size, {}), false, 1);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().kind, Kind::kManifestInvalid);
  auto images = state_->ListImages("app");
  ASSERT_TRUE(images.ok());
  EXPECT_TRUE(images->empty());
}

TEST_F(RegistryStateTest, ValidatesReferencesAndContent) {
  CreateRepository("app");
  BlobRef config = AddBlob("app", "{}", "application/vnd.oci.image.config.v1+json");
  std::string manifest = ImageManifest(config, {});
  struct Case {
    std::string reference;
    std::string content_type;
    std::string bytes;
    Kind kind;
  } cases[] = {
      {"-bad", kOciManifestType.data(), manifest, Kind::kTagInvalid},
      {"sha256:abc", kOciManifestType.data(), manifest, Kind::kDigestInvalid},
      {Digest::Sha256Of("other").ToString(), kOciManifestType.data(), manifest,
       Kind::kDigestInvalid},
      {"v1", kOciManifestType.data(), "not json", Kind::kManifestInvalid},
      {"v1", kDockerManifestType.data(), manifest, Kind::kManifestInvalid},
      {"v1", "application/vnd.docker.distribution.manifest.v1+json",
       R"({"schemaVersion":1,"name":"app"})", Kind::kManifestInvalid},
      {"v1", kOciManifestType.data(), std::string(kMaxManifestBytes + 1, ' '),
       Kind::kManifestTooLarge},
  };
  for (const Case& c : cases) {
    auto put = state_->PutManifest("app", c.reference, c.content_type, c.bytes, false, 1);
    ASSERT_FALSE(put.ok()) << c.reference;
    EXPECT_EQ(put.error().kind, c.kind) << c.reference << ": " << put.error().message;
  }
  auto bad_name = state_->PutManifest("a/../b", "v1", kOciManifestType, manifest, false, 1);
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error().kind, Kind::kNameInvalid);
  auto no_repo = state_->PutManifest("missing", "v1", kOciManifestType, manifest, false, 1);
  ASSERT_FALSE(no_repo.ok());
  EXPECT_EQ(no_repo.error().kind, Kind::kRepositoryNotFound);

  // By digest, with no tag.
  std::string digest = Digest::Sha256Of(manifest).ToString();
  auto by_digest = state_->PutManifest("app", digest, "", manifest, false, 1);
  ASSERT_TRUE(by_digest.ok()) << by_digest.error().message;
  auto tags = state_->ListTags("app", "", std::nullopt);
  ASSERT_TRUE(tags.ok());
  EXPECT_TRUE(tags->tags.empty());
}

TEST_F(RegistryStateTest, CreatesTheRepositoryOnPushOnlyWhenAsked) {
  std::string manifest = ImageManifest(RefTo("", "application/vnd.oci.empty.v1+json"), {});
  // A config the new repository cannot have yet: refused, nothing created.
  auto put = state_->PutManifest("fresh", "v1", kOciManifestType, manifest, true, 1);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().kind, Kind::kManifestBlobUnknown);
  EXPECT_FALSE(state_->GetRepository("fresh").ok());

  std::string index = IndexManifest({});
  auto created = state_->PutManifest("fresh", "v1", kOciIndexType, index, true, 1);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(created->created_repository);
  EXPECT_TRUE(state_->GetRepository("fresh").ok());
}

TEST_F(RegistryStateTest, MovesTagsOfMutableRepositoriesOnly) {
  CreateRepository("mutable");
  CreateRepository("fixed", "IMMUTABLE");
  for (const char* repo : {"mutable", "fixed"}) {
    std::string first = PushImage(repo, "latest", "one");
    BlobRef config =
        AddBlob(repo, "{\"config\":\"two\"}", "application/vnd.oci.image.config.v1+json");
    std::string second = ImageManifest(config, {AddBlob(repo, "two")});
    auto moved = state_->PutManifest(repo, "latest", kOciManifestType, second, false, 2);
    if (std::string_view(repo) == "fixed") {
      ASSERT_FALSE(moved.ok());
      EXPECT_EQ(moved.error().kind, Kind::kTagImmutable);
      // Re-pushing the same content under the same tag is fine.
      auto same = state_->PutManifest(repo, "latest", kOciManifestType, first, false, 3);
      ASSERT_TRUE(same.ok());
      EXPECT_TRUE(same->unchanged);
      // And a new tag for new content too.
      ASSERT_TRUE(state_->PutManifest(repo, "v2", kOciManifestType, second, false, 3).ok());
    } else {
      ASSERT_TRUE(moved.ok()) << moved.error().message;
      auto old = state_->FindImage(repo, Digest::Sha256Of(first).ToString());
      ASSERT_TRUE(old.ok());
      EXPECT_TRUE(old->tags.empty());
      auto now = state_->FindImage(repo, "latest");
      ASSERT_TRUE(now.ok());
      EXPECT_EQ(now->digest, Digest::Sha256Of(second).ToString());
    }
  }
}

TEST_F(RegistryStateTest, DeletesManifestsTagsAndPaginatesTags) {
  CreateRepository("app");
  std::string manifest = PushImage("app", "a");
  std::string digest = Digest::Sha256Of(manifest).ToString();
  for (const char* tag : {"b", "c", "d"}) {
    ASSERT_TRUE(state_->PutManifest("app", tag, kOciManifestType, manifest, false, 1).ok());
  }
  auto page = state_->ListTags("app", "", 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(page->more);
  page = state_->ListTags("app", "b", 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->tags, (std::vector<std::string>{"c", "d"}));
  EXPECT_FALSE(page->more);

  auto untagged = state_->DeleteTag("app", "a");
  ASSERT_TRUE(untagged.ok());
  EXPECT_EQ(untagged->first, digest);
  EXPECT_FALSE(state_->FindImage("app", "a").ok());
  EXPECT_TRUE(state_->FindImage("app", digest).ok());
  auto no_tag = state_->DeleteTag("app", "a");
  ASSERT_FALSE(no_tag.ok());
  EXPECT_EQ(no_tag.error().kind, Kind::kManifestUnknown);

  auto deleted = state_->DeleteManifest("app", digest);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->first.tags, (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_FALSE(state_->FindImage("app", digest).ok());
  auto tags = state_->ListTags("app", "", std::nullopt);
  ASSERT_TRUE(tags.ok());
  EXPECT_TRUE(tags->tags.empty());
  EXPECT_FALSE(state_->HasBlob("app", digest));
}

TEST_F(RegistryStateTest, IndexesNeedTheirChildrenAndProtectThemWhenAsked) {
  CreateRepository("multi");
  std::string amd64 = PushImage("multi", "amd64", "amd64 layer, longer");
  std::string arm64 = PushImage("multi", "arm64", "arm64");
  BlobRef a = RefTo(amd64, std::string(kOciManifestType));
  BlobRef b = RefTo(arm64, std::string(kOciManifestType));
  BlobRef missing = RefTo("{\"schemaVersion\":2}", std::string(kOciManifestType));

  auto refused =
      state_->PutManifest("multi", "latest", kOciIndexType, IndexManifest({a, missing}), false, 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, Kind::kManifestBlobUnknown);

  std::string index = IndexManifest({a, b});
  auto put = state_->PutManifest("multi", "latest", kOciIndexType, index, false, 1);
  ASSERT_TRUE(put.ok()) << put.error().message;
  auto image = state_->FindImage("multi", "latest");
  ASSERT_TRUE(image.ok());
  auto child = state_->FindImage("multi", "amd64");
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(image->image_size, child->image_size);  // the larger child
  EXPECT_TRUE(image->config_media_type.empty());

  auto protected_child = state_->DeleteManifest("multi", a.digest, /*refuse_if_in_index=*/true);
  ASSERT_FALSE(protected_child.ok());
  EXPECT_EQ(protected_child.error().kind, Kind::kImageReferencedByIndex);
  EXPECT_TRUE(state_->DeleteManifest("multi", a.digest).ok());
}

TEST_F(RegistryStateTest, ListsReferrersBySubjectAndArtifactType) {
  CreateRepository("app");
  std::string subject_manifest = PushImage("app", "v1");
  BlobRef subject = RefTo(subject_manifest, std::string(kOciManifestType));
  BlobRef empty = AddBlob("app", "{}", "application/vnd.oci.empty.v1+json");
  auto push_referrer = [&](std::string artifact_type, std::string note) {
    std::string m = ImageManifest(empty, {AddBlob("app", note)},
                                  {{"artifactType", artifact_type},
                                   {"subject", testing::Descriptor(subject)},
                                   {"annotations", boost::json::object{{"note", note}}}});
    auto put =
        state_->PutManifest("app", Digest::Sha256Of(m).ToString(), kOciManifestType, m, false, 1);
    EXPECT_TRUE(put.ok()) << put.error().message;
    EXPECT_EQ(put->subject, subject.digest);
    return m;
  };
  std::string sbom = push_referrer("application/spdx+json", "sbom");
  push_referrer("application/vnd.dev.cosign", "sig");

  auto all = state_->Referrers("app", subject.digest, std::nullopt);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  auto only_sbom = state_->Referrers("app", subject.digest, "application/spdx+json");
  ASSERT_TRUE(only_sbom.ok());
  ASSERT_EQ(only_sbom->size(), 1u);
  EXPECT_EQ((*only_sbom)[0].digest, Digest::Sha256Of(sbom).ToString());
  EXPECT_EQ((*only_sbom)[0].size, sbom.size());
  EXPECT_EQ((*only_sbom)[0].media_type, kOciManifestType);
  EXPECT_EQ((*only_sbom)[0].annotations.at("note"), "sbom");
  auto none = state_->Referrers("app", Digest::Sha256Of("x").ToString(), std::nullopt);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // A referrer may arrive before its subject, and without artifactType its
  // config media type stands in.
  BlobRef future = RefTo("not pushed yet", std::string(kOciManifestType));
  BlobRef config = AddBlob("app", "cfg", "application/vnd.example.config");
  std::string early = ImageManifest(config, {}, {{"subject", testing::Descriptor(future)}});
  ASSERT_TRUE(state_->PutManifest("app", "early", kOciManifestType, early, false, 1).ok());
  auto early_refs = state_->Referrers("app", future.digest, std::nullopt);
  ASSERT_TRUE(early_refs.ok());
  ASSERT_EQ(early_refs->size(), 1u);
  EXPECT_EQ((*early_refs)[0].artifact_type, "application/vnd.example.config");
}

TEST_F(RegistryStateTest, DeletesRepositoriesOnlyWhenEmptyUnlessForced) {
  CreateRepository("app");
  PushImage("app", "v1");
  auto refused = state_->DeleteRepository("app", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, Kind::kRepositoryNotEmpty);
  auto deleted = state_->DeleteRepository("app", true);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->first.name, "app");
  EXPECT_FALSE(state_->GetRepository("app").ok());

  // A new repository of that name starts empty, also after a restart.
  CreateRepository("app");
  Restart();
  auto images = state_->ListImages("app");
  ASSERT_TRUE(images.ok());
  EXPECT_TRUE(images->empty());
  auto tags = state_->ListTags("app", "", std::nullopt);
  ASSERT_TRUE(tags.ok());
  EXPECT_TRUE(tags->tags.empty());
}

TEST_F(RegistryStateTest, UpdatesRepositoriesAtomically) {
  CreateRepository("app");
  auto updated = state_->UpdateRepository("app", [](Repository& r) {
    r.image_tag_mutability = "IMMUTABLE";
    r.lifecycle_policy = "{\"rules\":[]}";
    r.tags.push_back({"team", "ml"});
    r.name = "renamed";  // ignored
  });
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->first.name, "app");
  EXPECT_THROW(state_->UpdateRepository("app",
                                        [](Repository& r) {
                                          r.repository_policy = "x";
                                          throw std::runtime_error("refused");
                                        }),
               std::runtime_error);
  Restart();
  auto repo = state_->GetRepository("app");
  ASSERT_TRUE(repo.ok());
  EXPECT_EQ(repo->image_tag_mutability, "IMMUTABLE");
  EXPECT_EQ(repo->lifecycle_policy, "{\"rules\":[]}");
  EXPECT_EQ(repo->tags, (std::vector<RepositoryTag>{{"team", "ml"}}));
  EXPECT_TRUE(repo->repository_policy.empty());
  auto missing = state_->UpdateRepository("nope", [](Repository&) {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, Kind::kRepositoryNotFound);
}

TEST_F(RegistryStateTest, RestartSeesEverything) {
  CreateRepository("app", "IMMUTABLE");
  std::string v1 = PushImage("app", "v1");
  std::string v2 = PushImage("app", "v2", "second");
  BlobRef subject = RefTo(v1, std::string(kOciManifestType));
  BlobRef config = AddBlob("app", "sig", "application/vnd.example.sig");
  std::string sig = ImageManifest(config, {}, {{"subject", testing::Descriptor(subject)}});
  ASSERT_TRUE(state_->PutManifest("app", "sig", kOciManifestType, sig, false, 1).ok());
  BlobRef loose = AddBlob("app", "uploaded, no manifest yet");
  ASSERT_TRUE(state_->DeleteTag("app", "v2").ok());

  Restart();
  auto repo = state_->GetRepository("app");
  ASSERT_TRUE(repo.ok());
  EXPECT_EQ(repo->image_tag_mutability, "IMMUTABLE");
  auto image = state_->FindImage("app", "v1");
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->digest, Digest::Sha256Of(v1).ToString());
  EXPECT_EQ(image->pushed_at_millis, 1000);
  auto untagged = state_->FindImage("app", Digest::Sha256Of(v2).ToString());
  ASSERT_TRUE(untagged.ok());
  EXPECT_TRUE(untagged->tags.empty());
  auto tags = state_->ListTags("app", "", std::nullopt);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->tags, (std::vector<std::string>{"sig", "v1"}));
  EXPECT_TRUE(state_->HasBlob("app", loose.digest));
  auto refs = state_->Referrers("app", subject.digest, std::nullopt);
  ASSERT_TRUE(refs.ok());
  EXPECT_EQ(refs->size(), 1u);
  auto manifest = state_->GetManifest("app", "v1");
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(ReadFile(manifest->blob.path), v1);
  // Still immutable after the restart.
  auto moved = state_->PutManifest("app", "v1", kOciManifestType, v2, false, 1);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().kind, Kind::kTagImmutable);
}

TEST_F(RegistryStateTest, LinksAndUnlinksBlobs) {
  CreateRepository("app");
  CreateRepository("other");
  BlobRef blob = AddBlob("app", "shared layer");
  EXPECT_TRUE(state_->HasBlob("app", blob.digest));
  EXPECT_FALSE(state_->HasBlob("other", blob.digest));
  ASSERT_TRUE(state_->LinkBlob("other", blob.digest).ok());  // a mount
  EXPECT_TRUE(state_->HasBlob("other", blob.digest));
  ASSERT_TRUE(state_->UnlinkBlob("app", blob.digest).ok());
  EXPECT_FALSE(state_->HasBlob("app", blob.digest));
  EXPECT_TRUE(state_->HasBlob("other", blob.digest));
  auto again = state_->UnlinkBlob("app", blob.digest);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, Kind::kBlobUnknown);
  auto absent = state_->LinkBlob("app", Digest::Sha256Of("absent").ToString());
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().kind, Kind::kBlobUnknown);
}

TEST_F(RegistryStateTest, ConcurrentPushesReadsAndCollectionsAgree) {
  CreateRepository("app");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        PushImage("app", name, name);
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 20; ++i) {
      auto tags = state_->ListTags("app", "", std::nullopt);
      EXPECT_TRUE(tags.ok());
      // Everything just written is young, so nothing may go.
      auto stats = state_->CollectGarbage(3600);
      ASSERT_TRUE(stats.ok());
      EXPECT_EQ(stats->blobs_removed, 0u);
    }
  });
  for (auto& thread : threads) thread.join();
  auto tags = state_->ListTags("app", "", std::nullopt);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->tags.size(), static_cast<size_t>(kThreads * kPerThread));
  Restart();
  auto images = state_->ListImages("app");
  ASSERT_TRUE(images.ok());
  EXPECT_EQ(images->size(), static_cast<size_t>(kThreads * kPerThread));
}

// Makes a blob's file look untouched for an hour.
void Age(const std::string& path) {
  namespace fs = std::filesystem;
  fs::last_write_time(path, fs::file_time_type::clock::now() - std::chrono::hours(1));
}

TEST_F(RegistryStateTest, CollectsOnlyUnreferencedOldBlobs) {
  CreateRepository("app");
  std::string manifest = PushImage("app", "v1", "kept layer");
  BlobRef orphan = AddBlob("app", "orphan layer");
  BlobRef young = AddBlob("app", "young orphan");
  auto image = state_->FindImage("app", "v1");
  ASSERT_TRUE(image.ok());
  std::vector<std::string> kept = image->references;
  kept.push_back(image->digest);
  for (const auto& digest : kept) Age(blobs_->Stat(*Digest::Parse(digest))->path);
  Age(blobs_->Stat(*Digest::Parse(orphan.digest))->path);

  auto stats = state_->CollectGarbage(600);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->blobs_removed, 1u);
  EXPECT_FALSE(blobs_->Stat(*Digest::Parse(orphan.digest)));
  EXPECT_FALSE(state_->HasBlob("app", orphan.digest));
  EXPECT_TRUE(state_->HasBlob("app", young.digest));
  for (const auto& digest : kept) EXPECT_TRUE(state_->HasBlob("app", digest)) << digest;
  auto got = state_->GetManifest("app", "v1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(ReadFile(got->blob.path), manifest);
}

}  // namespace
}  // namespace berth::registry
