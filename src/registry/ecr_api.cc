#include "registry/ecr_api.h"

#include "common/crypto.h"
#include "model/json_util.h"
#include "model/service_model.h"

namespace berth::registry {

namespace json = boost::json;

EcrApi::EcrApi(RegistryState& state, BlobStore& blobs, http::SecretLookup secrets,
               const Clock& clock, awsjson::CommitTracker& tracker, ArnScope scope,
               std::string proxy_endpoint)
    : state_(state),
      blobs_(blobs),
      secrets_(std::move(secrets)),
      clock_(clock),
      tracker_(tracker),
      scope_(std::move(scope)),
      proxy_endpoint_(std::move(proxy_endpoint)),
      page_tokens_(HexEncode(RandomBytes(32))) {}

const model::ServiceModel& EcrApi::Model() const { return model::ServiceModel::Ecr(); }

const std::unordered_map<std::string_view, EcrApi::Operation>& EcrApi::Operations() {
  static const std::unordered_map<std::string_view, Operation> operations = {
      {"CreateRepository", &EcrApi::CreateRepository},
      {"DescribeRepositories", &EcrApi::DescribeRepositories},
      {"DeleteRepository", &EcrApi::DeleteRepository},
      {"PutImageTagMutability", &EcrApi::PutImageTagMutability},
      {"PutImageScanningConfiguration", &EcrApi::PutImageScanningConfiguration},
      {"TagResource", &EcrApi::TagResource},
      {"UntagResource", &EcrApi::UntagResource},
      {"ListTagsForResource", &EcrApi::ListTagsForResource},
      {"ListImages", &EcrApi::ListImages},
      {"DescribeImages", &EcrApi::DescribeImages},
      {"BatchGetImage", &EcrApi::BatchGetImage},
      {"PutImage", &EcrApi::PutImage},
      {"BatchDeleteImage", &EcrApi::BatchDeleteImage},
      {"BatchCheckLayerAvailability", &EcrApi::BatchCheckLayerAvailability},
      {"InitiateLayerUpload", &EcrApi::InitiateLayerUpload},
      {"UploadLayerPart", &EcrApi::UploadLayerPart},
      {"CompleteLayerUpload", &EcrApi::CompleteLayerUpload},
      {"GetDownloadUrlForLayer", &EcrApi::GetDownloadUrlForLayer},
      {"GetAuthorizationToken", &EcrApi::GetAuthorizationToken},
      {"PutLifecyclePolicy", &EcrApi::PutLifecyclePolicy},
      {"GetLifecyclePolicy", &EcrApi::GetLifecyclePolicy},
      {"DeleteLifecyclePolicy", &EcrApi::DeleteLifecyclePolicy},
      {"StartLifecyclePolicyPreview", &EcrApi::StartLifecyclePolicyPreview},
      {"GetLifecyclePolicyPreview", &EcrApi::GetLifecyclePolicyPreview},
  };
  return operations;
}

bool EcrApi::Implements(std::string_view operation) const {
  return Operations().contains(operation);
}

awsjson::Reply EcrApi::Call(std::string_view operation, json::object& input,
                            const Context& context) {
  Operation op = Operations().at(operation);
  Context ctx = context;
  if (ctx.now_millis == 0) ctx.now_millis = clock_.NowMillis();
  Reply reply = (this->*op)(input, ctx);
  // A read (or a write that changed nothing) still waits for every change it
  // may have observed to be durable.
  if (reply.commit_seq == 0) reply.commit_seq = tracker_.LastAssigned();
  return reply;
}

void EcrApi::CheckRegistryId(const json::object& in) const {
  auto id = model::OptString(in, "registryId");
  if (id && *id != scope_.account) {
    Fail("InvalidParameterException", "Invalid parameter at 'registryId': this registry is '" +
                                          scope_.account + "', not '" + std::string(*id) + "'");
  }
}

Repository EcrApi::RequireRepository(const json::object& in) const {
  CheckRegistryId(in);
  std::string_view name = StringOr(in, "repositoryName", "");
  auto repository = state_.GetRepository(name);
  if (!repository.ok()) FailWith(repository.error(), name);
  return std::move(repository).value();
}

json::object EcrApi::RepositoryHead(std::string_view repository) const {
  return json::object{{"registryId", scope_.account}, {"repositoryName", repository}};
}

void EcrApi::FailRepositoryNotFound(std::string_view repository) const {
  Fail("RepositoryNotFoundException", "The repository with name '" + std::string(repository) +
                                          "' does not exist in the registry with id '" +
                                          scope_.account + "'");
}

void EcrApi::FailWith(const RegistryError& error, std::string_view repository) const {
  switch (error.kind) {
    case RegistryErrorKind::kRepositoryNotFound:
      FailRepositoryNotFound(repository);
    case RegistryErrorKind::kRepositoryAlreadyExists:
      Fail("RepositoryAlreadyExistsException",
           "The repository with name '" + std::string(repository) +
               "' already exists in the registry with id '" + scope_.account + "'");
    case RegistryErrorKind::kRepositoryNotEmpty:
      Fail("RepositoryNotEmptyException",
           "The repository with name '" + std::string(repository) + "' in registry with id '" +
               scope_.account + "' cannot be deleted because it still contains images");
    case RegistryErrorKind::kManifestUnknown:
      Fail("ImageNotFoundException", error.message);
    case RegistryErrorKind::kManifestBlobUnknown:
    case RegistryErrorKind::kBlobUnknown:
      Fail("LayersNotFoundException", error.message);
    case RegistryErrorKind::kTagImmutable:
      Fail("ImageTagAlreadyExistsException", error.message);
    case RegistryErrorKind::kInternal:
      Fail("ServerException", error.message);
    case RegistryErrorKind::kNameInvalid:
    case RegistryErrorKind::kTagInvalid:
    case RegistryErrorKind::kDigestInvalid:
    case RegistryErrorKind::kManifestInvalid:
    case RegistryErrorKind::kManifestTooLarge:
    case RegistryErrorKind::kImageReferencedByIndex:
      break;
  }
  Fail("InvalidParameterException", error.message);
}

std::vector<LifecycleImage> EcrApi::LifecycleImages(std::string_view repository) const {
  auto images = state_.ListImages(repository);
  if (!images.ok()) FailWith(images.error(), repository);
  std::vector<LifecycleImage> out;
  out.reserve(images->size());
  for (const Image& image : *images) {
    out.push_back({image.digest, image.tags, image.pushed_at_millis});
  }
  return out;
}

}  // namespace berth::registry
