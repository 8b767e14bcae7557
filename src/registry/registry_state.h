// The registry's metadata: repositories, images (manifests), tags and the
// blobs linked into each repository. The bytes themselves, manifests
// included, live in the content-addressed BlobStore; this is what names them.
//
// Shared by both faces of the registry: the OCI distribution API (/v2/) and
// the ECR JSON API. State lives in memory, indexed for the reads; every change
// is queued to the durable store under the same exclusive lock that applies
// it, so memory and store change in the same order (as in EcsApi). Mutations
// return the awsjson::CommitTracker sequence number their reply must wait for.
//
// Store keys ('@' appears in no repository name, tag or digest, so it
// separates them unambiguously):
//   ecr/repos/<name>               Repository record (JSON)
//   ecr/images/<repo>@<digest>     Image record (JSON, without its tags)
//   ecr/tags/<repo>@<tag>          the digest the tag points at
//   ecr/links/<repo>@<digest>      a blob (layer, config or manifest) usable in <repo>
//
// A blob is usable in a repository when it is linked there AND present in
// the BlobStore: links are what keeps one repository from reading or
// referencing another one's layers by digest alone (a mount links
// explicitly), while the blob store keeps one copy of each digest.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "awsjson/commit_tracker.h"
#include "common/ids.h"
#include "common/status.h"
#include "registry/blob_store.h"
#include "registry/registry_error.h"
#include "store/store.h"

namespace berth::registry {

struct ParsedManifest;

struct RepositoryTag {
  std::string key;
  std::string value;
  bool operator==(const RepositoryTag&) const = default;
};

struct Repository {
  std::string name;
  std::string arn;          // arn:aws:ecr:REGION:ACCOUNT:repository/NAME
  std::string registry_id;  // the account
  std::string uri;          // <registry_address>/<name>
  int64_t created_at_millis = 0;
  // MUTABLE, IMMUTABLE, or either WITH_EXCLUSION: the tags that match an
  // exclusion filter behave the other way (see tag_mutability.h).
  std::string image_tag_mutability = "MUTABLE";
  std::vector<std::string> tag_mutability_exclusions;  // WILDCARD filters
  bool scan_on_push = false;                           // imageScanningConfiguration.scanOnPush
  std::string encryption_type = "AES256";              // encryptionConfiguration
  std::string kms_key;                                 // only with encryption_type "KMS"
  std::vector<RepositoryTag> tags;                     // resource tags, in the order given
  std::string lifecycle_policy;                        // policy text; empty when there is none
  int64_t lifecycle_policy_updated_millis = 0;         // when it was last set (0: never)
  std::string repository_policy;                       // policy text; empty when there is none
  // What the requests that made and changed it sent beyond the model (see
  // model/unknown_members.h): {"@unknownMembers": {...}} or empty.
  boost::json::object unknown_members;

  // imageTagMutabilityExclusionFilters as ECR shows them.
  boost::json::array ExclusionFiltersJson() const;

  // The ECR "Repository" shape (createdAt in epoch seconds, as AWS JSON
  // 1.1 sends timestamps). Tags and policies are not part of that shape.
  boost::json::object ToEcrJson() const;
};

// The fields CreateRepository may set; the rest are derived.
struct RepositorySettings {
  std::string image_tag_mutability = "MUTABLE";
  std::vector<std::string> tag_mutability_exclusions;
  bool scan_on_push = false;
  std::string encryption_type = "AES256";
  std::string kms_key;
  std::vector<RepositoryTag> tags;
  boost::json::object unknown_members;
};

// A manifest stored in a repository: an image, an index or an artifact.
struct Image {
  std::string repository;
  std::string digest;             // of the manifest bytes
  std::string media_type;         // the manifest's
  std::string config_media_type;  // config.mediaType (ECR artifactMediaType); empty for an index
  std::string artifact_type;      // as the referrers API reports it (see ParsedManifest)
  uint64_t manifest_size = 0;     // bytes of the manifest
  // ECR imageSizeInBytes. For an image manifest the sum of its config and
  // layer sizes; for an index the largest of its children's image sizes (as
  // ECR documents it for manifest lists), children not in the repository
  // counting as their manifest size.
  uint64_t image_size = 0;
  int64_t pushed_at_millis = 0;   // first push of this digest to this repository
  std::vector<std::string> tags;  // sorted
  std::string subject;            // subject digest (referrers API), or empty
  std::map<std::string, std::string> annotations;
  // Every digest the manifest refers to: config, layers, index children.
  // What garbage collection keeps alive; what deleting checks for indexes.
  std::vector<std::string> references;
};

// A descriptor as the referrers API lists it.
struct ReferrerDescriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
  std::string artifact_type;
  std::map<std::string, std::string> annotations;
};

struct RepositoryPage {
  std::vector<Repository> repositories;
  bool more = false;  // there are repositories after the last one returned
};

struct TagPage {
  std::vector<std::string> tags;
  bool more = false;
};

struct PutManifestResult {
  uint64_t commit_seq = 0;
  std::string digest;
  std::string media_type;
  std::string subject;              // subject digest, or empty (OCI-Subject header)
  bool created_repository = false;  // create_repository_if_missing was needed
  // The repository already held this image under this reference: nothing
  // changed (ECR answers ImageAlreadyExistsException; OCI accepts it).
  bool unchanged = false;
};

struct ManifestLocation {
  std::string digest;
  std::string media_type;
  BlobInfo blob;  // the manifest's bytes, exactly as pushed
};

// A manifest stored by PutManifest that changed something (a new image, a
// tag moved), as on_image_pushed sees it.
struct PushedImage {
  std::string repository_arn;
  std::string repository;
  std::string tag;  // empty: pushed by digest
  std::string digest;
};

// Thread-safe.
class RegistryState {
 public:
  // registry_address is "host:port" as clients reach the registry; it goes
  // into repositoryUri.
  RegistryState(store::Store& store, awsjson::CommitTracker& tracker, BlobStore& blobs,
                ArnScope scope, std::string registry_address);

  // Rebuilds the in-memory state from the store. Call once, before serving.
  Status Load();

  // Called (under the state's lock: it must only add to batch and signal)
  // for each manifest push that changed something, with the batch that
  // commits it: the server adds the ImagePushed event there. Set before
  // serving.
  void set_on_image_pushed(
      std::function<void(const PushedImage&, int64_t now_millis, store::Batch& batch)> fn) {
    on_image_pushed_ = std::move(fn);
  }

  // --- repositories ---

  // kNameInvalid, kRepositoryAlreadyExists. Returns the commit sequence.
  RegistryOr<uint64_t> CreateRepository(std::string_view name, const RepositorySettings& settings,
                                        int64_t now_millis);
  // kRepositoryNotFound.
  RegistryOr<Repository> GetRepository(std::string_view name) const;
  // Repositories named after `after` (all when empty) in name order, at most
  // limit of them (0: no limit).
  RepositoryPage ListRepositories(std::string_view after, size_t limit) const;
  // kRepositoryNotFound; kRepositoryNotEmpty when it holds images and force
  // is false. With force its images, tags and links go too (the blobs stay
  // until garbage collection finds them unreferenced). Returns the record as
  // it was, and the commit sequence.
  RegistryOr<std::pair<Repository, uint64_t>> DeleteRepository(std::string_view name, bool force);
  // Applies change to a copy of the repository under the state lock and
  // stores the copy. change may throw (for example awsjson::ApiException)
  // to refuse: nothing changes and the exception propagates. name, arn,
  // registry_id, uri and created_at_millis cannot be changed. Returns the
  // updated record and the commit sequence. kRepositoryNotFound.
  RegistryOr<std::pair<Repository, uint64_t>> UpdateRepository(
      std::string_view name, const std::function<void(Repository&)>& change);

  // --- images ---

  // Stores a manifest under reference (a tag, or the digest of the bytes),
  // exactly as given. content_type (may be empty) is the media type the
  // client declared. Validates everything before changing anything:
  // kNameInvalid, kTagInvalid, kDigestInvalid (reference is a digest the
  // bytes do not match), kManifestTooLarge, kManifestInvalid,
  // kRepositoryNotFound (unless create_repository_if_missing),
  // kManifestBlobUnknown (a config or layer not usable in the repository, an
  // index child that is not an image in it), kTagImmutable.
  RegistryOr<PutManifestResult> PutManifest(std::string_view repository, std::string_view reference,
                                            std::string_view content_type, std::string_view bytes,
                                            bool create_repository_if_missing, int64_t now_millis);
  // reference is a tag or a digest. kRepositoryNotFound, kManifestUnknown,
  // kInternal when the bytes went missing from the blob store.
  RegistryOr<ManifestLocation> GetManifest(std::string_view repository,
                                           std::string_view reference) const;
  // The image with that digest or tag. kRepositoryNotFound, kManifestUnknown.
  RegistryOr<Image> FindImage(std::string_view repository, std::string_view reference) const;
  // Every image of the repository in digest order (tag filters are the
  // caller's). kRepositoryNotFound.
  RegistryOr<std::vector<Image>> ListImages(std::string_view repository) const;
  // Deletes the image and every tag pointing at it. kRepositoryNotFound,
  // kManifestUnknown, kImageReferencedByIndex when refuse_if_in_index and an
  // index in the repository lists it. Returns the deleted image (with its
  // tags) and the commit sequence.
  RegistryOr<std::pair<Image, uint64_t>> DeleteManifest(std::string_view repository,
                                                        std::string_view digest,
                                                        bool refuse_if_in_index = false);
  // Removes one tag; the image stays. kRepositoryNotFound, kManifestUnknown.
  // Returns the digest it pointed at and the commit sequence.
  RegistryOr<std::pair<std::string, uint64_t>> DeleteTag(std::string_view repository,
                                                         std::string_view tag);
  // Tags after last (all when empty), sorted, at most n (nullopt: all).
  // kRepositoryNotFound.
  RegistryOr<TagPage> ListTags(std::string_view repository, std::string_view last,
                               std::optional<size_t> n) const;
  // The manifests in the repository whose subject is subject_digest,
  // optionally only those of one artifact type. kRepositoryNotFound.
  RegistryOr<std::vector<ReferrerDescriptor>> Referrers(
      std::string_view repository, std::string_view subject_digest,
      std::optional<std::string_view> artifact_type) const;

  // --- blobs ---

  // Makes a stored blob usable in the repository (after an upload to it
  // completed, or a cross-repository mount). kRepositoryNotFound,
  // kBlobUnknown when the blob store lacks it. Idempotent.
  RegistryOr<uint64_t> LinkBlob(std::string_view repository, std::string_view digest);
  // The blob when it is linked in the repository and present in the blob
  // store (which marks it as recently used, see CollectGarbage).
  std::optional<BlobInfo> StatBlob(std::string_view repository, std::string_view digest) const;
  bool HasBlob(std::string_view repository, std::string_view digest) const {
    return StatBlob(repository, digest).has_value();
  }
  // kRepositoryNotFound, kBlobUnknown when it is not linked.
  RegistryOr<uint64_t> UnlinkBlob(std::string_view repository, std::string_view digest);

  // The newest sequence number assigned: what a reply to a read waits for.
  uint64_t LastAssigned() const { return tracker_.LastAssigned(); }

  // Deletes every blob that no manifest in any repository refers to (the
  // manifests themselves, their configs and layers, index children) and that
  // is older than min_age_seconds; and uploads untouched for
  // upload_max_age_seconds. The state lock is held throughout, so no
  // manifest can be committed between deciding what is referenced and
  // sweeping. What keeps a blob that is about to be referenced: a blob just
  // uploaded is young, and BlobStore::Stat (every HEAD, GET and manifest
  // validation goes through StatBlob) marks a blob used, so a push whose
  // layers were uploaded or found present within min_age_seconds survives
  // until its manifest arrives. Links to deleted blobs stay in the store;
  // they are harmless, since a blob is usable only while it is present.
  StatusOr<GcStats> CollectGarbage(int64_t min_age_seconds,
                                   int64_t upload_max_age_seconds = 7 * 24 * 3600);

 private:
  struct RepositoryData {
    Repository record;
    std::map<std::string, Image, std::less<>> images;                  // by digest; tags kept below
    std::map<std::string, std::string, std::less<>> tags;              // tag -> digest
    std::map<std::string, std::set<std::string>, std::less<>> tagged;  // digest -> tags
    std::map<std::string, std::set<std::string>, std::less<>> referrers;  // subject -> digests
    std::set<std::string, std::less<>> links;                             // usable blob digests
  };

  // All need mu_ held (exclusively for the mutating ones).
  RepositoryData* FindRepository(std::string_view name);
  const RepositoryData* FindRepository(std::string_view name) const;
  Repository NewRepositoryRecord(std::string_view name, const RepositorySettings& settings,
                                 int64_t now_millis) const;
  // repo may be null (a repository about to be created holds nothing).
  std::optional<BlobInfo> StatBlobLocked(const RepositoryData* repo, std::string_view digest) const;
  // The digest a tag or digest reference names in repo, or nullptr.
  const std::string* ResolveLocked(const RepositoryData& repo, std::string_view reference) const;
  Image ImageWithTags(const RepositoryData& repo, const Image& image) const;
  // Whether manifest may be stored in repo (null: not there yet) under tag
  // (may be empty) with that digest.
  std::optional<RegistryError> CheckManifestLocked(const RepositoryData* repo,
                                                   std::string_view name, bool create_repository,
                                                   const ParsedManifest& manifest,
                                                   const std::string& tag,
                                                   const std::string& digest) const;
  // Removes an image, its tags, its referrer entry and its manifest link
  // from memory, adding the matching deletions to batch.
  void EraseImageLocked(RepositoryData& repo, const std::string& digest, store::Batch& batch);
  // Queues batch to the store and returns the sequence number a reply must
  // wait for. Needs mu_ held exclusively, with memory changed the same way.
  // join, when given, adds to batch after its sequence number is taken.
  uint64_t Commit(store::Batch batch, const std::function<void(store::Batch&)>& join = nullptr);

  store::Store& store_;
  awsjson::CommitTracker& tracker_;
  BlobStore& blobs_;
  ArnScope scope_;
  std::string registry_address_;

  std::function<void(const PushedImage&, int64_t, store::Batch&)> on_image_pushed_;
  mutable std::shared_mutex mu_;
  std::map<std::string, RepositoryData, std::less<>> repositories_;
};

}  // namespace berth::registry
