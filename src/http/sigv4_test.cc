#include "http/sigv4.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace berth::http {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The credentials and instant of the AWS SigV4 test suite.
constexpr char kSuiteKey[] = "AKIDEXAMPLE";
constexpr char kSuiteSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr int64_t kSuiteTime = 1440938160;  // 2015-08-30T12:36:00Z

constexpr char kKey[] = "AKIDBERTH";
constexpr char kSecret[] = "berth/secret+key";
constexpr int64_t kNow = 1795867200;  // 2026-11-28T12:00:00Z

SecretLookup Lookup() {
  return [](std::string_view key) -> std::optional<std::string> {
    static const std::map<std::string, std::string, std::less<>> kSecrets = {
        {kSuiteKey, kSuiteSecret}, {kKey, kSecret}, {"AKIDBOTOCORE", "botocore/secret+key"}};
    auto it = kSecrets.find(key);
    if (it == kSecrets.end()) return std::nullopt;
    return it->second;
  };
}

// Request has more fields than a test needs; this keeps -Wmissing-field-initializers quiet.
Request MakeRequest(std::string method, std::string target, Headers headers, std::string body) {
  Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.headers = std::move(headers);
  request.body = std::move(body);
  return request;
}

std::string* MutableHeader(Request& request, std::string_view name) {
  for (auto& [n, v] : request.headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

// Returns the identity, failing the test if verification was refused.
SigV4Identity ExpectVerified(const Request& request, int64_t now) {
  auto result = VerifySigV4(request, Lookup(), now);
  if (const auto* error = std::get_if<SigV4Error>(&result)) {
    ADD_FAILURE() << "refused: " << error->type << ": " << error->message;
    return {};
  }
  return std::get<SigV4Identity>(result);
}

SigV4Error ExpectRefused(const Request& request, int64_t now, std::string_view type) {
  auto result = VerifySigV4(request, Lookup(), now);
  if (std::holds_alternative<SigV4Identity>(result)) {
    ADD_FAILURE() << "verified, expected " << type;
    return {};
  }
  SigV4Error error = std::get<SigV4Error>(result);
  EXPECT_EQ(error.type, type) << error.message;
  return error;
}

constexpr char kMismatch[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

// --- The AWS SigV4 test suite (aws-sig-v4-test-suite), published expected signatures. ---

struct SuiteCase {
  const char* name;
  Request request;  // without x-amz-date and Authorization
  const char* signed_headers;
  const char* signature;
};

std::vector<SuiteCase> SuiteCases() {
  const Headers host = {{"host", "example.amazonaws.com"}};
  return {
      {"get-vanilla", MakeRequest("GET", "/", host, ""), "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-vanilla-query-order-key-case",
       MakeRequest("GET", "/?Param2=value2&Param1=value1", host, ""), "host;x-amz-date",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-vanilla-query-order-value",
       MakeRequest("GET", "/?Param1=value2&Param1=value1", host, ""), "host;x-amz-date",
       "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
      {"get-unreserved",
       MakeRequest("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                   host, ""),
       "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
      {"post-x-www-form-urlencoded",
       MakeRequest("POST", "/",
                   {{"content-type", "application/x-www-form-urlencoded"},
                    {"host", "example.amazonaws.com"}},
                   "Param1=value1"),
       "content-type;host;x-amz-date",
       "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
  };
}

std::string SuiteAuthorization(const SuiteCase& c) {
  return std::string(
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
             "aws4_request, SignedHeaders=") +
         c.signed_headers + ", Signature=" + c.signature;
}

TEST(SigV4SuiteTest, SignsAsPublished) {
  for (const SuiteCase& c : SuiteCases()) {
    SCOPED_TRACE(c.name);
    Request request = c.request;
    SignSigV4(request, {kSuiteKey, kSuiteSecret}, "us-east-1", "service", kSuiteTime);
    ASSERT_NE(request.Header("x-amz-date"), nullptr);
    EXPECT_EQ(*request.Header("x-amz-date"), "20150830T123600Z");
    ASSERT_NE(request.Header("authorization"), nullptr);
    EXPECT_EQ(*request.Header("authorization"), SuiteAuthorization(c));
  }
}

TEST(SigV4SuiteTest, VerifiesPublishedSignatures) {
  for (const SuiteCase& c : SuiteCases()) {
    SCOPED_TRACE(c.name);
    Request request = c.request;
    request.headers.emplace_back("x-amz-date", "20150830T123600Z");
    request.headers.emplace_back("authorization", SuiteAuthorization(c));
    SigV4Identity identity = ExpectVerified(request, kSuiteTime);
    EXPECT_EQ(identity.access_key_id, kSuiteKey);
    EXPECT_EQ(identity.region, "us-east-1");
    EXPECT_EQ(identity.service, "service");
  }
}

// get-header-value-trim: headers berth's signer would not sign, so only verification applies.
// The values carry surrounding and inner runs of spaces that canonicalisation must squeeze.
TEST(SigV4SuiteTest, VerifiesTrimmedHeaderValues) {
  Request request =
      MakeRequest("GET", "/",
                  {{"host", "example.amazonaws.com"},
                   {"my-header1", "  value1 "},
                   {"my-header2", " \"a   b   c\"\t"},
                   {"x-amz-date", "20150830T123600Z"},
                   {"authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                    "aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, "
                    "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"}},
                  "");
  ExpectVerified(request, kSuiteTime);
}

// --- Requests signed by botocore 1.29 (Debian's python3-botocore) at a fixed instant, to pin
// the parts of the canonical request the AWS suite leaves open: double-encoded paths, dot and
// empty segments, reserved characters in the query, the Date header and presigned URLs. ---

// aws ecs list-clusters, exactly as the CLI sends it (SigV4Auth at 2026-11-28T12:00:00Z).
Request BotocoreListClusters() {
  return MakeRequest(
      "POST", "/",
      {{"x-amz-target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
       {"content-type", "application/x-amz-json-1.1"},
       {"user-agent", "Botocore/1.29.27 Python/3.11.2 Linux/6.18.44-fc-v782 awscrt/1.0.0.dev0"},
       {"host", "127.0.0.1:8080"},
       {"x-amz-date", "20261128T120000Z"},
       {"authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDBERTH/20261128/us-east-1/ecs/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
        "Signature=9065adb0d890844621d4e50b9e34f255a9b5eb8a3cdd2d3cf986352af9df7665"},
       {"amz-sdk-invocation-id", "f425708f-864b-4bc3-ac44-f1b10b515e64"},
       {"amz-sdk-request", "attempt=1"},
       {"content-length", "2"}},
      "{}");
}

TEST(SigV4BotocoreVectorTest, SignsListClustersLikeBotocore) {
  Request expected = BotocoreListClusters();
  Request request = expected;
  std::erase_if(request.headers, [](const auto& h) {
    return h.first == "authorization" || h.first == "x-amz-date";
  });
  SignSigV4(request, {kKey, kSecret}, "us-east-1", "ecs", kNow);
  ASSERT_NE(request.Header("authorization"), nullptr);
  EXPECT_EQ(*request.Header("authorization"), *expected.Header("authorization"));
  SigV4Identity identity = ExpectVerified(expected, kNow);
  EXPECT_EQ(identity.access_key_id, kKey);
  EXPECT_EQ(identity.service, "ecs");
}

TEST(SigV4BotocoreVectorTest, VerifiesEncodedPathAndQuery) {
  Request request =
      MakeRequest("GET",
                  "/v1/a%20b/./c//d/../e%2Fx/?prefix=a%2Fb%20c&max-results=10&empty=&Z=%E2%9C%93&"
                  "prefix=a",
                  {{"host", "localhost:8080"},
                   {"x-amz-meta-note", "  spaced   out  "},
                   {"x-amz-date", "20261128T120000Z"},
                   {"authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDBERTH/20261128/us-east-1/ecr/aws4_request, "
                    "SignedHeaders=host;x-amz-date;x-amz-meta-note, "
                    "Signature=3eae30b422d633ef126285477a85b6426ef2aa458d1482c8b315db3646d0e53a"}},
                  "");
  ExpectVerified(request, kNow);
}

TEST(SigV4BotocoreVectorTest, VerifiesDateHeaderInsteadOfAmzDate) {
  Request request =
      MakeRequest("POST", "/",
                  {{"host", "127.0.0.1:8080"},
                   {"content-type", "application/x-amz-json-1.1"},
                   {"date", "Sat, 28 Nov 2026 12:00:00 -0000"},
                   {"authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDBERTH/20261128/us-east-1/ecs/aws4_request, "
                    "SignedHeaders=content-type;date;host, "
                    "Signature=43c40907926ecf441947e59735f5c13eb4aa3540d112da43035e7179df35c313"}},
                  "{}");
  ExpectVerified(request, kNow);
  // The Date header is signed as it was sent, so even an equivalent spelling breaks the
  // signature; the clock check reads it first, whatever its zone.
  MutableHeader(request, "date")->assign("Sat, 28 Nov 2026 12:00:00 GMT");
  EXPECT_EQ(ExpectRefused(request, kNow, "InvalidSignatureException").message, kMismatch);
  MutableHeader(request, "date")->assign("Sat, 28 Nov 2026 11:50:00 GMT");
  EXPECT_THAT(ExpectRefused(request, kNow, "InvalidSignatureException").message,
              HasSubstr("Signature expired: 20261128T115000Z"));
  MutableHeader(request, "date")->assign("28 Nov 2026 14:10:00 +0200");
  EXPECT_THAT(ExpectRefused(request, kNow, "InvalidSignatureException").message,
              HasSubstr("Signature not yet current: 20261128T121000Z"));
  MutableHeader(request, "date")->assign("Sat, 28 Nov 2026 12:00 GMT");
  EXPECT_THAT(ExpectRefused(request, kNow, "IncompleteSignatureException").message,
              HasSubstr("not an HTTP date"));
}

// SigV4QueryAuth (generate_presigned_url) with X-Amz-Expires=300.
Request BotocorePresigned() {
  return MakeRequest(
      "GET",
      "/presigned/x?Action=ListClusters&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
      "X-Amz-Credential=AKIDBERTH%2F20261128%2Fus-east-1%2Fecs%2Faws4_request&"
      "X-Amz-Date=20261128T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&"
      "X-Amz-Signature=2950f948f60b9b66d46ae6f23fff7b5081534fe371efcaceabc9e376d06bceb5",
      {{"host", "127.0.0.1:8080"}}, "");
}

TEST(SigV4BotocoreVectorTest, VerifiesPresignedUrl) {
  Request request = BotocorePresigned();
  SigV4Identity identity = ExpectVerified(request, kNow);
  EXPECT_EQ(identity.access_key_id, kKey);
  ExpectVerified(request, kNow + 300);
  SigV4Error expired = ExpectRefused(request, kNow + 301, "InvalidSignatureException");
  EXPECT_THAT(expired.message, HasSubstr("expired"));
  ExpectRefused(request, kNow - 301, "InvalidSignatureException");

  Request tampered = request;
  tampered.target += "&extra=1";
  EXPECT_EQ(ExpectRefused(tampered, kNow, "InvalidSignatureException").message, kMismatch);
  tampered = request;
  tampered.target.replace(tampered.target.find("X-Amz-Expires=300"), 17, "X-Amz-Expires=900");
  EXPECT_EQ(ExpectRefused(tampered, kNow, "InvalidSignatureException").message, kMismatch);
  tampered = request;
  tampered.target.replace(tampered.target.find("X-Amz-Expires=300"), 17, "X-Amz-Expires=0");
  ExpectRefused(tampered, kNow, "IncompleteSignatureException");
  tampered = request;
  tampered.target.erase(tampered.target.find("&X-Amz-Signature="));
  EXPECT_THAT(ExpectRefused(tampered, kNow, "IncompleteSignatureException").message,
              HasSubstr("missing query parameters: X-Amz-Signature"));
  tampered = request;
  tampered.target.replace(tampered.target.find("AWS4-HMAC-SHA256"), 16, "AWS4-HMAC-SHA512");
  EXPECT_THAT(ExpectRefused(tampered, kNow, "IncompleteSignatureException").message,
              HasSubstr("X-Amz-Algorithm must be AWS4-HMAC-SHA256"));
}

// What SigV4QueryAuth(creds, 'ecr', 'us-east-1', expires=3600) makes of
// GET http://127.0.0.1:8080/v2/team/trainer/blobs/sha256:abab... at kNow.
TEST(SigV4BotocoreVectorTest, PresignsAsBotocoreDoes) {
  std::string digest_path = "/v2/team/trainer/blobs/sha256:";
  for (int i = 0; i < 32; ++i) digest_path += "ab";
  EXPECT_EQ(PresignSigV4("GET", "127.0.0.1:8080", digest_path, {kKey, kSecret}, "us-east-1", "ecr",
                         kNow, 3600),
            digest_path +
                "?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
                "X-Amz-Credential=AKIDBERTH%2F20261128%2Fus-east-1%2Fecr%2Faws4_request&"
                "X-Amz-Date=20261128T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&"
                "X-Amz-Signature=57ba251ade4831f84fef89dc6e660f7131594f0323477b1e45129e41d12e3772");
}

// --- berth's signer against berth's verifier. ---

Request SignedRequest(int64_t signed_at = kNow) {
  Request request = MakeRequest("POST", "/some/path?b=2&a=1",
                                {{"host", "berth.local:8080"},
                                 {"content-type", "application/x-amz-json-1.1"},
                                 {"x-amz-target", "AmazonEC2ContainerServiceV20141113.RunTask"},
                                 {"user-agent", "berth-test"}},
                                R"({"cluster":"default","taskDefinition":"train:1"})");
  SignSigV4(request, {kKey, kSecret}, "us-east-1", "ecs", signed_at);
  return request;
}

TEST(SigV4Test, PresignedUrlVerifiesUntilItExpires) {
  const std::string path = "/v2/trainer/blobs/sha256:" + std::string(64, 'a');
  std::string target =
      PresignSigV4("GET", "berth.local:8080", path, {kKey, kSecret}, "us-east-1", "ecr", kNow, 600);
  Request request = MakeRequest("GET", target, {{"host", "berth.local:8080"}}, "");
  SigV4Identity identity = ExpectVerified(request, kNow);
  EXPECT_EQ(identity.access_key_id, kKey);
  EXPECT_EQ(identity.region, "us-east-1");
  EXPECT_EQ(identity.service, "ecr");
  ExpectVerified(request, kNow + 600);
  EXPECT_THAT(ExpectRefused(request, kNow + 601, "InvalidSignatureException").message,
              HasSubstr("expired"));

  // The signature covers the path, the method and the host.
  Request tampered = request;
  tampered.target.replace(tampered.target.find("sha256:a") + 7, 1, "b");
  EXPECT_EQ(ExpectRefused(tampered, kNow, "InvalidSignatureException").message, kMismatch);
  tampered = request;
  tampered.target.replace(0, std::string_view("/v2/trainer").size(), "/v2/other");
  EXPECT_EQ(ExpectRefused(tampered, kNow, "InvalidSignatureException").message, kMismatch);
  tampered = request;
  tampered.method = "PUT";
  EXPECT_EQ(ExpectRefused(tampered, kNow, "InvalidSignatureException").message, kMismatch);
  tampered = request;
  MutableHeader(tampered, "host")->assign("elsewhere:8080");
  EXPECT_EQ(ExpectRefused(tampered, kNow, "InvalidSignatureException").message, kMismatch);
  // A body is hashed into the canonical request, so none can be added.
  tampered = request;
  tampered.body = "x";
  EXPECT_EQ(ExpectRefused(tampered, kNow, "InvalidSignatureException").message, kMismatch);
}

TEST(SigV4Test, RoundTrip) {
  Request request = SignedRequest();
  EXPECT_THAT(*request.Header("authorization"),
              StartsWith("AWS4-HMAC-SHA256 Credential=AKIDBERTH/20261128/us-east-1/ecs/"
                         "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                         "Signature="));
  SigV4Identity identity = ExpectVerified(request, kNow);
  EXPECT_EQ(identity.access_key_id, kKey);
  EXPECT_EQ(identity.region, "us-east-1");
  EXPECT_EQ(identity.service, "ecs");
}

TEST(SigV4Test, UnsignedHeadersMayChange) {
  Request request = SignedRequest();
  MutableHeader(request, "user-agent")->assign("something else");
  request.headers.emplace_back("x-forwarded-for", "10.0.0.1");
  ExpectVerified(request, kNow);
}

TEST(SigV4Test, ResigningReplacesDateAndAuthorization) {
  Request request = SignedRequest(kNow - 3600);
  SignSigV4(request, {kKey, kSecret}, "us-east-1", "ecs", kNow);
  int dates = 0, authorizations = 0;
  for (const auto& [name, value] : request.headers) {
    dates += name == "x-amz-date";
    authorizations += name == "authorization";
  }
  EXPECT_EQ(dates, 1);
  EXPECT_EQ(authorizations, 1);
  ExpectVerified(request, kNow);
}

TEST(SigV4Test, RepeatedSignedHeadersAreJoinedInOrder) {
  Request request = MakeRequest(
      "GET", "/", {{"host", "berth.local"}, {"x-amz-meta-a", "1"}, {"x-amz-meta-a", "2"}}, "");
  SignSigV4(request, {kKey, kSecret}, "us-east-1", "ecs", kNow);
  ExpectVerified(request, kNow);
  std::swap(request.headers[1].second, request.headers[2].second);
  ExpectRefused(request, kNow, "InvalidSignatureException");
}

TEST(SigV4Test, AnyChangeToSignedPartsBreaksTheSignature) {
  struct Tamper {
    const char* what;
    void (*apply)(Request&);
  };
  const Tamper tampers[] = {
      {"body byte", [](Request& r) { r.body[5] ^= 1; }},
      {"body appended", [](Request& r) { r.body += " "; }},
      {"signed header value", [](Request& r) { MutableHeader(r, "x-amz-target")->back() = 'X'; }},
      {"host", [](Request& r) { MutableHeader(r, "host")->assign("evil.local:8080"); }},
      {"content-type", [](Request& r) { MutableHeader(r, "content-type")->assign("text/plain"); }},
      {"signed header removed",
       [](Request& r) {
         std::erase_if(r.headers, [](auto& h) { return h.first == "x-amz-target"; });
       }},
      {"query parameter added", [](Request& r) { r.target += "&c=3"; }},
      {"query parameter changed", [](Request& r) { r.target.back() = '9'; }},
      {"query parameter removed", [](Request& r) { r.target = "/some/path?b=2"; }},
      {"method", [](Request& r) { r.method = "PUT"; }},
      {"path", [](Request& r) { r.target = "/some/other?b=2&a=1"; }},
      {"path case", [](Request& r) { r.target = "/Some/path?b=2&a=1"; }},
  };
  for (const Tamper& tamper : tampers) {
    SCOPED_TRACE(tamper.what);
    Request request = SignedRequest();
    tamper.apply(request);
    EXPECT_EQ(ExpectRefused(request, kNow, "InvalidSignatureException").message, kMismatch);
  }
}

TEST(SigV4Test, QueryOrderAndEquivalentEncodingsDoNotMatter) {
  Request request = SignedRequest();
  request.target = "/some/path?a=1&b=2";
  ExpectVerified(request, kNow);
  request.target = "/some/path?%61=%31&b=2";  // the same parameters, needlessly escaped
  ExpectVerified(request, kNow);
}

TEST(SigV4Test, WrongSecretIsInvalidSignature) {
  Request request = MakeRequest("POST", "/", {{"host", "berth.local"}}, "{}");
  SignSigV4(request, {kKey, "not the secret"}, "us-east-1", "ecs", kNow);
  EXPECT_EQ(ExpectRefused(request, kNow, "InvalidSignatureException").message, kMismatch);
}

TEST(SigV4Test, UnknownAccessKey) {
  Request request = MakeRequest("POST", "/", {{"host", "berth.local"}}, "{}");
  SignSigV4(request, {"AKIDUNKNOWN", kSecret}, "us-east-1", "ecs", kNow);
  EXPECT_EQ(ExpectRefused(request, kNow, "UnrecognizedClientException").message,
            "The security token included in the request is invalid.");
}

TEST(AuthenticateRequestTest, VerifiesTheSignatureOfAnOrdinaryRequest) {
  Request request = SignedRequest();
  auto identity = AuthenticateRequest(request, Lookup(), kNow);
  ASSERT_TRUE(std::holds_alternative<SigV4Identity>(identity));
  EXPECT_EQ(std::get<SigV4Identity>(identity).access_key_id, kKey);
  request.body = "tampered";
  EXPECT_TRUE(std::holds_alternative<SigV4Error>(AuthenticateRequest(request, Lookup(), kNow)));
  EXPECT_TRUE(std::holds_alternative<SigV4Error>(
      AuthenticateRequest(MakeRequest("POST", "/", {{"host", "h"}}, "{}"), Lookup(), kNow)));
}

TEST(AuthenticateRequestTest, TakesTheKeyServerCodeVouchedForWithoutASignature) {
  Request request = MakeRequest("POST", "/", {{"host", "berth.local"}}, "{}");
  request.authenticated_access_key_id = kKey;
  auto identity = AuthenticateRequest(request, Lookup(), kNow);
  ASSERT_TRUE(std::holds_alternative<SigV4Identity>(identity));
  EXPECT_EQ(std::get<SigV4Identity>(identity).access_key_id, kKey);
  // VerifySigV4 alone never trusts the field.
  EXPECT_TRUE(std::holds_alternative<SigV4Error>(VerifySigV4(request, Lookup(), kNow)));
}

TEST(AuthenticateRequestTest, AVouchedForKeyMustStillBeKnown) {
  Request request = MakeRequest("POST", "/", {{"host", "berth.local"}}, "{}");
  request.authenticated_access_key_id = "AKIDGONE";
  auto identity = AuthenticateRequest(request, Lookup(), kNow);
  ASSERT_TRUE(std::holds_alternative<SigV4Error>(identity));
  EXPECT_EQ(std::get<SigV4Error>(identity).type, "UnrecognizedClientException");
}

TEST(SigV4Test, ClockSkew) {
  Request request = SignedRequest(kNow);
  // AWS's wording, to the character.
  EXPECT_EQ(ExpectRefused(request, kNow + 20 * 60, "InvalidSignatureException").message,
            "Signature expired: 20261128T120000Z is now earlier than 20261128T121500Z "
            "(20261128T122000Z - 5 min.)");
  EXPECT_EQ(ExpectRefused(request, kNow - 20 * 60, "InvalidSignatureException").message,
            "Signature not yet current: 20261128T120000Z is still later than 20261128T114500Z "
            "(20261128T114000Z + 5 min.)");

  EXPECT_THAT(ExpectRefused(request, kNow + 6 * 60, "InvalidSignatureException").message,
              HasSubstr("Signature expired"));
  EXPECT_THAT(ExpectRefused(request, kNow - 6 * 60, "InvalidSignatureException").message,
              HasSubstr("not yet current"));
  ExpectVerified(request, kNow + 4 * 60);
  ExpectVerified(request, kNow - 4 * 60);
  ExpectVerified(request, kNow + 5 * 60);
  ExpectVerified(request, kNow - 5 * 60);
  ExpectRefused(request, kNow + 5 * 60 + 1, "InvalidSignatureException");
  ExpectRefused(request, kNow - 5 * 60 - 1, "InvalidSignatureException");
}

TEST(SigV4Test, CredentialDateMustMatchRequestDate) {
  Request request = SignedRequest();
  std::string* authorization = MutableHeader(request, "authorization");
  authorization->replace(authorization->find("/20261128/"), 10, "/20261127/");
  EXPECT_THAT(ExpectRefused(request, kNow, "InvalidSignatureException").message,
              HasSubstr("'20261127' != '20261128'"));
}

TEST(SigV4Test, MissingAuthentication) {
  Request request = MakeRequest("POST", "/", {{"host", "berth.local"}}, "{}");
  EXPECT_EQ(ExpectRefused(request, kNow, "MissingAuthenticationTokenException").message,
            "Missing Authentication Token");
}

TEST(SigV4Test, ToleratesSpacingInAuthorization) {
  Request request = SignedRequest();
  std::string* authorization = MutableHeader(request, "authorization");
  std::string compact = *authorization;
  for (size_t at; (at = compact.find(", ")) != std::string::npos;) compact.erase(at + 1, 1);
  *authorization = compact;
  ExpectVerified(request, kNow);
  std::string spacious = compact;
  for (size_t at = 0; (at = spacious.find(',', at)) != std::string::npos; at += 4) {
    spacious.replace(at, 1, "  ,  ");
  }
  *authorization = "  " + spacious + " ";
  ExpectVerified(request, kNow);
}

TEST(SigV4Test, MalformedAuthorizationIsIncomplete) {
  const Request signed_request = SignedRequest();
  const std::string good = *signed_request.Header("authorization");
  const std::string credential = "Credential=AKIDBERTH/20261128/us-east-1/ecs/aws4_request";
  const std::string signed_headers = "SignedHeaders=content-type;host;x-amz-date;x-amz-target";
  const std::string signature = good.substr(good.find("Signature="));
  struct Case {
    std::string authorization;
    std::string message_part;
  };
  const Case cases[] = {
      {"garbage", "Unsupported Authorization algorithm 'garbage'"},
      {"", "Unsupported Authorization algorithm"},
      {"Bearer abc.def", "Unsupported Authorization algorithm 'Bearer'"},
      {"AWS4-HMAC-SHA256", "requires 'Credential' parameter"},
      {"AWS4-HMAC-SHA256 garbage", "missing equal-sign"},
      {"AWS4-HMAC-SHA256 " + credential + ", " + signature, "requires 'SignedHeaders' parameter"},
      {"AWS4-HMAC-SHA256 " + credential + ", " + signed_headers, "requires 'Signature' parameter"},
      {"AWS4-HMAC-SHA256 " + signed_headers + ", " + signature, "requires 'Credential' parameter"},
      {credential + ", " + signed_headers + ", " + signature, "requires the algorithm"},
      {"AWS4-HMAC-SHA256 " + credential + ", " + credential + ", " + signed_headers + ", " +
           signature,
       "more than one 'Credential'"},
      {"AWS4-HMAC-SHA256 " + credential + ", " + signed_headers + ", " + signature + ", Foo=1",
       "Unknown Authorization header parameter 'Foo'"},
      {"AWS4-HMAC-SHA256 Credential=AKIDBERTH/20261128/us-east-1/ecs, " + signed_headers + ", " +
           signature,
       "AccessKeyId/YYYYMMDD/region/service/aws4_request"},
      {"AWS4-HMAC-SHA256 Credential=AKIDBERTH/20261128/us-east-1/ecs/aws5_request, " +
           signed_headers + ", " + signature,
       "valid terminator"},
      {"AWS4-HMAC-SHA256 Credential=AKIDBERTH/2026-11-28/us-east-1/ecs/aws4_request, " +
           signed_headers + ", " + signature,
       "valid date"},
      {"AWS4-HMAC-SHA256 Credential=AKIDBERTH/20261128//ecs/aws4_request, " + signed_headers +
           ", " + signature,
       "valid region"},
      {"AWS4-HMAC-SHA256 Credential=/20261128/us-east-1/ecs/aws4_request, " + signed_headers +
           ", " + signature,
       "empty access key id"},
      {"AWS4-HMAC-SHA256 " + credential + ", SignedHeaders=content-type;x-amz-date, " + signature,
       "'Host' must be a 'SignedHeader'"},
      {"AWS4-HMAC-SHA256 " + credential + ", SignedHeaders=content-type;host, " + signature,
       "'X-Amz-Date' must be a 'SignedHeader'"},
      {"AWS4-HMAC-SHA256 " + credential + ", SignedHeaders=host;;x-amz-date, " + signature,
       "empty name"},
      {"AWS4-HMAC-SHA256 " + credential + ", SignedHeaders=, " + signature,
       "SignedHeaders must name"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.authorization);
    Request request = signed_request;
    MutableHeader(request, "authorization")->assign(c.authorization);
    EXPECT_THAT(ExpectRefused(request, kNow, "IncompleteSignatureException").message,
                HasSubstr(c.message_part));
  }
}

TEST(SigV4Test, DateHeaderProblemsAreIncomplete) {
  Request request = SignedRequest();
  MutableHeader(request, "x-amz-date")->assign("2026-11-28T12:00:00Z");
  EXPECT_THAT(ExpectRefused(request, kNow, "IncompleteSignatureException").message,
              HasSubstr("ISO-8601 'basic format'"));
  MutableHeader(request, "x-amz-date")->assign("20261328T120000Z");  // month 13
  ExpectRefused(request, kNow, "IncompleteSignatureException");
  std::erase_if(request.headers, [](auto& h) { return h.first == "x-amz-date"; });
  EXPECT_THAT(ExpectRefused(request, kNow, "IncompleteSignatureException").message,
              HasSubstr("'X-Amz-Date' or a 'Date' header"));
}

TEST(SigV4Test, DeclaredPayloadHash) {
  Request request =
      MakeRequest("PUT", "/blob",
                  {{"host", "berth.local"},
                   {"x-amz-content-sha256",
                    "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}},  // "foo"
                  "foo");
  SignSigV4(request, {kKey, kSecret}, "us-east-1", "ecr", kNow);
  EXPECT_THAT(*request.Header("authorization"), HasSubstr("host;x-amz-content-sha256;x-amz-date"));
  ExpectVerified(request, kNow);
  request.body = "bar";
  EXPECT_THAT(ExpectRefused(request, kNow, "InvalidSignatureException").message,
              HasSubstr("x-amz-content-sha256"));

  // With UNSIGNED-PAYLOAD the client deliberately leaves the body out of the signature.
  Request unsigned_payload =
      MakeRequest("PUT", "/blob",
                  {{"host", "berth.local"}, {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}}, "foo");
  SignSigV4(unsigned_payload, {kKey, kSecret}, "us-east-1", "ecr", kNow);
  unsigned_payload.body = "bar";
  ExpectVerified(unsigned_payload, kNow);
}

// --- Live cross-check: a request botocore signs now, verified against the current clock. ---

constexpr char kBotocoreScript[] = R"PY(
import sys
from urllib.parse import urlsplit
import botocore.session
from botocore.auth import SigV4Auth, SigV4QueryAuth, _host_from_url
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

def dump(method, url, headers, body):
    parts = urlsplit(url)
    print('M', method)
    print('T', parts.path + ('?' + parts.query if parts.query else ''))
    names = [k.lower() for k in headers.keys()]
    if 'host' not in names:
        print('H host\t' + _host_from_url(url))
    for k, v in headers.items():
        if isinstance(v, bytes):
            v = v.decode()
        print('H ' + k.lower() + '\t' + v)
    if body is None:
        body = b''
    if isinstance(body, str):
        body = body.encode()
    print('B', body.hex())
    print('E')

creds = Credentials('AKIDBOTOCORE', 'botocore/secret+key')

# The aws CLI's own path: a real ECS client, stopped just before the request is sent.
class Captured(Exception):
    pass

def capture(request, **kwargs):
    dump(request.method, request.url, request.headers, request.body)
    raise Captured()

session = botocore.session.get_session()
ecs = session.create_client('ecs', region_name='eu-west-1', endpoint_url='http://127.0.0.1:8080',
                            aws_access_key_id='AKIDBOTOCORE',
                            aws_secret_access_key='botocore/secret+key')
ecs.meta.events.register('before-send.ecs.*', capture)
try:
    ecs.run_task(cluster='training', taskDefinition='neuron-train:3', count=2,
                 overrides={'containerOverrides': [{'name': 'main', 'command': ['python3', 'train.py', '--épochs=3']}]})
except Captured:
    pass

# SigV4Auth directly, over a path and query with reserved and non-ASCII characters.
r = AWSRequest(method='PUT', url='http://localhost:8080/v1/a%20b/./c//d/../%E2%9C%93/?z=%2F&a=2&a=1&empty=',
               headers={'Content-Type': 'application/json', 'X-Amz-Meta-Note': '  spaced   out  '},
               data=b'{"k": "v"}')
SigV4Auth(creds, 'ecr', 'us-west-2').add_auth(r)
dump(r.method, r.url, r.headers, r.body)

# A presigned URL.
r = AWSRequest(method='GET', url='http://127.0.0.1:8080/presigned/x?Action=ListClusters')
SigV4QueryAuth(creds, 'ecs', 'us-east-1', expires=60).add_auth(r)
dump(r.method, r.url, r.headers, r.body)
)PY";

std::string HexDecode(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(SigV4BotocoreLiveTest, VerifiesWhatBotocoreSignsNow) {
  const char* python = "/usr/bin/python3";
  if (std::system((std::string(python) + " -c 'import botocore' >/dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "botocore is not importable by " << python;
  }
  std::string script_path =
      ::testing::TempDir() + "sigv4_botocore_" + std::to_string(::getpid()) + ".py";
  std::ofstream(script_path) << kBotocoreScript;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(
      popen((std::string(python) + " " + script_path).c_str(), "r"), pclose);
  ASSERT_NE(pipe, nullptr);
  std::vector<Request> requests;
  Request current;
  char buffer[65536];
  while (std::fgets(buffer, sizeof buffer, pipe.get()) != nullptr) {
    std::string_view line(buffer);
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (line.starts_with("M ")) {
      current.method = line.substr(2);
    } else if (line.starts_with("T ")) {
      current.target = line.substr(2);
    } else if (line.starts_with("H ")) {
      std::string_view header = line.substr(2);
      size_t tab = header.find('\t');
      current.headers.emplace_back(header.substr(0, tab), header.substr(tab + 1));
    } else if (line.starts_with("B ")) {
      current.body = HexDecode(line.substr(2));
    } else if (line == "E") {
      requests.push_back(std::move(current));
      current = Request{};
    }
  }
  ASSERT_EQ(pclose(pipe.release()), 0) << "the botocore script failed";
  std::remove(script_path.c_str());
  ASSERT_EQ(requests.size(), 3u);

  int64_t now = std::time(nullptr);
  SigV4Identity run_task = ExpectVerified(requests[0], now);
  EXPECT_EQ(run_task.access_key_id, "AKIDBOTOCORE");
  EXPECT_EQ(run_task.region, "eu-west-1");
  EXPECT_EQ(run_task.service, "ecs");
  EXPECT_THAT(*requests[0].Header("authorization"), HasSubstr("x-amz-target"));

  SigV4Identity put = ExpectVerified(requests[1], now);
  EXPECT_EQ(put.region, "us-west-2");
  EXPECT_EQ(put.service, "ecr");

  ExpectVerified(requests[2], now);

  for (Request& request : requests) {
    request.body += "x";
    ExpectRefused(request, now, "InvalidSignatureException");
  }
}

}  // namespace
}  // namespace berth::http
