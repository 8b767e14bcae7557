#include "registry/ecr_api.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <optional>
#include <string>
#include <variant>

#include "common/base64.h"
#include "registry/auth_token.h"
#include "registry/distribution.h"
#include "registry/ecr_shapes.h"
#include "registry/registry_test_util.h"

namespace berth::registry {
namespace {

namespace json = boost::json;

constexpr int64_t kNow = 1'800'000'000'000;  // milliseconds
constexpr int64_t kDay = 24 * 3600 * 1000LL;
constexpr std::string_view kKey = "AKIDEXAMPLE";
constexpr std::string_view kLayerType = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr std::string_view kConfigType = "application/vnd.oci.image.config.v1+json";

std::optional<std::string> Lookup(std::string_view id) {
  if (id == kKey) return std::string("secret");
  return std::nullopt;
}

class EcrApiTest : public testing::RegistryFixture {
 protected:
  void SetUp() override {
    RegistryFixture::SetUp();
    api_ = std::make_unique<EcrApi>(*state_, *blobs_, Lookup, clock_, tracker_, ArnScope{},
                                    "http://127.0.0.1:8080");
    ctx_.access_key_id = kKey;
    ctx_.now_millis = kNow;
  }

  // Runs an operation as the endpoint does: validation against the ECR
  // model, then the call. Throws ApiException on refusal.
  json::object Run(std::string_view op, std::string_view body) {
    json::value input = json::parse(body);
    if (auto error = api_->Model().ValidateInput(op, input)) {
      throw ApiException(error->type, error->message);
    }
    awsjson::Reply reply = api_->Call(op, input.as_object(), ctx_);
    return reply.body.as_object();
  }

  json::object Ok(std::string_view op, std::string_view body) {
    try {
      return Run(op, body);
    } catch (const ApiException& e) {
      ADD_FAILURE() << op << " " << body << ": " << e.error().type << ": " << e.error().message;
      return {};
    }
  }

  json::object Ok(std::string_view op, const json::object& body) {
    return Ok(op, json::serialize(body));
  }

  // The exception type op answers with ("" if it succeeds); its message is
  // kept in last_message_.
  std::string Error(std::string_view op, std::string_view body) {
    try {
      Run(op, body);
      return "";
    } catch (const ApiException& e) {
      last_message_ = e.error().message;
      return e.error().type;
    }
  }

  std::string Error(std::string_view op, const json::object& body) {
    return Error(op, json::serialize(body));
  }

  void Create(std::string_view name, std::string_view extra = "") {
    Ok("CreateRepository",
       R"({"repositoryName":")" + std::string(name) + "\"" + std::string(extra) + "}");
  }

  // Uploads bytes through InitiateLayerUpload / UploadLayerPart /
  // CompleteLayerUpload in parts of at most part_size bytes.
  std::string Upload(std::string_view repo, std::string_view bytes, size_t part_size = 4) {
    std::string upload =
        std::string(Ok("InitiateLayerUpload", json::object{{"repositoryName", repo}})
                        .at("uploadId")
                        .as_string());
    for (size_t first = 0; first < bytes.size(); first += part_size) {
      std::string_view part = bytes.substr(first, part_size);
      json::object reply =
          Ok("UploadLayerPart", json::object{{"repositoryName", repo},
                                             {"uploadId", upload},
                                             {"partFirstByte", first},
                                             {"partLastByte", first + part.size() - 1},
                                             {"layerPartBlob", Base64Encode(part)}});
      EXPECT_EQ(reply["lastByteReceived"].as_int64(), int64_t(first + part.size() - 1));
    }
    std::string digest = Digest::Sha256Of(bytes).ToString();
    json::object done = Ok(
        "CompleteLayerUpload",
        json::object{{"repositoryName", repo}, {"uploadId", upload}, {"layerDigests", {digest}}});
    EXPECT_EQ(done["layerDigest"], json::value(digest));
    return digest;
  }

  // Pushes an image through the ECR API at time now (tag may be empty: then
  // the image is pushed by digest, untagged). Returns its digest.
  std::string PushAt(std::string_view repo, std::string_view tag, std::string_view layer_text,
                     int64_t now) {
    testing::BlobRef config =
        AddBlob(repo, "{\"layer\":\"" + std::string(layer_text) + "\"}", std::string(kConfigType));
    testing::BlobRef layer = AddBlob(repo, layer_text);
    std::string manifest = testing::ImageManifest(config, {layer});
    json::object in{{"repositoryName", repo}, {"imageManifest", manifest}};
    if (!tag.empty()) in["imageTag"] = tag;
    int64_t saved = ctx_.now_millis;
    ctx_.now_millis = now;
    json::object reply = Ok("PutImage", in);
    ctx_.now_millis = saved;
    return Digest::Sha256Of(manifest).ToString();
  }

  // Adds a tag to an existing image (PutImage of the same manifest).
  void AddTag(std::string_view repo, std::string_view digest, std::string_view tag) {
    json::object got =
        Ok("BatchGetImage", json::object{{"repositoryName", repo},
                                         {"imageIds", {json::object{{"imageDigest", digest}}}}});
    std::string manifest(got["images"].as_array()[0].as_object().at("imageManifest").as_string());
    Ok("PutImage",
       json::object{{"repositoryName", repo}, {"imageManifest", manifest}, {"imageTag", tag}});
  }

  FakeClock clock_{kNow};
  std::unique_ptr<EcrApi> api_;
  awsjson::CallContext ctx_;
  std::string last_message_;
};

std::vector<std::string> Strings(const json::array& a, std::string_view member = "") {
  std::vector<std::string> out;
  for (const auto& v : a) {
    const json::value& s = member.empty() ? v : v.as_object().at(member);
    out.emplace_back(s.as_string());
  }
  return out;
}

// --- repositories ---

TEST_F(EcrApiTest, CreateRepositoryReturnsTheEcrShape) {
  json::object reply = Ok("CreateRepository", R"({"repositoryName":"team/trainer",
      "imageTagMutability":"IMMUTABLE","imageScanningConfiguration":{"scanOnPush":true},
      "tags":[{"Key":"team","Value":"ml"}]})");
  const json::object& repo = reply["repository"].as_object();
  EXPECT_EQ(repo.at("repositoryName"), "team/trainer");
  EXPECT_EQ(repo.at("repositoryArn"), "arn:aws:ecr:us-east-1:000000000000:repository/team/trainer");
  EXPECT_EQ(repo.at("registryId"), "000000000000");
  EXPECT_EQ(repo.at("repositoryUri"), "localhost:5000/team/trainer");
  EXPECT_EQ(repo.at("imageTagMutability"), "IMMUTABLE");
  EXPECT_EQ(repo.at("imageScanningConfiguration").at("scanOnPush"), true);
  EXPECT_EQ(repo.at("encryptionConfiguration").at("encryptionType"), "AES256");
  EXPECT_EQ(repo.at("createdAt").to_number<double>(), kNow / 1000.0);
}

TEST_F(EcrApiTest, CreateRepositoryRefusals) {
  Create("trainer");
  EXPECT_EQ(Error("CreateRepository", R"({"repositoryName":"trainer"})"),
            "RepositoryAlreadyExistsException");
  // The model's pattern refuses capitals and a one-character name.
  EXPECT_EQ(Error("CreateRepository", R"({"repositoryName":"Trainer"})"),
            "InvalidParameterException");
  EXPECT_EQ(Error("CreateRepository", R"({"repositoryName":"t"})"), "InvalidParameterException");
  EXPECT_EQ(Error("CreateRepository", R"({"repositoryName":"x1","registryId":"123456789012"})"),
            "InvalidParameterException");
  EXPECT_EQ(Error("CreateRepository", R"({"repositoryName":"x1",
      "encryptionConfiguration":{"encryptionType":"AES256","kmsKey":"k"}})"),
            "InvalidParameterException");
  EXPECT_EQ(Error("CreateRepository", R"({"repositoryName":"x1","tags":[{"Key":"aws:x"}]})"),
            "InvalidTagParameterException");
  json::array many;
  for (int i = 0; i < 51; ++i) many.push_back(json::object{{"Key", "k" + std::to_string(i)}});
  EXPECT_EQ(Error("CreateRepository", json::object{{"repositoryName", "x1"}, {"tags", many}}),
            "TooManyTagsException");
  // Nothing was created by the refused calls.
  EXPECT_EQ(Error("DescribeRepositories", R"({"repositoryNames":["x1"]})"),
            "RepositoryNotFoundException");
}

TEST_F(EcrApiTest, DescribeRepositoriesByNameAndByPage) {
  for (auto name : {"alpha", "beta", "gamma"}) Create(name);
  json::object named = Ok("DescribeRepositories", R"({"repositoryNames":["gamma","alpha"]})");
  EXPECT_EQ(Strings(named["repositories"].as_array(), "repositoryName"),
            (std::vector<std::string>{"gamma", "alpha"}));
  EXPECT_EQ(Error("DescribeRepositories", R"({"repositoryNames":["alpha","nope"]})"),
            "RepositoryNotFoundException");
  EXPECT_NE(last_message_.find("'nope'"), std::string::npos);
  EXPECT_EQ(Error("DescribeRepositories", R"({"repositoryNames":["alpha"],"maxResults":1})"),
            "InvalidParameterException");

  json::object first = Ok("DescribeRepositories", R"({"maxResults":2})");
  EXPECT_EQ(Strings(first["repositories"].as_array(), "repositoryName"),
            (std::vector<std::string>{"alpha", "beta"}));
  ASSERT_TRUE(first.contains("nextToken"));
  json::object second = Ok("DescribeRepositories",
                           json::object{{"maxResults", 2}, {"nextToken", first["nextToken"]}});
  EXPECT_EQ(Strings(second["repositories"].as_array(), "repositoryName"),
            (std::vector<std::string>{"gamma"}));
  EXPECT_FALSE(second.contains("nextToken"));
  EXPECT_EQ(Error("DescribeRepositories", R"({"nextToken":"forged"})"),
            "InvalidParameterException");
}

TEST_F(EcrApiTest, DeleteRepositoryNeedsForceWhenItHoldsImages) {
  Create("trainer");
  PushAt("trainer", "v1", "layer", kNow);
  EXPECT_EQ(Error("DeleteRepository", R"({"repositoryName":"trainer"})"),
            "RepositoryNotEmptyException");
  json::object deleted = Ok("DeleteRepository", R"({"repositoryName":"trainer","force":true})");
  EXPECT_EQ(deleted["repository"].at("repositoryName"), "trainer");
  EXPECT_EQ(Error("DeleteRepository", R"({"repositoryName":"trainer"})"),
            "RepositoryNotFoundException");
  Create("empty");
  Ok("DeleteRepository", R"({"repositoryName":"empty"})");
}

TEST_F(EcrApiTest, TagMutabilityAndScanningSettings) {
  Create("trainer");
  json::object reply = Ok("PutImageTagMutability",
                          R"({"repositoryName":"trainer","imageTagMutability":"IMMUTABLE"})");
  EXPECT_EQ(reply["imageTagMutability"], "IMMUTABLE");
  EXPECT_EQ(reply["registryId"], "000000000000");
  reply = Ok("PutImageScanningConfiguration",
             R"({"repositoryName":"trainer","imageScanningConfiguration":{"scanOnPush":true}})");
  EXPECT_EQ(reply["imageScanningConfiguration"].at("scanOnPush"), true);
  json::object described = Ok("DescribeRepositories", R"({"repositoryNames":["trainer"]})");
  const json::object& repo = described["repositories"].as_array()[0].as_object();
  EXPECT_EQ(repo.at("imageTagMutability"), "IMMUTABLE");
  EXPECT_EQ(repo.at("imageScanningConfiguration").at("scanOnPush"), true);
  EXPECT_EQ(
      Error("PutImageTagMutability", R"({"repositoryName":"nope","imageTagMutability":"MUTABLE"})"),
      "RepositoryNotFoundException");
}

// --- resource tags ---

TEST_F(EcrApiTest, TagsOnRepositoryArns) {
  Create("trainer", R"(,"tags":[{"Key":"team","Value":"ml"}])");
  const std::string arn = "arn:aws:ecr:us-east-1:000000000000:repository/trainer";
  Ok("TagResource", json::object{{"resourceArn", arn},
                                 {"tags",
                                  {json::object{{"Key", "team"}, {"Value", "infra"}},
                                   json::object{{"Key", "cost"}, {"Value", "7"}}}}});
  json::object listed = Ok("ListTagsForResource", json::object{{"resourceArn", arn}});
  EXPECT_EQ(json::serialize(listed["tags"]),
            R"([{"Key":"team","Value":"infra"},{"Key":"cost","Value":"7"}])");
  Ok("UntagResource", json::object{{"resourceArn", arn}, {"tagKeys", {"team"}}});
  listed = Ok("ListTagsForResource", json::object{{"resourceArn", arn}});
  EXPECT_EQ(json::serialize(listed["tags"]), R"([{"Key":"cost","Value":"7"}])");

  EXPECT_EQ(Error("ListTagsForResource",
                  R"({"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/x"})"),
            "InvalidParameterException");
  EXPECT_EQ(Error("ListTagsForResource", R"({"resourceArn":"not-an-arn"})"),
            "InvalidParameterException");
  EXPECT_EQ(Error("ListTagsForResource",
                  R"({"resourceArn":"arn:aws:ecr:us-east-1:000000000000:repository/nope"})"),
            "RepositoryNotFoundException");
  json::array many;
  for (int i = 0; i < 50; ++i) many.push_back(json::object{{"Key", "k" + std::to_string(i)}});
  // 50 new keys plus "cost" make 51.
  EXPECT_EQ(Error("TagResource", json::object{{"resourceArn", arn}, {"tags", many}}),
            "TooManyTagsException");
}

// --- layers and images ---

TEST_F(EcrApiTest, UploadLayersThenPutImageThenGetTheSameBytes) {
  Create("trainer");
  std::string config_bytes = R"({"architecture":"amd64","os":"linux"})";
  std::string layer_bytes = "pretend this is a gzipped tar of the model";
  std::string config = Upload("trainer", config_bytes);
  std::string layer = Upload("trainer", layer_bytes, 7);

  // A manifest written with unusual spacing: it must come back unchanged.
  std::string manifest =
      "{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"" + std::string(kOciManifestType) +
      "\",\n  \"config\": {\"mediaType\": \"" + std::string(kConfigType) + "\", \"digest\": \"" +
      config + "\", \"size\": " + std::to_string(config_bytes.size()) +
      "},\n  \"layers\": [{\"mediaType\": \"" + std::string(kLayerType) + "\", \"digest\": \"" +
      layer + "\", \"size\": " + std::to_string(layer_bytes.size()) + "}]\n}\n";
  std::string digest = Digest::Sha256Of(manifest).ToString();
  json::object put = Ok("PutImage", json::object{{"repositoryName", "trainer"},
                                                 {"imageManifest", manifest},
                                                 {"imageManifestMediaType", kOciManifestType},
                                                 {"imageTag", "v1"},
                                                 {"imageDigest", digest}});
  EXPECT_EQ(put["image"].at("imageId").at("imageDigest"), json::value(digest));
  EXPECT_EQ(put["image"].at("imageId").at("imageTag"), "v1");
  EXPECT_EQ(put["image"].at("imageManifestMediaType"), json::value(kOciManifestType));

  json::object got = Ok("BatchGetImage", R"({"repositoryName":"trainer",
      "imageIds":[{"imageTag":"v1"}]})");
  ASSERT_EQ(got["images"].as_array().size(), 1u);
  const json::object& image = got["images"].as_array()[0].as_object();
  EXPECT_EQ(image.at("imageManifest").as_string(), manifest);
  EXPECT_EQ(image.at("imageManifestMediaType"), json::value(kOciManifestType));
  EXPECT_EQ(image.at("imageId").at("imageDigest"), json::value(digest));
  EXPECT_EQ(image.at("imageId").at("imageTag"), "v1");
  EXPECT_TRUE(got["failures"].as_array().empty());

  // The same manifest and tag again changes nothing: ECR says so.
  EXPECT_EQ(Error("PutImage", json::object{{"repositoryName", "trainer"},
                                           {"imageManifest", manifest},
                                           {"imageTag", "v1"}}),
            "ImageAlreadyExistsException");
  // Another tag for it is fine.
  Ok("PutImage",
     json::object{{"repositoryName", "trainer"}, {"imageManifest", manifest}, {"imageTag", "v2"}});

  json::object layers =
      Ok("BatchCheckLayerAvailability",
         json::object{{"repositoryName", "trainer"},
                      {"layerDigests", {layer, "sha256:" + std::string(64, 'a'), "md5:abc"}}});
  const json::array& found = layers["layers"].as_array();
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].at("layerDigest"), json::value(layer));
  EXPECT_EQ(found[0].at("layerAvailability"), "AVAILABLE");
  EXPECT_EQ(found[0].at("layerSize").to_number<int64_t>(), int64_t(layer_bytes.size()));
  EXPECT_EQ(found[0].at("mediaType"), json::value(kLayerType));
  EXPECT_EQ(found[1].at("layerAvailability"), "UNAVAILABLE");
  EXPECT_FALSE(found[1].as_object().contains("layerSize"));
  ASSERT_EQ(layers["failures"].as_array().size(), 1u);
  EXPECT_EQ(layers["failures"].as_array()[0].at("failureCode"), "InvalidLayerDigest");

  json::object url = Ok("GetDownloadUrlForLayer",
                        json::object{{"repositoryName", "trainer"}, {"layerDigest", layer}});
  EXPECT_TRUE(url["downloadUrl"].as_string().starts_with("http://127.0.0.1:8080/v2/trainer/blobs/" +
                                                         layer + "?X-Amz-Algorithm="));
}

// The downloadUrl is presigned, as ECR's: it downloads its layer from the
// registry with no other credentials, and grants nothing else.
TEST_F(EcrApiTest, DownloadUrlDownloadsOnlyItsLayer) {
  Create("trainer");
  Create("other");
  PushAt("trainer", "v1", "layer bytes", kNow);
  PushAt("other", "v1", "layer bytes", kNow);
  std::string layer = Digest::Sha256Of("layer bytes").ToString();
  std::string config = Digest::Sha256Of(R"({"layer":"layer bytes"})").ToString();
  std::string url(Ok("GetDownloadUrlForLayer",
                     json::object{{"repositoryName", "trainer"}, {"layerDigest", layer}})
                      .at("downloadUrl")
                      .as_string());
  constexpr std::string_view kBase = "http://127.0.0.1:8080";
  ASSERT_TRUE(url.starts_with(kBase)) << url;
  std::string target = url.substr(kBase.size());
  EXPECT_TRUE(
      target.starts_with("/v2/trainer/blobs/" + layer +
                         "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F"))
      << target;
  EXPECT_NE(target.find("&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature="),
            std::string::npos)
      << target;
  std::string query = target.substr(target.find('?'));

  Distribution registry(*state_, *blobs_, Lookup, clock_, tracker_);
  auto send = [&](std::string method, std::string to, std::string body = "") {
    http::Request request;
    request.method = std::move(method);
    request.target = std::move(to);
    request.headers = {{"host", "127.0.0.1:8080"}};
    request.body = std::move(body);
    std::optional<http::Response> reply;
    registry.Handle(std::move(request), [&](http::Response r) { reply = std::move(r); });
    EXPECT_TRUE(reply.has_value());
    return reply.value_or(http::Response{});
  };
  auto refused = [&](std::string method, std::string to, std::string body = "") {
    http::Response r = send(method, to, std::move(body));
    EXPECT_EQ(r.status, 401) << method << " " << to << ": " << r.body;
    // A HEAD reply has no body to carry the error code.
    if (method != "HEAD") EXPECT_NE(r.body.find("UNAUTHORIZED"), std::string::npos) << r.body;
  };

  http::Response got = send("GET", target);
  ASSERT_EQ(got.status, 200) << got.body;
  std::string bytes = got.body_file.empty()
                          ? got.body
                          : testing::ReadFile(got.body_file, got.file_offset, got.file_length);
  EXPECT_EQ(bytes, "layer bytes");
  EXPECT_EQ(Digest::Sha256Of(bytes).ToString(), layer);

  // Another blob, repository or resource under the same signature.
  refused("GET", "/v2/trainer/blobs/" + config + query);
  refused("GET", "/v2/other/blobs/" + layer + query);
  refused("GET", "/v2/trainer/manifests/v1" + query);
  refused("GET", "/v2/trainer/tags/list" + query);
  // A path that SigV4 normalises to the signed one, but that is routed as sent.
  refused("GET", "/v2/trainer//blobs/" + layer + query);
  refused("GET", "/v2/other/../trainer/blobs/" + layer + query);
  // Other methods, on the signed path or elsewhere.
  refused("HEAD", target);
  refused("DELETE", target);
  refused("PUT", target, "x");
  refused("POST", "/v2/trainer/blobs/uploads/" + query);
  refused("PUT", "/v2/trainer/manifests/v2" + query, "{}");
  // A changed signature, and the URL once it has expired.
  std::string forged = target;
  forged.back() = forged.back() == '0' ? '1' : '0';
  refused("GET", forged);
  clock_.Advance((kDownloadUrlLifetimeSeconds + 1) * 1000);
  refused("GET", target);
}

TEST_F(EcrApiTest, LayerUploadRefusals) {
  EXPECT_EQ(Error("InitiateLayerUpload", R"({"repositoryName":"nope"})"),
            "RepositoryNotFoundException");
  Create("trainer");
  std::string upload(
      Ok("InitiateLayerUpload", R"({"repositoryName":"trainer"})")["uploadId"].as_string());
  auto part = [&](int64_t first, std::string_view bytes) {
    return json::object{{"repositoryName", "trainer"},
                        {"uploadId", upload},
                        {"partFirstByte", first},
                        {"partLastByte", first + int64_t(bytes.size()) - 1},
                        {"layerPartBlob", Base64Encode(bytes)}};
  };
  // Nothing uploaded yet: completing is refused as empty (and ends it).
  std::string some_digest = Digest::Sha256Of("abc").ToString();
  EXPECT_EQ(Error("CompleteLayerUpload", json::object{{"repositoryName", "trainer"},
                                                      {"uploadId", upload},
                                                      {"layerDigests", {some_digest}}}),
            "EmptyUploadException");
  EXPECT_EQ(Error("UploadLayerPart", part(0, "abc")), "UploadNotFoundException");

  upload = std::string(
      Ok("InitiateLayerUpload", R"({"repositoryName":"trainer"})")["uploadId"].as_string());
  Ok("UploadLayerPart", part(0, "abc"));
  // Out of order: the next part must start at byte 3.
  EXPECT_EQ(Error("UploadLayerPart", part(5, "def")), "InvalidLayerPartException");
  EXPECT_NE(last_message_.find("last valid byte received is 2"), std::string::npos);
  EXPECT_EQ(Error("UploadLayerPart", part(0, "abc")), "InvalidLayerPartException");
  json::object bad_last = part(3, "def");
  bad_last["partLastByte"] = 9;
  EXPECT_EQ(Error("UploadLayerPart", bad_last), "InvalidLayerPartException");
  // The digest of other bytes: the upload is refused, and gone.
  EXPECT_EQ(Error("CompleteLayerUpload",
                  json::object{{"repositoryName", "trainer"},
                               {"uploadId", upload},
                               {"layerDigests", {Digest::Sha256Of("xyz").ToString()}}}),
            "InvalidLayerException");
  EXPECT_EQ(Error("UploadLayerPart", part(3, "def")), "UploadNotFoundException");
  EXPECT_EQ(
      Error("UploadLayerPart", json::object{{"repositoryName", "trainer"},
                                            {"uploadId", "01234567-89ab-cdef-0123-456789abcdef"},
                                            {"partFirstByte", 0},
                                            {"partLastByte", 0},
                                            {"layerPartBlob", Base64Encode("a")}}),
      "UploadNotFoundException");

  // A layer the repository already has.
  std::string digest = Upload("trainer", "abc");
  upload = std::string(
      Ok("InitiateLayerUpload", R"({"repositoryName":"trainer"})")["uploadId"].as_string());
  Ok("UploadLayerPart", part(0, "abc"));
  EXPECT_EQ(Error("CompleteLayerUpload", json::object{{"repositoryName", "trainer"},
                                                      {"uploadId", upload},
                                                      {"layerDigests", {digest}}}),
            "LayerAlreadyExistsException");

  // Uploaded but used by no image: not downloadable, as in ECR.
  EXPECT_EQ(Error("GetDownloadUrlForLayer",
                  json::object{{"repositoryName", "trainer"}, {"layerDigest", digest}}),
            "LayerInaccessibleException");
  EXPECT_EQ(Error("GetDownloadUrlForLayer",
                  json::object{{"repositoryName", "trainer"},
                               {"layerDigest", Digest::Sha256Of("zzz").ToString()}}),
            "LayersNotFoundException");
}

TEST_F(EcrApiTest, PutImageRefusals) {
  testing::BlobRef missing = testing::RefTo("never uploaded", std::string(kLayerType));
  testing::BlobRef config_ref = testing::RefTo("{}", std::string(kConfigType));
  std::string manifest = testing::ImageManifest(config_ref, {missing});
  EXPECT_EQ(
      Error("PutImage", json::object{{"repositoryName", "nope"}, {"imageManifest", manifest}}),
      "RepositoryNotFoundException");
  Create("trainer");
  AddBlob("trainer", "{}", std::string(kConfigType));
  EXPECT_EQ(Error("PutImage", json::object{{"repositoryName", "trainer"},
                                           {"imageManifest", manifest},
                                           {"imageTag", "v1"}}),
            "LayersNotFoundException");
  EXPECT_EQ(Error("PutImage", json::object{{"repositoryName", "trainer"},
                                           {"imageManifest", manifest},
                                           {"imageDigest", Digest::Sha256Of("x").ToString()}}),
            "ImageDigestDoesNotMatchException");
  EXPECT_EQ(Error("PutImage", R"({"repositoryName":"trainer","imageManifest":"not json"})"),
            "InvalidParameterException");

  // An immutable repository keeps a tag on its first image.
  Create("frozen", R"(,"imageTagMutability":"IMMUTABLE")");
  PushAt("frozen", "v1", "one", kNow);
  testing::BlobRef config = AddBlob("frozen", "{\"layer\":\"two\"}", std::string(kConfigType));
  testing::BlobRef layer = AddBlob("frozen", "two");
  EXPECT_EQ(
      Error("PutImage", json::object{{"repositoryName", "frozen"},
                                     {"imageManifest", testing::ImageManifest(config, {layer})},
                                     {"imageTag", "v1"}}),
      "ImageTagAlreadyExistsException");
}

TEST_F(EcrApiTest, ListImagesHasOneEntryPerTagAndPerUntaggedImage) {
  Create("trainer");
  std::string a = PushAt("trainer", "v1", "a", kNow);
  AddTag("trainer", a, "latest");
  std::string b = PushAt("trainer", "", "b", kNow);

  json::object all = Ok("ListImages", R"({"repositoryName":"trainer"})");
  std::vector<std::string> entries;
  for (const auto& v : all["imageIds"].as_array()) entries.push_back(json::serialize(v));
  std::vector<std::string> expected = {
      json::serialize(ImageIdJson(a, "latest")),
      json::serialize(ImageIdJson(a, "v1")),
      json::serialize(ImageIdJson(b, "")),
  };
  if (b < a) std::rotate(expected.begin(), expected.begin() + 2, expected.end());
  EXPECT_EQ(entries, expected);

  json::object tagged =
      Ok("ListImages", R"({"repositoryName":"trainer","filter":{"tagStatus":"TAGGED"}})");
  EXPECT_EQ(tagged["imageIds"].as_array().size(), 2u);
  json::object untagged =
      Ok("ListImages", R"({"repositoryName":"trainer","filter":{"tagStatus":"UNTAGGED"}})");
  ASSERT_EQ(untagged["imageIds"].as_array().size(), 1u);
  EXPECT_EQ(untagged["imageIds"].as_array()[0], ImageIdJson(b, ""));

  // Page by page, the same entries.
  std::vector<std::string> paged;
  json::object request{{"repositoryName", "trainer"}, {"maxResults", 1}};
  for (int pages = 0; pages < 10; ++pages) {
    json::object page = Ok("ListImages", request);
    for (const auto& v : page["imageIds"].as_array()) paged.push_back(json::serialize(v));
    if (!page.contains("nextToken")) break;
    request["nextToken"] = page["nextToken"];
  }
  EXPECT_EQ(paged, expected);
  EXPECT_EQ(Error("ListImages", R"({"repositoryName":"nope"})"), "RepositoryNotFoundException");
}

TEST_F(EcrApiTest, DescribeImages) {
  Create("trainer");
  std::string a = PushAt("trainer", "v1", "a", kNow - 5000);
  std::string b = PushAt("trainer", "", "b", kNow);
  json::object all = Ok("DescribeImages", R"({"repositoryName":"trainer"})");
  ASSERT_EQ(all["imageDetails"].as_array().size(), 2u);
  json::object one = Ok("DescribeImages", R"({"repositoryName":"trainer",
      "imageIds":[{"imageTag":"v1"}]})");
  ASSERT_EQ(one["imageDetails"].as_array().size(), 1u);
  const json::object& detail = one["imageDetails"].as_array()[0].as_object();
  EXPECT_EQ(detail.at("registryId"), "000000000000");
  EXPECT_EQ(detail.at("repositoryName"), "trainer");
  EXPECT_EQ(detail.at("imageDigest"), json::value(a));
  EXPECT_EQ(json::serialize(detail.at("imageTags")), R"(["v1"])");
  // config + layer: {"layer":"a"} is 13 bytes, "a" is 1.
  EXPECT_EQ(detail.at("imageSizeInBytes").to_number<int64_t>(), 14);
  EXPECT_EQ(detail.at("imagePushedAt").to_number<double>(), (kNow - 5000) / 1000.0);
  EXPECT_EQ(detail.at("imageManifestMediaType"), json::value(kOciManifestType));
  EXPECT_EQ(detail.at("artifactMediaType"), json::value(kConfigType));

  json::object untagged =
      Ok("DescribeImages", R"({"repositoryName":"trainer","filter":{"tagStatus":"UNTAGGED"}})");
  ASSERT_EQ(untagged["imageDetails"].as_array().size(), 1u);
  EXPECT_EQ(untagged["imageDetails"].as_array()[0].at("imageDigest"), json::value(b));
  EXPECT_FALSE(untagged["imageDetails"].as_array()[0].as_object().contains("imageTags"));

  EXPECT_EQ(
      Error("DescribeImages", R"({"repositoryName":"trainer","imageIds":[{"imageTag":"v9"}]})"),
      "ImageNotFoundException");
  EXPECT_NE(last_message_.find("imageTag:'v9'"), std::string::npos);
  EXPECT_EQ(
      Error("DescribeImages",
            json::object{{"repositoryName", "trainer"},
                         {"imageIds", {json::object{{"imageTag", "v1"}, {"imageDigest", b}}}}}),
      "ImageNotFoundException");
}

TEST_F(EcrApiTest, BatchGetImageFailures) {
  Create("trainer");
  std::string a = PushAt("trainer", "v1", "a", kNow);
  std::string b = PushAt("trainer", "v2", "b", kNow);
  json::object got = Ok(
      "BatchGetImage",
      json::object{
          {"repositoryName", "trainer"},
          {"imageIds",
           {json::object{{"imageDigest", a}}, json::object{{"imageTag", "v9"}},
            json::object{{"imageTag", "v1"}, {"imageDigest", b}},
            json::object{{"imageDigest", "sha256:short"}}, json::object{{"imageTag", "-bad"}}}}});
  ASSERT_EQ(got["images"].as_array().size(), 1u);
  EXPECT_EQ(got["images"].as_array()[0].at("imageId"), ImageIdJson(a, ""));
  std::vector<std::string> codes = Strings(got["failures"].as_array(), "failureCode");
  EXPECT_EQ(codes, (std::vector<std::string>{"ImageNotFound", "ImageTagDoesNotMatchDigest",
                                             "InvalidImageDigest", "InvalidImageTag"}));

  json::object docker_only =
      Ok("BatchGetImage", json::object{{"repositoryName", "trainer"},
                                       {"imageIds", {json::object{{"imageTag", "v1"}}}},
                                       {"acceptedMediaTypes", {kDockerManifestType}}});
  EXPECT_TRUE(docker_only["images"].as_array().empty());
  ASSERT_EQ(docker_only["failures"].as_array().size(), 1u);
  EXPECT_EQ(docker_only["failures"].as_array()[0].at("failureCode"), "UnsupportedImageType");
  EXPECT_EQ(Error("BatchGetImage", R"({"repositoryName":"nope","imageIds":[{"imageTag":"v1"}]})"),
            "RepositoryNotFoundException");
}

TEST_F(EcrApiTest, BatchDeleteImageByTagAndByDigest) {
  Create("trainer");
  std::string a = PushAt("trainer", "v1", "a", kNow);
  AddTag("trainer", a, "latest");
  std::string b = PushAt("trainer", "v2", "b", kNow);
  std::string c = PushAt("trainer", "v3", "c", kNow);

  // a keeps "latest" after losing "v1"; b loses its only tag and goes.
  json::object deleted = Ok("BatchDeleteImage", R"({"repositoryName":"trainer",
          "imageIds":[{"imageTag":"v1"},{"imageTag":"v2"},{"imageTag":"nope"}]})");
  EXPECT_EQ(deleted["imageIds"].as_array().size(), 2u);
  ASSERT_EQ(deleted["failures"].as_array().size(), 1u);
  EXPECT_EQ(deleted["failures"].as_array()[0].at("failureCode"), "ImageNotFound");
  json::object listed = Ok("ListImages", R"({"repositoryName":"trainer"})");
  std::vector<std::string> digests = Strings(listed["imageIds"].as_array(), "imageDigest");
  std::sort(digests.begin(), digests.end());
  std::vector<std::string> expected = {a, c};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(digests, expected);

  // By digest the image goes with all its tags.
  deleted = Ok("BatchDeleteImage", json::object{{"repositoryName", "trainer"},
                                                {"imageIds", {json::object{{"imageDigest", c}}}}});
  ASSERT_EQ(deleted["imageIds"].as_array().size(), 1u);
  EXPECT_EQ(deleted["imageIds"].as_array()[0], ImageIdJson(c, "v3"));
  deleted = Ok("BatchDeleteImage", json::object{{"repositoryName", "trainer"},
                                                {"imageIds", {json::object{{"imageDigest", c}}}}});
  EXPECT_EQ(deleted["failures"].as_array()[0].at("failureCode"), "ImageNotFound");
  listed = Ok("ListImages", R"({"repositoryName":"trainer"})");
  EXPECT_EQ(json::serialize(listed["imageIds"]),
            json::serialize(json::array{ImageIdJson(a, "latest")}));
}

// --- authorization ---

TEST_F(EcrApiTest, AuthorizationTokenVerifiesAsRegistryCredentials) {
  json::object reply = Ok("GetAuthorizationToken", "{}");
  ASSERT_EQ(reply["authorizationData"].as_array().size(), 1u);
  const json::object& data = reply["authorizationData"].as_array()[0].as_object();
  EXPECT_EQ(data.at("proxyEndpoint"), "http://127.0.0.1:8080");
  int64_t expires = data.at("expiresAt").to_number<int64_t>();
  EXPECT_EQ(expires, kNow / 1000 + kRegistryTokenLifetimeSeconds);
  std::string token(data.at("authorizationToken").as_string());
  auto decoded = Base64Decode(token);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->starts_with("AWS:"));
  auto identity = VerifyRegistryAuthorization("Basic " + token, Lookup, kNow / 1000);
  ASSERT_TRUE(std::holds_alternative<RegistryIdentity>(identity))
      << std::get<std::string>(identity);
  EXPECT_EQ(std::get<RegistryIdentity>(identity).access_key_id, kKey);
  EXPECT_EQ(std::get<RegistryIdentity>(identity).expires_at_seconds, expires);
  // Past its expiry it is refused.
  EXPECT_FALSE(std::holds_alternative<RegistryIdentity>(
      VerifyRegistryAuthorization("Basic " + token, Lookup, expires + 1)));

  EXPECT_EQ(Error("GetAuthorizationToken", R"({"registryIds":["123456789012"]})"),
            "InvalidParameterException");
  ctx_.access_key_id = "AKIDGONE";
  EXPECT_EQ(Error("GetAuthorizationToken", "{}"), "UnrecognizedClientException");
}

// --- lifecycle policies ---

constexpr std::string_view kKeepOneUntagged = R"({"rules":[{"rulePriority":1,
    "description":"keep the newest untagged image","selection":{"tagStatus":"untagged",
    "countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]})";

json::object PolicyRequest(std::string_view repo, std::string_view text) {
  return json::object{{"repositoryName", repo}, {"lifecyclePolicyText", text}};
}

TEST_F(EcrApiTest, LifecyclePolicyCrud) {
  Create("trainer");
  EXPECT_EQ(Error("GetLifecyclePolicy", R"({"repositoryName":"trainer"})"),
            "LifecyclePolicyNotFoundException");
  EXPECT_EQ(Error("DeleteLifecyclePolicy", R"({"repositoryName":"trainer"})"),
            "LifecyclePolicyNotFoundException");
  // Valid JSON (and 100+ characters, as the model wants) but not a policy.
  std::string bad =
      R"({"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged",)"
      R"("countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]})";
  EXPECT_EQ(Error("PutLifecyclePolicy", PolicyRequest("trainer", bad)),
            "InvalidParameterException");
  EXPECT_NE(last_message_.find("tagPrefixList"), std::string::npos) << last_message_;
  EXPECT_EQ(Error("PutLifecyclePolicy", PolicyRequest("nope", kKeepOneUntagged)),
            "RepositoryNotFoundException");

  json::object put = Ok("PutLifecyclePolicy", PolicyRequest("trainer", kKeepOneUntagged));
  EXPECT_EQ(put["lifecyclePolicyText"], json::value(kKeepOneUntagged));
  json::object got = Ok("GetLifecyclePolicy", R"({"repositoryName":"trainer"})");
  EXPECT_EQ(got["lifecyclePolicyText"], json::value(kKeepOneUntagged));
  EXPECT_EQ(got["registryId"], "000000000000");
  json::object deleted = Ok("DeleteLifecyclePolicy", R"({"repositoryName":"trainer"})");
  EXPECT_EQ(deleted["lifecyclePolicyText"], json::value(kKeepOneUntagged));
  EXPECT_EQ(Error("GetLifecyclePolicy", R"({"repositoryName":"trainer"})"),
            "LifecyclePolicyNotFoundException");
}

TEST_F(EcrApiTest, LifecyclePreviewAndApplyExpireTheRightImages) {
  Create("trainer");
  // Three untagged images pushed 3, 2 and 1 days ago, and a tagged one pushed
  // 10 days ago. Rule 1 keeps one untagged image: u3 and u2 go. Rule 2
  // expires tagged "dev" images older than 5 days: d goes. The "prod" image
  // matches no rule and stays.
  std::string u3 = PushAt("trainer", "", "u3", kNow - 3 * kDay);
  std::string u2 = PushAt("trainer", "", "u2", kNow - 2 * kDay);
  std::string u1 = PushAt("trainer", "", "u1", kNow - 1 * kDay);
  std::string d = PushAt("trainer", "dev-1", "d", kNow - 10 * kDay);
  std::string p = PushAt("trainer", "prod-1", "p", kNow - 10 * kDay);
  const std::string policy = R"({"rules":[
      {"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan",
       "countNumber":1},"action":{"type":"expire"}},
      {"rulePriority":2,"selection":{"tagStatus":"tagged","tagPrefixList":["dev"],
       "countType":"sinceImagePushed","countUnit":"days","countNumber":5},
       "action":{"type":"expire"}}]})";

  EXPECT_EQ(Error("GetLifecyclePolicyPreview", R"({"repositoryName":"trainer"})"),
            "LifecyclePolicyPreviewNotFoundException");
  EXPECT_EQ(Error("StartLifecyclePolicyPreview", R"({"repositoryName":"trainer"})"),
            "LifecyclePolicyNotFoundException");
  json::object started = Ok("StartLifecyclePolicyPreview", PolicyRequest("trainer", policy));
  EXPECT_EQ(started["status"], "COMPLETE");
  json::object preview = Ok("GetLifecyclePolicyPreview", R"({"repositoryName":"trainer"})");
  EXPECT_EQ(preview["status"], "COMPLETE");
  EXPECT_EQ(preview["summary"].at("expiringImageTotalCount").to_number<int64_t>(), 3);
  // Oldest first: d (10 days, rule 2), u3, u2 (rule 1).
  const json::array& results = preview["previewResults"].as_array();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].at("imageDigest"), json::value(d));
  EXPECT_EQ(results[0].at("appliedRulePriority").to_number<int64_t>(), 2);
  EXPECT_EQ(json::serialize(results[0].at("imageTags")), R"(["dev-1"])");
  EXPECT_EQ(results[0].at("action").at("type"), "EXPIRE");
  EXPECT_EQ(results[1].at("imageDigest"), json::value(u3));
  EXPECT_EQ(results[2].at("imageDigest"), json::value(u2));
  EXPECT_EQ(results[2].at("appliedRulePriority").to_number<int64_t>(), 1);
  json::object tagged_only = Ok("GetLifecyclePolicyPreview",
                                R"({"repositoryName":"trainer","filter":{"tagStatus":"TAGGED"}})");
  EXPECT_EQ(tagged_only["previewResults"].as_array().size(), 1u);
  json::object paged =
      Ok("GetLifecyclePolicyPreview", R"({"repositoryName":"trainer","maxResults":2})");
  EXPECT_EQ(paged["previewResults"].as_array().size(), 2u);
  ASSERT_TRUE(paged.contains("nextToken"));
  json::object rest =
      Ok("GetLifecyclePolicyPreview",
         json::object{{"repositoryName", "trainer"}, {"nextToken", paged["nextToken"]}});
  ASSERT_EQ(rest["previewResults"].as_array().size(), 1u);
  EXPECT_EQ(rest["previewResults"].as_array()[0].at("imageDigest"), json::value(u2));

  // A preview changes nothing; nor does storing the policy, until applied.
  Ok("PutLifecyclePolicy", PolicyRequest("trainer", policy));
  EXPECT_EQ(
      Ok("DescribeImages", R"({"repositoryName":"trainer"})")["imageDetails"].as_array().size(),
      5u);
  auto expired = api_->ApplyLifecyclePolicies(kNow);
  ASSERT_TRUE(expired.ok()) << expired.status().ToString();
  std::vector<std::string> gone;
  for (const auto& e : *expired) gone.push_back(e.digest);
  EXPECT_EQ(gone, (std::vector<std::string>{d, u3, u2}));
  EXPECT_EQ((*expired)[0].tags, (std::vector<std::string>{"dev-1"}));
  EXPECT_EQ((*expired)[0].repository, "trainer");

  json::object left = Ok("DescribeImages", R"({"repositoryName":"trainer"})");
  std::vector<std::string> kept = Strings(left["imageDetails"].as_array(), "imageDigest");
  std::sort(kept.begin(), kept.end());
  std::vector<std::string> expected = {u1, p};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(kept, expected);
  json::object got = Ok("GetLifecyclePolicy", R"({"repositoryName":"trainer"})");
  EXPECT_EQ(got["lastEvaluatedAt"].to_number<double>(), kNow / 1000.0);

  // Applying again expires nothing more.
  auto again = api_->ApplyLifecyclePolicy("trainer", kNow);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(api_->ApplyLifecyclePolicy("nope", kNow).status().code(), StatusCode::kNotFound);
}

// --- pieces ---

TEST(EcrShapes, UploadIdsRoundTripBetweenUuidAndHex) {
  std::string hex = "0123456789abcdef0123456789abcdef";
  auto uuid = EcrUploadId(hex);
  ASSERT_TRUE(uuid);
  EXPECT_EQ(*uuid, "01234567-89ab-cdef-0123-456789abcdef");
  EXPECT_EQ(BlobStoreUploadId(*uuid), hex);
  EXPECT_EQ(BlobStoreUploadId("01234567-89AB-CDEF-0123-456789ABCDEF"), hex);
  EXPECT_FALSE(EcrUploadId("xyz"));
  EXPECT_FALSE(BlobStoreUploadId("0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(BlobStoreUploadId("01234567-89ab-cdef-0123-456789abcdeg"));
}

}  // namespace
}  // namespace berth::registry
