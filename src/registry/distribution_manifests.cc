// The distribution API's manifests, tags, catalog and referrers.
#include <boost/json/serialize.hpp>
#include <charconv>

#include "registry/distribution.h"
#include "registry/distribution_call.h"
#include "registry/distribution_sinks.h"
#include "registry/manifest.h"
#include "registry/names.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

http::Response JsonReply(const json::value& body, std::string_view content_type) {
  http::Response response;
  response.headers.emplace_back("content-type", std::string(content_type));
  response.body = json::serialize(body);
  return response;
}

// The "n" of a paginated list: nullopt when absent; false when malformed.
bool PageSize(const DistributionCall& call, std::optional<size_t>& n) {
  const std::string* text = call.Query("n");
  if (text == nullptr || text->empty()) return true;
  size_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return false;
  n = value;
  return true;
}

std::string NextLink(std::string_view path, std::string_view last, size_t n) {
  return "<" + std::string(path) + "?last=" + QueryEscape(last) + "&n=" + std::to_string(n) +
         ">; rel=\"next\"";
}

}  // namespace

void Distribution::GetManifest(DistributionCall& call) {
  auto manifest = state_.GetManifest(call.route.name, call.route.reference);
  if (!manifest.ok()) return call.Fail(manifest.error());
  http::Response response;
  response.headers.emplace_back("content-type", manifest->media_type);
  response.headers.emplace_back("docker-content-digest", manifest->digest);
  response.headers.emplace_back("etag", "\"" + manifest->digest + "\"");
  response.body_file = manifest->blob.path;
  response.file_length = manifest->blob.size;
  if (call.request.method == "GET") CountRegistryBytesOut(manifest->blob.size);
  call.ReplyRead(std::move(response));
}

void Distribution::PutManifest(DistributionCall& call) {
  const http::Request& request = call.request;
  const std::string* bytes = &request.body;
  if (request.body_sink != nullptr) {
    auto* sink = dynamic_cast<ManifestSink*>(request.body_sink.get());
    if (sink == nullptr || !request.body_status.ok()) {
      const Status& why = request.body_status;
      if (why.code() == StatusCode::kResourceExhausted) {
        return call.Fail(413, oci_error::kSizeInvalid, why.message());
      }
      return call.Fail(400, oci_error::kManifestInvalid,
                       why.ok() ? "manifest body not received" : why.message());
    }
    bytes = &sink->bytes();
  }
  const std::string* content_type = request.Header("content-type");
  auto result = state_.PutManifest(call.route.name, call.route.reference,
                                   content_type ? *content_type : std::string_view(), *bytes,
                                   options_.create_on_push, clock_.NowMillis());
  if (!result.ok()) return call.Fail(result.error());
  CountRegistryBytesIn(bytes->size());
  http::Response response = EmptyResponse(201);
  response.headers.emplace_back("location",
                                "/v2/" + call.route.name + "/manifests/" + result->digest);
  response.headers.emplace_back("docker-content-digest", result->digest);
  if (!result->subject.empty()) response.headers.emplace_back("oci-subject", result->subject);
  call.Reply(std::move(response), result->commit_seq);
}

void Distribution::DeleteManifest(DistributionCall& call) {
  const std::string& reference = call.route.reference;
  uint64_t seq = 0;
  if (IsDigestReference(reference)) {
    if (!Digest::Parse(reference)) {
      return call.Fail(400, oci_error::kDigestInvalid, "invalid digest " + reference);
    }
    auto deleted = state_.DeleteManifest(call.route.name, reference);
    if (!deleted.ok()) return call.Fail(deleted.error());
    seq = deleted->second;
  } else {
    if (!IsValidTag(reference))
      return call.Fail(400, oci_error::kTagInvalid, "invalid tag " + reference);
    auto deleted = state_.DeleteTag(call.route.name, reference);
    if (!deleted.ok()) return call.Fail(deleted.error());
    seq = deleted->second;
  }
  call.Reply(EmptyResponse(202), seq);
}

void Distribution::ListTags(DistributionCall& call) {
  std::optional<size_t> n;
  if (!PageSize(call, n)) {
    return call.Fail(400, "PAGINATION_NUMBER_INVALID", "n must be a non-negative integer");
  }
  const std::string* last = call.Query("last");
  auto page = state_.ListTags(call.route.name, last ? *last : std::string_view(), n);
  if (!page.ok()) return call.Fail(page.error());
  json::array tags;
  for (const auto& tag : page->tags) tags.emplace_back(tag);
  http::Response response = JsonReply(
      json::object{{"name", call.route.name}, {"tags", std::move(tags)}}, "application/json");
  if (page->more && n && !page->tags.empty()) {
    response.headers.emplace_back(
        "link", NextLink("/v2/" + call.route.name + "/tags/list", page->tags.back(), *n));
  }
  call.ReplyRead(std::move(response));
}

void Distribution::Catalog(DistributionCall& call) {
  std::optional<size_t> n;
  if (!PageSize(call, n)) {
    return call.Fail(400, "PAGINATION_NUMBER_INVALID", "n must be a non-negative integer");
  }
  const std::string* last = call.Query("last");
  RepositoryPage page;
  if (n != 0) page = state_.ListRepositories(last ? *last : std::string_view(), n.value_or(0));
  json::array names;
  for (const auto& repo : page.repositories) names.emplace_back(repo.name);
  http::Response response =
      JsonReply(json::object{{"repositories", std::move(names)}}, "application/json");
  if (page.more && n && !page.repositories.empty()) {
    response.headers.emplace_back("link",
                                  NextLink("/v2/_catalog", page.repositories.back().name, *n));
  }
  call.ReplyRead(std::move(response));
}

void Distribution::Referrers(DistributionCall& call) {
  const std::string& subject = call.route.reference;
  if (!Digest::Parse(subject)) {
    return call.Fail(400, oci_error::kDigestInvalid, "invalid digest " + subject);
  }
  const std::string* artifact_type = call.Query("artifactType");
  std::optional<std::string_view> filter;
  if (artifact_type != nullptr && !artifact_type->empty()) filter = *artifact_type;
  auto referrers = state_.Referrers(call.route.name, subject, filter);
  if (!referrers.ok()) return call.Fail(referrers.error());
  json::array manifests;
  for (const auto& r : *referrers) {
    json::object d{{"mediaType", r.media_type}, {"digest", r.digest}, {"size", r.size}};
    if (!r.artifact_type.empty()) d["artifactType"] = r.artifact_type;
    if (!r.annotations.empty()) {
      json::object annotations;
      for (const auto& [k, v] : r.annotations) annotations[k] = v;
      d["annotations"] = std::move(annotations);
    }
    manifests.push_back(std::move(d));
  }
  http::Response response = JsonReply(
      json::object{
          {"schemaVersion", 2}, {"mediaType", kOciIndexType}, {"manifests", std::move(manifests)}},
      kOciIndexType);
  if (filter) response.headers.emplace_back("oci-filters-applied", "artifactType");
  call.ReplyRead(std::move(response));
}

}  // namespace berth::registry
