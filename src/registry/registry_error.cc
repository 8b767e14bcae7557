#include "registry/registry_error.h"

namespace berth::registry {

Status RegistryError::ToStatus() const {
  switch (kind) {
    case RegistryErrorKind::kNameInvalid:
    case RegistryErrorKind::kTagInvalid:
    case RegistryErrorKind::kDigestInvalid:
    case RegistryErrorKind::kManifestInvalid:
    case RegistryErrorKind::kManifestBlobUnknown:
      return InvalidArgument(message);
    case RegistryErrorKind::kRepositoryNotFound:
    case RegistryErrorKind::kManifestUnknown:
    case RegistryErrorKind::kBlobUnknown:
      return NotFound(message);
    case RegistryErrorKind::kRepositoryAlreadyExists:
      return AlreadyExists(message);
    case RegistryErrorKind::kRepositoryNotEmpty:
    case RegistryErrorKind::kTagImmutable:
    case RegistryErrorKind::kImageReferencedByIndex:
      return FailedPrecondition(message);
    case RegistryErrorKind::kManifestTooLarge:
      return Status(StatusCode::kResourceExhausted, message);
    case RegistryErrorKind::kInternal:
      break;
  }
  return Internal(message);
}

}  // namespace berth::registry
