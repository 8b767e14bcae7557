// Why a registry operation was refused, finely enough that both faces of the
// registry can answer in their own words: the OCI distribution API with its
// error codes (MANIFEST_UNKNOWN, NAME_UNKNOWN, ...) and the ECR JSON API with
// its exception types (ImageNotFoundException, ...). Status codes alone are
// too coarse: "not found" could be the repository, the image or a blob.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "common/status.h"

namespace berth::registry {

enum class RegistryErrorKind {
  kNameInvalid,              // repository name fails the grammar (NAME_INVALID)
  kRepositoryNotFound,       // NAME_UNKNOWN / RepositoryNotFoundException
  kRepositoryAlreadyExists,  // RepositoryAlreadyExistsException
  kRepositoryNotEmpty,       // delete without force (RepositoryNotEmptyException)
  kTagInvalid,               // TAG_INVALID / InvalidParameterException
  kDigestInvalid,            // malformed digest, or bytes that do not match it (DIGEST_INVALID)
  kManifestInvalid,          // not JSON, bad schema, media type mismatch or unsupported
  kManifestTooLarge,         // over kMaxManifestBytes (413)
  kManifestUnknown,          // no image by that tag or digest (MANIFEST_UNKNOWN / ImageNotFound)
  kManifestBlobUnknown,      // a config, layer or child missing from the repository
  kBlobUnknown,              // blob not linked in the repository (BLOB_UNKNOWN)
  kTagImmutable,             // moving a tag of an IMMUTABLE repository (ImageTagAlreadyExists)
  kImageReferencedByIndex,   // deleting a manifest an index still lists
                             // (ImageReferencedByManifestList)
  kInternal,                 // the store or the blob store failed
};

struct RegistryError {
  RegistryErrorKind kind;
  std::string message;

  // The nearest Status, for callers that only log or pass errors on.
  Status ToStatus() const;
};

// A value or the reason there is none.
template <typename T>
class [[nodiscard]] RegistryOr {
 public:
  RegistryOr(RegistryError error) : v_(std::move(error)) {}
  RegistryOr(T value) : v_(std::move(value)) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  const RegistryError& error() const {
    assert(!ok());
    return std::get<RegistryError>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<RegistryError, T> v_;
};

}  // namespace berth::registry
