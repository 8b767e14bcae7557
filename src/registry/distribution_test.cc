#include "registry/distribution.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include "common/base64.h"
#include "common/clock.h"
#include "registry/auth_token.h"
#include "registry/distribution_sinks.h"
#include "registry/registry_test_util.h"

namespace berth::registry {
namespace {

using testing::BlobRef;
using testing::ImageManifest;
using testing::ReadFile;
using testing::RefTo;
namespace json = boost::json;

constexpr int64_t kNowMillis = 1'700'000'000'000;
constexpr std::string_view kKey = "AKIDEXAMPLE";
constexpr std::string_view kSecret = "secret";

struct Sent {
  std::string method;
  std::string target;
  std::string body;
  http::Headers headers;
  bool stream = true;  // through StreamBody, as the server does
  size_t chunk = 7;    // piece size when streaming
};

class DistributionTest : public testing::RegistryFixture {
 protected:
  void SetUp() override {
    RegistryFixture::SetUp();
    MakeDistribution();
    auth_ = "Basic " +
            Base64Encode("AWS:" + MintRegistryToken(kKey, kSecret, kNowMillis / 1000 + 3600));
  }

  void MakeDistribution() {
    http::SecretLookup secrets = [](std::string_view key) -> std::optional<std::string> {
      if (key == kKey) return std::string(kSecret);
      return std::nullopt;
    };
    dist_ = std::make_unique<Distribution>(*state_, *blobs_, secrets, clock_, tracker_, options_);
  }

  void Restart() override {
    dist_.reset();
    RegistryFixture::Restart();
    MakeDistribution();
  }

  http::Request Build(const Sent& s, bool with_auth) {
    http::Request request;
    request.method = s.method;
    request.target = s.target;
    request.headers = s.headers;
    if (with_auth) request.headers.emplace_back("authorization", auth_);
    request.headers.emplace_back("content-length", std::to_string(s.body.size()));
    return request;
  }

  // Delivers the body as the server would (streamed to the sink StreamBody
  // picks, else buffered) and returns the reply.
  http::Response Send(const Sent& s, bool with_auth = true) {
    http::Request request = Build(s, with_auth);
    std::shared_ptr<http::BodySink> sink = s.stream ? dist_->StreamBody(request) : nullptr;
    if (sink != nullptr) {
      for (size_t at = 0; at < s.body.size(); at += s.chunk) {
        Status st = sink->Write(std::string_view(s.body).substr(at, s.chunk));
        if (!st.ok()) {
          request.body_status = st;
          break;
        }
        request.body_bytes += std::min(s.chunk, s.body.size() - at);
      }
      request.body_sink = sink;
    } else {
      request.body = s.body;
    }
    // Uploads are answered from the blob store's sync thread.
    struct Reply {
      std::mutex mu;
      std::condition_variable arrived;
      std::optional<http::Response> response;
    };
    auto reply = std::make_shared<Reply>();
    dist_->Handle(std::move(request), [reply](http::Response r) {
      std::lock_guard lock(reply->mu);
      reply->response = std::move(r);
      reply->arrived.notify_all();
    });
    std::unique_lock lock(reply->mu);
    reply->arrived.wait_for(lock, std::chrono::seconds(30),
                            [&] { return reply->response.has_value(); });
    EXPECT_TRUE(reply->response.has_value()) << s.method << " " << s.target << " got no reply";
    return reply->response.value_or(http::Response{});
  }

  http::Response Get(std::string target, http::Headers headers = {}) {
    return Send({"GET", std::move(target), "", std::move(headers)});
  }

  static std::string Header(const http::Response& r, std::string_view name) {
    const std::string* v = r.Header(name);
    return v ? *v : "";
  }

  static std::string ErrorCode(const http::Response& r) {
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("errors")) return "(no error body)";
    return std::string(v.at("errors").at(0).at("code").as_string());
  }

  static std::string Body(const http::Response& r) {
    if (!r.body_file.empty()) return ReadFile(r.body_file, r.file_offset, r.file_length);
    return r.body;
  }

  // Pushes bytes monolithically; returns the digest.
  std::string PushBlob(std::string_view repo, std::string_view bytes) {
    std::string digest = Digest::Sha256Of(bytes).ToString();
    http::Response r =
        Send({"POST", "/v2/" + std::string(repo) + "/blobs/uploads/?digest=" + digest,
              std::string(bytes)});
    EXPECT_EQ(r.status, 201) << r.body;
    return digest;
  }

  // Pushes a config and a layer and the manifest naming them under tag.
  std::string PushImage(std::string_view repo, std::string_view tag, std::string_view text,
                        json::object extra = {}) {
    std::string config_bytes = "{\"c\":\"" + std::string(text) + "\"}";
    PushBlob(repo, config_bytes);
    PushBlob(repo, text);
    std::string manifest =
        ImageManifest(RefTo(config_bytes, "application/vnd.oci.image.config.v1+json"),
                      {RefTo(text, "application/vnd.oci.image.layer.v1.tar")}, std::move(extra));
    http::Response r = Send({"PUT",
                             "/v2/" + std::string(repo) + "/manifests/" + std::string(tag),
                             manifest,
                             {{"content-type", std::string(kOciManifestType)}}});
    EXPECT_EQ(r.status, 201) << r.body;
    return manifest;
  }

  FakeClock clock_{kNowMillis};
  DistributionOptions options_;
  std::unique_ptr<Distribution> dist_;
  std::string auth_;
};

TEST_F(DistributionTest, AcceptsOnlyV2Paths) {
  http::Request r;
  for (const char* target : {"/v2", "/v2/", "/v2/app/tags/list?n=1"}) {
    r.target = target;
    EXPECT_TRUE(Distribution::Accepts(r)) << target;
  }
  for (const char* target : {"/", "/v2x", "/v1/", "/healthz"}) {
    r.target = target;
    EXPECT_FALSE(Distribution::Accepts(r)) << target;
  }
}

TEST_F(DistributionTest, RequiresRegistryCredentials) {
  http::Response anonymous = Send({"GET", "/v2/"}, /*with_auth=*/false);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(Header(anonymous, "www-authenticate"), "Basic realm=\"berth\"");
  EXPECT_EQ(ErrorCode(anonymous), "UNAUTHORIZED");

  auth_ =
      "Basic " + Base64Encode("AWS:" + MintRegistryToken(kKey, "wrong", kNowMillis / 1000 + 60));
  http::Response forged = Get("/v2/");
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(ErrorCode(forged), "UNAUTHORIZED");
  auth_ = "Basic " + Base64Encode("AWS:" + MintRegistryToken(kKey, kSecret, kNowMillis / 1000 - 1));
  EXPECT_EQ(Get("/v2/").status, 401);  // expired

  // Every endpoint, and the body of a push is not even read.
  CreateRepository("app");
  http::Response push = Send(
      {"POST", "/v2/app/blobs/uploads/?digest=" + Digest::Sha256Of("x").ToString(), "x"}, false);
  EXPECT_EQ(push.status, 401);
  EXPECT_FALSE(blobs_->Stat(Digest::Sha256Of("x")));

  auth_ =
      "Basic " + Base64Encode("AWS:" + MintRegistryToken(kKey, kSecret, kNowMillis / 1000 + 60));
  http::Response ok = Get("/v2/");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{}");
  EXPECT_EQ(Header(ok, "docker-distribution-api-version"), "registry/2.0");
}

TEST_F(DistributionTest, PushesAndPullsABlobMonolithically) {
  CreateRepository("app");
  for (bool stream : {true, false}) {
    std::string bytes = stream ? "streamed layer bytes" : "buffered layer bytes";
    std::string digest = Digest::Sha256Of(bytes).ToString();
    http::Response put =
        Send({"POST", "/v2/app/blobs/uploads/?digest=" + digest, bytes, {}, stream});
    ASSERT_EQ(put.status, 201) << put.body;
    EXPECT_EQ(Header(put, "location"), "/v2/app/blobs/" + digest);
    EXPECT_EQ(Header(put, "docker-content-digest"), digest);

    http::Response head = Send({"HEAD", "/v2/app/blobs/" + digest});
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.file_length, bytes.size());
    EXPECT_EQ(Header(head, "docker-content-digest"), digest);
    http::Response get = Get("/v2/app/blobs/" + digest);
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(Body(get), bytes);
  }
  // An empty blob is a blob too.
  std::string empty = Digest::Sha256Of("").ToString();
  ASSERT_EQ(Send({"POST", "/v2/app/blobs/uploads/?digest=" + empty, ""}).status, 201);
  http::Response got = Get("/v2/app/blobs/" + empty);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(Body(got), "");
}

TEST_F(DistributionTest, ServesRanges) {
  CreateRepository("app");
  std::string digest = PushBlob("app", "0123456789");
  http::Response part = Get("/v2/app/blobs/" + digest, {{"range", "bytes=2-5"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(Body(part), "2345");
  EXPECT_EQ(Header(part, "content-range"), "bytes 2-5/10");
  EXPECT_EQ(Body(Get("/v2/app/blobs/" + digest, {{"range", "bytes=7-"}})), "789");
  EXPECT_EQ(Body(Get("/v2/app/blobs/" + digest, {{"range", "bytes=-3"}})), "789");
  EXPECT_EQ(Body(Get("/v2/app/blobs/" + digest, {{"range", "bytes=8-100"}})), "89");
  http::Response beyond = Get("/v2/app/blobs/" + digest, {{"range", "bytes=10-12"}});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(Header(beyond, "content-range"), "bytes */10");
}

TEST_F(DistributionTest, PushesABlobInChunks) {
  CreateRepository("team/app");
  http::Response start = Send({"POST", "/v2/team/app/blobs/uploads/"});
  ASSERT_EQ(start.status, 202);
  std::string location = Header(start, "location");
  ASSERT_TRUE(location.starts_with("/v2/team/app/blobs/uploads/")) << location;
  EXPECT_EQ(Header(start, "range"), "0-0");
  EXPECT_FALSE(Header(start, "docker-upload-uuid").empty());

  http::Response first = Send({"PATCH", location, "hello ", {{"content-range", "0-5"}}});
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(Header(first, "range"), "0-5");
  // A chunk that does not continue where the upload is.
  http::Response gap = Send({"PATCH", location, "world", {{"content-range", "7-11"}}});
  EXPECT_EQ(gap.status, 416);
  EXPECT_EQ(ErrorCode(gap), "BLOB_UPLOAD_INVALID");
  http::Response overlap = Send({"PATCH", location, "world", {{"content-range", "0-4"}}, false});
  EXPECT_EQ(overlap.status, 416);
  // Without Content-Range: appended (a streamed chunk).
  ASSERT_EQ(Send({"PATCH", location, "wor"}).status, 202);
  http::Response status = Get(location);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(Header(status, "range"), "0-8");

  // Completing without a digest fails and leaves the upload as it was.
  http::Response no_digest = Send({"PUT", location, "ld"});
  EXPECT_EQ(no_digest.status, 400);
  EXPECT_EQ(ErrorCode(no_digest), "DIGEST_INVALID");
  EXPECT_EQ(Header(Get(location), "range"), "0-8");

  std::string digest = Digest::Sha256Of("hello world").ToString();
  http::Response done = Send({"PUT", location + "?digest=" + digest, "ld"});
  ASSERT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(Header(done, "location"), "/v2/team/app/blobs/" + digest);
  EXPECT_EQ(Body(Get("/v2/team/app/blobs/" + digest)), "hello world");
  // The upload is gone.
  EXPECT_EQ(Get(location).status, 404);
}

TEST_F(DistributionTest, RefusesAWrongDigestAndStoresNothing) {
  CreateRepository("app");
  std::string claimed = Digest::Sha256Of("what the client meant").ToString();
  http::Response mono = Send({"POST", "/v2/app/blobs/uploads/?digest=" + claimed, "other bytes"});
  EXPECT_EQ(mono.status, 400);
  EXPECT_EQ(ErrorCode(mono), "DIGEST_INVALID");
  http::Response start = Send({"POST", "/v2/app/blobs/uploads/"});
  std::string location = Header(start, "location");
  ASSERT_EQ(Send({"PATCH", location, "other bytes"}).status, 202);
  http::Response put = Send({"PUT", location + "?digest=" + claimed, ""});
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(ErrorCode(put), "DIGEST_INVALID");
  EXPECT_EQ(Send({"HEAD", "/v2/app/blobs/" + claimed}).status, 404);
  EXPECT_FALSE(blobs_->Stat(*Digest::Parse(claimed)));
  EXPECT_FALSE(blobs_->Stat(Digest::Sha256Of("other bytes")));
  http::Response bad = Send({"POST", "/v2/app/blobs/uploads/?digest=sha256:nothex", "x"});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ErrorCode(bad), "DIGEST_INVALID");
}

TEST_F(DistributionTest, ScopesUploadsToTheirRepository) {
  CreateRepository("app");
  CreateRepository("other");
  std::string location = Header(Send({"POST", "/v2/app/blobs/uploads/"}), "location");
  std::string token = location.substr(location.rfind('/') + 1);
  for (const Sent& s :
       {Sent{"GET", "/v2/other/blobs/uploads/" + token},
        Sent{"PATCH", "/v2/other/blobs/uploads/" + token, "data"},
        Sent{"PUT",
             "/v2/other/blobs/uploads/" + token + "?digest=" + Digest::Sha256Of("data").ToString(),
             "data"},
        Sent{"DELETE", "/v2/other/blobs/uploads/" + token},
        Sent{"GET", "/v2/app/blobs/uploads/0123abcd.0000000000000000"}}) {
    http::Response r = Send(s);
    EXPECT_EQ(r.status, 404) << s.method << " " << s.target;
    EXPECT_EQ(ErrorCode(r), "BLOB_UPLOAD_UNKNOWN");
  }
  EXPECT_EQ(Get(location).status, 204);
  EXPECT_EQ(Send({"DELETE", location}).status, 204);
  EXPECT_EQ(Get(location).status, 404);
}

TEST_F(DistributionTest, AnInterruptedUploadStaysResumableAndInvisible) {
  CreateRepository("app");
  std::string location = Header(Send({"POST", "/v2/app/blobs/uploads/"}), "location");
  {
    // The client disconnects mid-body: the server drops the sink without
    // calling Handle.
    http::Request head = Build({"PATCH", location, ""}, true);
    std::shared_ptr<http::BodySink> sink = dist_->StreamBody(head);
    ASSERT_NE(sink, nullptr);
    ASSERT_TRUE(sink->Write("part one, ").ok());
  }
  http::Response status = Get(location);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(Header(status, "range"), "0-9");
  std::string whole = "part one, part two";
  EXPECT_EQ(Send({"HEAD", "/v2/app/blobs/" + Digest::Sha256Of(whole).ToString()}).status, 404);

  ASSERT_EQ(Send({"PATCH", location, "part two", {{"content-range", "10-17"}}}).status, 202);
  http::Response done =
      Send({"PUT", location + "?digest=" + Digest::Sha256Of(whole).ToString(), ""});
  ASSERT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(Body(Get("/v2/app/blobs/" + Digest::Sha256Of(whole).ToString())), whole);
}

TEST_F(DistributionTest, TwoUploadsOfTheSameBlobBothSucceed) {
  CreateRepository("app");
  std::string bytes = "the same layer";
  std::string digest = Digest::Sha256Of(bytes).ToString();
  std::string a = Header(Send({"POST", "/v2/app/blobs/uploads/"}), "location");
  std::string b = Header(Send({"POST", "/v2/app/blobs/uploads/"}), "location");
  ASSERT_EQ(Send({"PATCH", a, bytes}).status, 202);
  ASSERT_EQ(Send({"PATCH", b, bytes}).status, 202);
  EXPECT_EQ(Send({"PUT", a + "?digest=" + digest, ""}).status, 201);
  EXPECT_EQ(Send({"PUT", b + "?digest=" + digest, ""}).status, 201);
  EXPECT_EQ(Body(Get("/v2/app/blobs/" + digest)), bytes);
}

TEST_F(DistributionTest, MountsOnlyFromRepositoriesHoldingTheBlob) {
  CreateRepository("src");
  CreateRepository("dst");
  CreateRepository("empty");
  std::string digest = PushBlob("src", "mountable");
  http::Response from_empty =
      Send({"POST", "/v2/dst/blobs/uploads/?mount=" + digest + "&from=empty"});
  EXPECT_EQ(from_empty.status, 202);  // falls back to an upload
  EXPECT_EQ(Send({"HEAD", "/v2/dst/blobs/" + digest}).status, 404);
  http::Response mounted = Send({"POST", "/v2/dst/blobs/uploads/?mount=" + digest + "&from=src"});
  EXPECT_EQ(mounted.status, 201);
  EXPECT_EQ(Header(mounted, "location"), "/v2/dst/blobs/" + digest);
  EXPECT_EQ(Body(Get("/v2/dst/blobs/" + digest)), "mountable");
}

TEST_F(DistributionTest, PushesAndPullsManifests) {
  CreateRepository("app");
  std::string manifest = PushImage("app", "v1", "layer");
  std::string digest = Digest::Sha256Of(manifest).ToString();
  for (std::string ref : {std::string("v1"), digest}) {
    http::Response got = Get("/v2/app/manifests/" + ref);
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(Header(got, "content-type"), kOciManifestType);
    EXPECT_EQ(Header(got, "docker-content-digest"), digest);
    EXPECT_EQ(Body(got), manifest);
    http::Response head = Send({"HEAD", "/v2/app/manifests/" + ref});
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.file_length, manifest.size());
  }
  http::Response by_digest = Send({"PUT",
                                   "/v2/app/manifests/" + digest,
                                   manifest,
                                   {{"content-type", std::string(kOciManifestType)}},
                                   false});
  EXPECT_EQ(by_digest.status, 201);
  EXPECT_EQ(Header(by_digest, "location"), "/v2/app/manifests/" + digest);
  EXPECT_EQ(Header(by_digest, "docker-content-digest"), digest);

  http::Response unknown = Get("/v2/app/manifests/v2");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(ErrorCode(unknown), "MANIFEST_UNKNOWN");
  http::Response no_repo = Get("/v2/nope/manifests/v1");
  EXPECT_EQ(no_repo.status, 404);
  EXPECT_EQ(ErrorCode(no_repo), "NAME_UNKNOWN");
}

TEST_F(DistributionTest, RefusesBadManifests) {
  CreateRepository("app");
  std::string config = PushBlob("app", "{}");
  BlobRef config_ref = RefTo("{}", "application/vnd.oci.image.config.v1+json");
  std::string good = ImageManifest(config_ref, {});
  std::string missing = ImageManifest(config_ref, {RefTo("never pushed", "application/x")});
  std::string big = std::string(5 << 20, ' ');
  struct Case {
    std::string reference;
    std::string body;
    std::string content_type;
    int status;
    std::string code;
  } cases[] = {
      {"v1", missing, std::string(kOciManifestType), 400, "MANIFEST_BLOB_UNKNOWN"},
      {"v1", "{not json", std::string(kOciManifestType), 400, "MANIFEST_INVALID"},
      {"v1", good, std::string(kDockerManifestType), 400, "MANIFEST_INVALID"},
      {"v1", big, std::string(kOciManifestType), 413, "SIZE_INVALID"},
      {Digest::Sha256Of("x").ToString(), good, std::string(kOciManifestType), 400,
       "DIGEST_INVALID"},
      {"bad*tag", good, std::string(kOciManifestType), 400, "TAG_INVALID"},
  };
  for (bool stream : {true, false}) {
    for (const Case& c : cases) {
      http::Response r = Send({"PUT",
                               "/v2/app/manifests/" + c.reference,
                               c.body,
                               {{"content-type", c.content_type}},
                               stream,
                               64 << 10});
      EXPECT_EQ(r.status, c.status) << c.code << " stream=" << stream << ": " << r.body;
      EXPECT_EQ(ErrorCode(r), c.code) << r.body;
    }
  }
  auto tags = state_->ListTags("app", "", std::nullopt);
  ASSERT_TRUE(tags.ok());
  EXPECT_TRUE(tags->tags.empty());
}

TEST_F(DistributionTest, KeepsImmutableTags) {
  CreateRepository("fixed", "IMMUTABLE");
  PushImage("fixed", "v1", "first");
  std::string config_bytes = "{\"c\":\"second\"}";
  PushBlob("fixed", config_bytes);
  std::string other =
      ImageManifest(RefTo(config_bytes, "application/vnd.oci.image.config.v1+json"), {});
  http::Response r = Send(
      {"PUT", "/v2/fixed/manifests/v1", other, {{"content-type", std::string(kOciManifestType)}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "TAG_INVALID");
}

TEST_F(DistributionTest, RefusesInvalidNamesIncludingEscapedDotDot) {
  CreateRepository("app");
  for (const char* target :
       {"/v2/foo/../app/manifests/latest", "/v2/%2e%2e/manifests/latest",
        "/v2/app/%2E%2E/app/tags/list", "/v2/App/tags/list", "/v2/a//b/tags/list",
        "/v2/%2e%2e%2fapp/blobs/uploads/", "/v2/app%00/tags/list"}) {
    http::Response r = Get(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(ErrorCode(r), "NAME_INVALID") << target;
  }
}

TEST_F(DistributionTest, PushToAMissingRepositoryNeedsCreateOnPush) {
  http::Response refused = Send({"POST", "/v2/new/repo/blobs/uploads/"});
  EXPECT_EQ(refused.status, 404);
  EXPECT_EQ(ErrorCode(refused), "NAME_UNKNOWN");
  http::Response mono =
      Send({"POST", "/v2/new/repo/blobs/uploads/?digest=" + Digest::Sha256Of("x").ToString(), "x"});
  EXPECT_EQ(mono.status, 404);
  EXPECT_EQ(ErrorCode(mono), "NAME_UNKNOWN");

  options_.create_on_push = true;
  MakeDistribution();
  PushImage("new/repo", "v1", "layer");
  EXPECT_TRUE(state_->GetRepository("new/repo").ok());
  EXPECT_EQ(Get("/v2/new/repo/manifests/v1").status, 200);
}

TEST_F(DistributionTest, PaginatesTagsAndCatalogWithLinks) {
  CreateRepository("app");
  std::string manifest = PushImage("app", "a", "layer");
  for (const char* tag : {"b", "c"}) {
    ASSERT_EQ(Send({"PUT",
                    std::string("/v2/app/manifests/") + tag,
                    manifest,
                    {{"content-type", std::string(kOciManifestType)}}})
                  .status,
              201);
  }
  http::Response first = Get("/v2/app/tags/list?n=2");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(json::parse(first.body), json::parse(R"({"name":"app","tags":["a","b"]})"));
  EXPECT_EQ(Header(first, "link"), "</v2/app/tags/list?last=b&n=2>; rel=\"next\"");
  http::Response rest = Get("/v2/app/tags/list?last=b&n=2");
  EXPECT_EQ(json::parse(rest.body), json::parse(R"({"name":"app","tags":["c"]})"));
  EXPECT_EQ(Header(rest, "link"), "");
  EXPECT_EQ(json::parse(Get("/v2/app/tags/list").body).at("tags").as_array().size(), 3u);
  EXPECT_EQ(Get("/v2/app/tags/list?n=x").status, 400);
  EXPECT_EQ(ErrorCode(Get("/v2/nope/tags/list")), "NAME_UNKNOWN");

  CreateRepository("b/one");
  CreateRepository("c/two");
  http::Response catalog = Get("/v2/_catalog?n=2");
  EXPECT_EQ(json::parse(catalog.body), json::parse(R"({"repositories":["app","b/one"]})"));
  EXPECT_EQ(Header(catalog, "link"), "</v2/_catalog?last=b/one&n=2>; rel=\"next\"");
  http::Response more = Get("/v2/_catalog?last=b/one&n=2");
  EXPECT_EQ(json::parse(more.body), json::parse(R"({"repositories":["c/two"]})"));
  EXPECT_EQ(json::parse(Get("/v2/_catalog").body).at("repositories").as_array().size(), 3u);
}

TEST_F(DistributionTest, ListsReferrers) {
  CreateRepository("app");
  std::string subject = PushImage("app", "v1", "subject layer");
  std::string subject_digest = Digest::Sha256Of(subject).ToString();
  json::object subject_descriptor =
      testing::Descriptor(RefTo(subject, std::string(kOciManifestType)));
  std::string empty = PushBlob("app", "{}");
  std::string sbom_layer = PushBlob("app", "sbom contents");
  std::string sbom =
      ImageManifest(RefTo("{}", "application/vnd.oci.empty.v1+json"),
                    {RefTo("sbom contents", "application/spdx+json")},
                    {{"artifactType", "application/spdx+json"}, {"subject", subject_descriptor}});
  std::string sbom_digest = Digest::Sha256Of(sbom).ToString();
  http::Response put = Send({"PUT",
                             "/v2/app/manifests/" + sbom_digest,
                             sbom,
                             {{"content-type", std::string(kOciManifestType)}}});
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(Header(put, "oci-subject"), subject_digest);

  http::Response all = Get("/v2/app/referrers/" + subject_digest);
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(Header(all, "content-type"), kOciIndexType);
  json::value index = json::parse(all.body);
  EXPECT_EQ(index.at("mediaType").as_string(), kOciIndexType);
  ASSERT_EQ(index.at("manifests").as_array().size(), 1u);
  const json::value& d = index.at("manifests").at(0);
  EXPECT_EQ(d.at("digest").as_string(), sbom_digest);
  EXPECT_EQ(d.at("artifactType").as_string(), "application/spdx+json");
  EXPECT_EQ(d.at("size").to_number<uint64_t>(), sbom.size());
  EXPECT_EQ(Header(all, "oci-filters-applied"), "");

  http::Response filtered =
      Get("/v2/app/referrers/" + subject_digest + "?artifactType=application%2Fspdx%2Bjson");
  EXPECT_EQ(Header(filtered, "oci-filters-applied"), "artifactType");
  EXPECT_EQ(json::parse(filtered.body).at("manifests").as_array().size(), 1u);
  http::Response other = Get("/v2/app/referrers/" + subject_digest + "?artifactType=x%2Fy");
  EXPECT_EQ(json::parse(other.body).at("manifests").as_array().size(), 0u);
  http::Response none = Get("/v2/app/referrers/" + Digest::Sha256Of("z").ToString());
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(json::parse(none.body).at("manifests").as_array().size(), 0u);
  EXPECT_EQ(Get("/v2/app/referrers/sha256:bad").status, 400);
}

TEST_F(DistributionTest, DeletesManifestsTagsAndBlobs) {
  CreateRepository("app");
  std::string manifest = PushImage("app", "v1", "layer");
  std::string digest = Digest::Sha256Of(manifest).ToString();
  ASSERT_EQ(Send({"PUT",
                  "/v2/app/manifests/v2",
                  manifest,
                  {{"content-type", std::string(kOciManifestType)}}})
                .status,
            201);
  EXPECT_EQ(Send({"DELETE", "/v2/app/manifests/v1"}).status, 202);
  EXPECT_EQ(Get("/v2/app/manifests/v1").status, 404);
  EXPECT_EQ(Get("/v2/app/manifests/v2").status, 200);
  EXPECT_EQ(Send({"DELETE", "/v2/app/manifests/" + digest}).status, 202);
  http::Response gone = Get("/v2/app/manifests/" + digest);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(ErrorCode(gone), "MANIFEST_UNKNOWN");
  EXPECT_EQ(Get("/v2/app/manifests/v2").status, 404);
  EXPECT_EQ(Send({"DELETE", "/v2/app/manifests/" + digest}).status, 404);

  std::string layer = Digest::Sha256Of("layer").ToString();
  EXPECT_EQ(Send({"DELETE", "/v2/app/blobs/" + layer}).status, 202);
  http::Response blob = Get("/v2/app/blobs/" + layer);
  EXPECT_EQ(blob.status, 404);
  EXPECT_EQ(ErrorCode(blob), "BLOB_UNKNOWN");
  EXPECT_EQ(Send({"DELETE", "/v2/app/blobs/" + layer}).status, 404);
  EXPECT_EQ(Send({"POST", "/v2/app/manifests/v1"}).status, 405);
}

TEST_F(DistributionTest, ARestartedRegistrySeesEverything) {
  CreateRepository("app");
  std::string manifest = PushImage("app", "v1", "layer");
  std::string location = Header(Send({"POST", "/v2/app/blobs/uploads/"}), "location");
  ASSERT_EQ(Send({"PATCH", location, "half"}).status, 202);

  Restart();
  http::Response got = Get("/v2/app/manifests/v1");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Body(got), manifest);
  EXPECT_EQ(Body(Get("/v2/app/blobs/" + Digest::Sha256Of("layer").ToString())), "layer");
  EXPECT_EQ(json::parse(Get("/v2/app/tags/list").body),
            json::parse(R"({"name":"app","tags":["v1"]})"));
  http::Response status = Get(location);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(Header(status, "range"), "0-3");
  ASSERT_EQ(Send({"PUT", location + "?digest=" + Digest::Sha256Of("half and half").ToString(),
                  " and half"})
                .status,
            201);
}

// What a client is told when the disk under the blob store is full, and what
// is left: the OCI "UNKNOWN" error with status 500 (the code the
// distribution layer gives every storage failure), a message naming the
// cause, no blob, and an upload that can be retried once there is room.
TEST_F(DistributionTest, AFullDiskFailsTheUploadClearlyAndLeavesNothingVisible) {
  CreateRepository("app");
  std::string bytes(100, 'x');
  std::string digest = Digest::Sha256Of(bytes).ToString();
  std::string location = Header(Send({"POST", "/v2/app/blobs/uploads/"}), "location");
  ASSERT_FALSE(location.empty());
  ASSERT_EQ(Send({"PATCH", location, "0123456789"}).status, 202);

  env_.SetFreeSpace(10);
  for (bool stream : {true, false}) {
    http::Response put =
        Send({"POST", "/v2/app/blobs/uploads/?digest=" + digest, bytes, {}, stream});
    EXPECT_EQ(put.status, 500) << put.body;
    EXPECT_EQ(ErrorCode(put), "UNKNOWN");
    EXPECT_NE(put.body.find("No space left on device"), std::string::npos) << put.body;
    EXPECT_EQ(Send({"HEAD", "/v2/app/blobs/" + digest}).status, 404);
  }

  // Chunked: the chunk fails and the upload is back where it was.
  env_.SetFreeSpace(10);
  http::Response patch = Send({"PATCH", location, bytes, {{"content-range", "10-109"}}});
  EXPECT_EQ(patch.status, 500) << patch.body;
  EXPECT_EQ(ErrorCode(patch), "UNKNOWN");
  EXPECT_NE(patch.body.find("write upload"), std::string::npos) << patch.body;
  EXPECT_NE(patch.body.find("No space left on device"), std::string::npos) << patch.body;
  EXPECT_EQ(Header(Get(location), "range"), "0-9");

  // No blob file anywhere, whole or partial, that the store would serve.
  std::string shard = dir_.path() + "/blobs/blobs/sha256/" + digest.substr(7, 2);
  EXPECT_FALSE(std::filesystem::exists(shard + "/" + digest.substr(7)));

  // With room again the same chunk goes through and the blob completes.
  env_.ClearFaults();
  ASSERT_EQ(Send({"PATCH", location, bytes, {{"content-range", "10-109"}}}).status, 202);
  std::string whole = "0123456789" + bytes;
  std::string whole_digest = Digest::Sha256Of(whole).ToString();
  ASSERT_EQ(Send({"PUT", location + "?digest=" + whole_digest, ""}).status, 201);
  EXPECT_EQ(Body(Get("/v2/app/blobs/" + whole_digest)), whole);
  EXPECT_EQ(PushBlob("app", bytes), digest);
}

TEST_F(DistributionTest, AFailedFsyncAtCompletionStoresNoBlobAndTheUploadCanBeCompletedAgain) {
  CreateRepository("app");
  std::string bytes = "layer bytes";
  std::string digest = Digest::Sha256Of(bytes).ToString();
  std::string location = Header(Send({"POST", "/v2/app/blobs/uploads/"}), "location");
  ASSERT_EQ(Send({"PATCH", location, bytes}).status, 202);

  env_.Fail(FaultInjectionEnv::Op::kSync, "/uploads/", EIO, 1);
  http::Response failed = Send({"PUT", location + "?digest=" + digest, ""});
  EXPECT_EQ(failed.status, 500) << failed.body;
  EXPECT_EQ(ErrorCode(failed), "UNKNOWN");
  EXPECT_NE(failed.body.find("complete upload"), std::string::npos) << failed.body;
  EXPECT_NE(failed.body.find("Input/output error"), std::string::npos) << failed.body;
  EXPECT_EQ(Send({"HEAD", "/v2/app/blobs/" + digest}).status, 404);

  http::Response done = Send({"PUT", location + "?digest=" + digest, ""});
  ASSERT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(Body(Get("/v2/app/blobs/" + digest)), bytes);
}

}  // namespace
}  // namespace berth::registry
