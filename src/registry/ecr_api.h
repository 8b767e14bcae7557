// The ECR API (AmazonEC2ContainerRegistry_V20150921): repositories, images,
// layer uploads, authorization tokens, lifecycle policies and tags, over the
// same RegistryState and BlobStore that serve the OCI distribution API, so an
// image pushed with docker is visible to `aws ecr describe-images` and one put
// with PutImage can be pulled with docker.
//
// Operations are split by resource over ecr_*.cc files. State lives in
// RegistryState (thread-safe, durable); EcrApi keeps only what ECR itself
// keeps briefly: lifecycle previews and the time policies were last applied.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "awsjson/commit_tracker.h"
#include "awsjson/endpoint.h"
#include "awsjson/pagination.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/status.h"
#include "http/sigv4.h"
#include "model/json_util.h"
#include "registry/blob_store.h"
#include "registry/lifecycle.h"
#include "registry/registry_state.h"

namespace berth::registry {

// What every ECR handler uses: the AWS JSON protocol's refusals and the JSON
// accessors.
using awsjson::ApiException;
using awsjson::Fail;
using model::ArrayOr;
using model::AsString;
using model::BoolOr;
using model::OptInt;
using model::OptString;
using model::StringOr;

// An image that a lifecycle policy expired (and that was deleted).
struct ExpiredImage {
  std::string repository;
  std::string digest;
  std::vector<std::string> tags;  // the tags it had
  int64_t rule_priority = 0;
};

// Thread-safe: Call runs on I/O threads concurrently.
class EcrApi : public awsjson::JsonService {
 public:
  // proxy_endpoint is the registry's base URL as clients reach it
  // ("http://127.0.0.1:8080"): GetAuthorizationToken's proxyEndpoint and the
  // base of GetDownloadUrlForLayer's downloadUrl. secrets finds the secret of
  // the caller's access key, to sign registry tokens with.
  EcrApi(RegistryState& state, BlobStore& blobs, http::SecretLookup secrets, const Clock& clock,
         awsjson::CommitTracker& tracker, ArnScope scope, std::string proxy_endpoint);

  // The key that signs nextToken values. By default a random one, so tokens
  // do not outlive the process; the server may pass a durable key (as EcsApi
  // keeps). Call before serving.
  void SetPageTokenKey(std::string key) { page_tokens_.set_key(std::move(key)); }

  const model::ServiceModel& Model() const override;
  bool Implements(std::string_view operation) const override;
  // UploadLayerPart carries a base64-encoded part of up to partSize (10 MiB).
  size_t MaxRequestBytes() const override { return kMaxRequestBytes; }
  static constexpr size_t kMaxRequestBytes = 16 << 20;
  awsjson::Reply Call(std::string_view operation, boost::json::object& input,
                      const awsjson::CallContext& context) override;

  // Applies every repository's lifecycle policy at now_millis: evaluates it
  // and deletes the images it expires. ECR applies policies "within 24 hours"
  // of an image becoming eligible; the server calls this on a timer (every
  // minute) rather than on each PutLifecyclePolicy, so a policy can still be
  // previewed and corrected before it acts. A repository whose deletion
  // fails is reported in the error after the others were applied.
  StatusOr<std::vector<ExpiredImage>> ApplyLifecyclePolicies(int64_t now_millis);
  // The same for one repository (NotFound when it does not exist; an empty
  // list when it has no policy).
  StatusOr<std::vector<ExpiredImage>> ApplyLifecyclePolicy(std::string_view repository,
                                                           int64_t now_millis);

 private:
  using Reply = awsjson::Reply;
  using Context = awsjson::CallContext;
  using Operation = Reply (EcrApi::*)(boost::json::object&, const Context&);
  static const std::unordered_map<std::string_view, Operation>& Operations();

  // ecr_repositories.cc
  Reply CreateRepository(boost::json::object& in, const Context& ctx);
  Reply DescribeRepositories(boost::json::object& in, const Context& ctx);
  Reply DeleteRepository(boost::json::object& in, const Context& ctx);
  Reply PutImageTagMutability(boost::json::object& in, const Context& ctx);
  Reply PutImageScanningConfiguration(boost::json::object& in, const Context& ctx);

  // ecr_tags.cc
  Reply TagResource(boost::json::object& in, const Context& ctx);
  Reply UntagResource(boost::json::object& in, const Context& ctx);
  Reply ListTagsForResource(boost::json::object& in, const Context& ctx);

  // ecr_images.cc
  Reply ListImages(boost::json::object& in, const Context& ctx);
  Reply DescribeImages(boost::json::object& in, const Context& ctx);
  Reply BatchGetImage(boost::json::object& in, const Context& ctx);

  // ecr_image_writes.cc
  Reply PutImage(boost::json::object& in, const Context& ctx);
  Reply BatchDeleteImage(boost::json::object& in, const Context& ctx);

  // ecr_layers.cc
  Reply BatchCheckLayerAvailability(boost::json::object& in, const Context& ctx);
  Reply InitiateLayerUpload(boost::json::object& in, const Context& ctx);
  Reply UploadLayerPart(boost::json::object& in, const Context& ctx);
  Reply CompleteLayerUpload(boost::json::object& in, const Context& ctx);
  Reply GetDownloadUrlForLayer(boost::json::object& in, const Context& ctx);

  // ecr_auth.cc
  Reply GetAuthorizationToken(boost::json::object& in, const Context& ctx);

  // ecr_lifecycle.cc
  Reply PutLifecyclePolicy(boost::json::object& in, const Context& ctx);
  Reply GetLifecyclePolicy(boost::json::object& in, const Context& ctx);
  Reply DeleteLifecyclePolicy(boost::json::object& in, const Context& ctx);
  Reply StartLifecyclePolicyPreview(boost::json::object& in, const Context& ctx);
  Reply GetLifecyclePolicyPreview(boost::json::object& in, const Context& ctx);

  // --- shared helpers (ecr_api.cc) ---

  // The repository named by the request's repositoryName, after checking its
  // registryId. Throws RepositoryNotFoundException.
  Repository RequireRepository(const boost::json::object& in) const;
  // Throws when in names a registryId other than this registry's.
  void CheckRegistryId(const boost::json::object& in) const;
  // {"registryId", "repositoryName"}: the head of many ECR replies.
  boost::json::object RepositoryHead(std::string_view repository) const;
  // Throws the ECR exception that matches a RegistryState refusal.
  [[noreturn]] void FailWith(const RegistryError& error, std::string_view repository) const;
  [[noreturn]] void FailRepositoryNotFound(std::string_view repository) const;
  // The lifecycle view of a repository's images.
  std::vector<LifecycleImage> LifecycleImages(std::string_view repository) const;

  RegistryState& state_;
  BlobStore& blobs_;
  http::SecretLookup secrets_;
  const Clock& clock_;
  awsjson::CommitTracker& tracker_;
  ArnScope scope_;
  std::string proxy_endpoint_;
  awsjson::PageTokens page_tokens_;

  // A lifecycle preview, kept until the next one for the same repository
  // (ECR keeps previews briefly too; they are not persisted).
  struct Preview {
    std::string policy_text;
    std::vector<LifecycleExpiry> results;  // oldest first
  };

  mutable std::mutex mu_;  // guards the two maps below
  std::map<std::string, Preview, std::less<>> previews_;
  std::map<std::string, int64_t, std::less<>> last_evaluated_millis_;
};

}  // namespace berth::registry
