#include "registry/manifest.h"

#include <gtest/gtest.h>

#include "registry/digest.h"
#include "registry/distribution_routes.h"
#include "registry/names.h"

namespace berth::registry {
namespace {

const std::string kDigest = Digest::Sha256Of("x").ToString();

std::string Desc(std::string_view media_type, std::string_view extra = "") {
  return R"({"mediaType":")" + std::string(media_type) + R"(","digest":")" + kDigest +
         R"(","size":1)" + std::string(extra) + "}";
}

TEST(ManifestTest, ParsesAnImageManifest) {
  std::string body =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":)" +
      Desc("application/vnd.oci.image.config.v1+json") + R"(,"layers":[)" +
      Desc("application/vnd.oci.image.layer.v1.tar+gzip") + "," +
      Desc("application/vnd.oci.image.layer.nondistributable.v1.tar",
           R"(,"urls":["https://example.com/l"])") +
      R"(],"subject":)" + Desc("application/vnd.oci.image.manifest.v1+json") +
      R"(,"annotations":{"a":"b"}})";
  auto m = ParseManifest(body, "application/vnd.oci.image.manifest.v1+json; charset=utf-8");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_FALSE(m->is_index);
  ASSERT_TRUE(m->config);
  EXPECT_EQ(m->config->digest, kDigest);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_FALSE(m->layers[0].external);
  EXPECT_TRUE(m->layers[1].external);
  ASSERT_TRUE(m->subject);
  EXPECT_EQ(m->annotations.at("a"), "b");
  // Without artifactType, referrers report the config's media type.
  EXPECT_EQ(m->artifact_type, "application/vnd.oci.image.config.v1+json");
}

TEST(ManifestTest, ResolvesTheMediaType) {
  std::string untyped = R"({"schemaVersion":2,"config":)" + Desc("c") + R"(,"layers":[]})";
  auto from_header = ParseManifest(untyped, kDockerManifestType);
  ASSERT_TRUE(from_header.ok());
  EXPECT_EQ(from_header->media_type, kDockerManifestType);
  auto inferred = ParseManifest(untyped, "");
  ASSERT_TRUE(inferred.ok());
  EXPECT_EQ(inferred->media_type, kOciManifestType);
  auto index = ParseManifest(R"({"schemaVersion":2,"manifests":[)" + Desc(kOciManifestType) + "]}",
                             "application/json");
  ASSERT_TRUE(index.ok());
  EXPECT_TRUE(index->is_index);
  EXPECT_EQ(index->media_type, kOciIndexType);
  ASSERT_EQ(index->manifests.size(), 1u);
  auto list = ParseManifest(R"({"schemaVersion":2,"mediaType":")" +
                                std::string(kDockerManifestListType) + R"(","manifests":[]})",
                            "");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->is_index);
}

TEST(ManifestTest, RefusesMalformedManifests) {
  std::string config = R"("config":)" + Desc("c");
  const char* type = "application/vnd.oci.image.manifest.v1+json";
  struct Case {
    std::string body;
    std::string content_type;
  } cases[] = {
      {"not json", type},
      {"[]", type},
      {R"({"schemaVersion":1,)" + config + R"(,"layers":[]})", type},
      {R"({"schemaVersion":2,)" + config + R"(,"layers":[]})",
       "application/vnd.oci.image.index.v1+json"},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)" + config +
           "}",
       type},
      {R"({"schemaVersion":2,"mediaType":"text/plain",)" + config + R"(,"layers":[]})", ""},
      {R"({"schemaVersion":2,"layers":[]})", type},
      {R"({"schemaVersion":2,)" + config + "}", type},
      {R"({"schemaVersion":2,"config":{"mediaType":"c","digest":"sha256:abc","size":1},"layers":[]})",
       type},
      {R"({"schemaVersion":2,"config":{"mediaType":"c","digest":")" + kDigest +
           R"(","size":-1},"layers":[]})",
       type},
      {R"({"schemaVersion":2,)" + config + R"(,"layers":[],"annotations":{"a":1}})", type},
      {R"({"schemaVersion":2,"manifests":{}})", "application/vnd.oci.image.index.v1+json"},
  };
  for (const Case& c : cases) {
    auto m = ParseManifest(c.body, c.content_type);
    ASSERT_FALSE(m.ok()) << c.body;
    EXPECT_EQ(m.error().kind, RegistryErrorKind::kManifestInvalid) << c.body;
  }
  auto big = ParseManifest(std::string(kMaxManifestBytes + 1, ' '), type);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().kind, RegistryErrorKind::kManifestTooLarge);
}

TEST(NamesTest, FollowsTheOciGrammar) {
  for (const char* good : {"ab", "a/b", "team/train-job", "a__b", "a---b", "a.b_c/d", "x1/y2/z3"}) {
    EXPECT_TRUE(IsValidRepositoryName(good)) << good;
  }
  for (const char* bad : {"a", "", "A", "a/", "/a", "a//b", "..", "a/../b", "a/./b", "a..b",
                          "a___b", "a_.b", "-a", "a-", "a b", "a@b", "a:b"}) {
    EXPECT_FALSE(IsValidRepositoryName(bad)) << bad;
  }
  EXPECT_TRUE(IsValidRepositoryName(std::string(256, 'a')));
  EXPECT_FALSE(IsValidRepositoryName(std::string(257, 'a')));

  for (const char* good : {"latest", "v1.2.3", "_x", "A-b_c.d"}) EXPECT_TRUE(IsValidTag(good));
  for (const char* bad : {"", "-a", ".a", "a/b", "a:b", "a@b"}) EXPECT_FALSE(IsValidTag(bad));
  EXPECT_TRUE(IsValidTag(std::string(128, 'a')));
  EXPECT_FALSE(IsValidTag(std::string(129, 'a')));
}

TEST(DistributionRoutesTest, RoutesByTheLastComponents) {
  using Kind = DistributionRoute::Kind;
  struct Case {
    const char* path;
    Kind kind;
    const char* name;
    const char* reference;
  } cases[] = {
      {"/v2/", Kind::kBase, "", ""},
      {"/v2", Kind::kBase, "", ""},
      {"/v2/_catalog", Kind::kCatalog, "", ""},
      {"/v2/a/b/tags/list", Kind::kTags, "a/b", ""},
      {"/v2/a/manifests/latest", Kind::kManifest, "a", "latest"},
      {"/v2/a/blobs/sha256:1", Kind::kBlob, "a", "sha256:1"},
      {"/v2/a/blobs/uploads/", Kind::kUploadStart, "a", ""},
      {"/v2/a/blobs/uploads", Kind::kUploadStart, "a", ""},
      {"/v2/a/blobs/uploads/id.1", Kind::kUpload, "a", "id.1"},
      {"/v2/a/referrers/sha256:1", Kind::kReferrers, "a", "sha256:1"},
      // Names may contain the words the routes use.
      {"/v2/x/blobs/blobs/sha256:1", Kind::kBlob, "x/blobs", "sha256:1"},
      {"/v2/x/manifests/manifests/v1", Kind::kManifest, "x/manifests", "v1"},
      {"/v2/x/blobs/uploads/blobs/uploads/", Kind::kUploadStart, "x/blobs/uploads", ""},
      {"/v2/manifests/v1", Kind::kUnknown, "", ""},
      {"/v2/a/unknown", Kind::kUnknown, "", ""},
      {"/v3/a/tags/list", Kind::kUnknown, "", ""},
  };
  for (const Case& c : cases) {
    DistributionRoute r = ParseRoute(c.path);
    EXPECT_EQ(r.kind, c.kind) << c.path;
    EXPECT_EQ(r.name, c.name) << c.path;
    EXPECT_EQ(r.reference, c.reference) << c.path;
  }
}

TEST(DistributionRoutesTest, EscapesLinkQueries) {
  EXPECT_EQ(QueryEscape("a/b c+d"), "a/b%20c%2Bd");
}

TEST(DistributionRoutesTest, ParsesRanges) {
  using Kind = RangeRequest::Kind;
  auto r = ParseRange("bytes=0-0", 10);
  EXPECT_EQ(r.kind, Kind::kPartial);
  EXPECT_EQ(r.last, 0u);
  EXPECT_EQ(ParseRange("bytes=5-", 10).first, 5u);
  EXPECT_EQ(ParseRange("bytes=-4", 10).first, 6u);
  EXPECT_EQ(ParseRange("bytes=-40", 10).first, 0u);
  EXPECT_EQ(ParseRange("bytes=3-100", 10).last, 9u);
  EXPECT_EQ(ParseRange("bytes=10-", 10).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-0", 10).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=0-", 0).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=0-1,3-4", 10).kind, Kind::kWhole);
  EXPECT_EQ(ParseRange("bytes=5-2", 10).kind, Kind::kWhole);
  EXPECT_EQ(ParseRange("items=0-1", 10).kind, Kind::kWhole);

  for (const char* header : {"3-7", "bytes 3-7", "bytes=3-7", "bytes 3-7/*", " 3 - 7 "}) {
    auto c = ParseContentRange(header);
    ASSERT_TRUE(c) << header;
    EXPECT_EQ(c->first, 3u);
    EXPECT_EQ(c->last, 7u);
  }
  for (const char* header : {"", "3", "7-3", "a-b", "-3"}) {
    EXPECT_FALSE(ParseContentRange(header)) << header;
  }
}

}  // namespace
}  // namespace berth::registry
