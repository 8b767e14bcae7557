// RegistryState: manifests, tags, referrers and blob links.
#include <algorithm>
#include <mutex>

#include "registry/manifest.h"
#include "registry/names.h"
#include "registry/registry_records.h"
#include "registry/registry_state.h"
#include "registry/tag_mutability.h"

namespace berth::registry {

namespace {

RegistryError NoSuchRepository(std::string_view name) {
  return {RegistryErrorKind::kRepositoryNotFound,
          "repository " + std::string(name) + " does not exist"};
}

RegistryError NoSuchManifest(std::string_view repository, std::string_view reference) {
  return {
      RegistryErrorKind::kManifestUnknown,
      "manifest " + std::string(reference) + " is not in repository " + std::string(repository)};
}

}  // namespace

std::optional<BlobInfo> RegistryState::StatBlobLocked(const RepositoryData* repo,
                                                      std::string_view digest) const {
  if (repo == nullptr || !repo->links.contains(digest)) return std::nullopt;
  auto parsed = Digest::Parse(digest);
  if (!parsed) return std::nullopt;
  return blobs_.Stat(*parsed);
}

const std::string* RegistryState::ResolveLocked(const RepositoryData& repo,
                                                std::string_view reference) const {
  if (IsDigestReference(reference)) {
    auto it = repo.images.find(reference);
    return it == repo.images.end() ? nullptr : &it->first;
  }
  auto it = repo.tags.find(reference);
  return it == repo.tags.end() ? nullptr : &it->second;
}

Image RegistryState::ImageWithTags(const RepositoryData& repo, const Image& image) const {
  Image copy = image;
  if (auto it = repo.tagged.find(image.digest); it != repo.tagged.end()) {
    copy.tags.assign(it->second.begin(), it->second.end());
  }
  return copy;
}

std::optional<RegistryError> RegistryState::CheckManifestLocked(
    const RepositoryData* repo, std::string_view name, bool create_repository,
    const ParsedManifest& manifest, const std::string& tag, const std::string& digest) const {
  if (repo == nullptr && !create_repository) return NoSuchRepository(name);
  auto blob_unknown = [&](const ManifestDescriptor& d, std::string_view what) {
    return RegistryError{
        RegistryErrorKind::kManifestBlobUnknown,
        std::string(what) + " " + d.digest + " is not in repository " + std::string(name)};
  };
  auto size_mismatch = [&](const ManifestDescriptor& d, uint64_t actual) {
    return RegistryError{RegistryErrorKind::kManifestInvalid,
                         "descriptor of " + d.digest + " gives size " + std::to_string(d.size) +
                             " but the content is " + std::to_string(actual) + " bytes"};
  };
  std::vector<std::pair<const ManifestDescriptor*, std::string_view>> blobs;
  if (manifest.config) blobs.emplace_back(&*manifest.config, "config");
  for (const auto& layer : manifest.layers) blobs.emplace_back(&layer, "layer");
  for (const auto& [d, what] : blobs) {
    if (d->external) continue;
    auto info = StatBlobLocked(repo, d->digest);
    if (!info) return blob_unknown(*d, what);
    if (info->size != d->size) return size_mismatch(*d, info->size);
  }
  for (const auto& child : manifest.manifests) {
    const Image* image = nullptr;
    if (repo != nullptr) {
      if (auto it = repo->images.find(child.digest); it != repo->images.end()) image = &it->second;
    }
    if (image == nullptr) return blob_unknown(child, "manifest");
    if (image->manifest_size != child.size) return size_mismatch(child, image->manifest_size);
  }
  if (repo != nullptr && !tag.empty() &&
      TagIsImmutable(repo->record.image_tag_mutability, repo->record.tag_mutability_exclusions,
                     tag)) {
    auto it = repo->tags.find(tag);
    if (it != repo->tags.end() && it->second != digest) {
      return RegistryError{RegistryErrorKind::kTagImmutable,
                           "tag " + tag + " in repository " + std::string(name) +
                               " is immutable and already points at " + it->second};
    }
  }
  return std::nullopt;
}

RegistryOr<PutManifestResult> RegistryState::PutManifest(
    std::string_view name, std::string_view reference, std::string_view content_type,
    std::string_view bytes, bool create_repository_if_missing, int64_t now_millis) {
  if (!IsValidRepositoryName(name)) {
    return RegistryError{RegistryErrorKind::kNameInvalid,
                         "invalid repository name " + std::string(name)};
  }
  std::string tag;
  std::optional<Digest> wanted;
  if (IsDigestReference(reference)) {
    wanted = Digest::Parse(reference);
    if (!wanted) {
      return RegistryError{RegistryErrorKind::kDigestInvalid,
                           "invalid digest " + std::string(reference)};
    }
  } else if (!IsValidTag(reference)) {
    return RegistryError{RegistryErrorKind::kTagInvalid, "invalid tag " + std::string(reference)};
  } else {
    tag = std::string(reference);
  }
  auto manifest = ParseManifest(bytes, content_type);
  if (!manifest.ok()) return manifest.error();

  Digest digest;
  if (wanted) {
    // A digest reference may use another algorithm than sha256; the content
    // is then addressed by that one.
    DigestHasher hasher(wanted->algorithm);
    hasher.Update(bytes);
    digest = hasher.Finish();
    if (digest != *wanted) {
      return RegistryError{
          RegistryErrorKind::kDigestInvalid,
          "manifest content has digest " + digest.ToString() + ", not " + wanted->ToString()};
    }
  } else {
    digest = Digest::Sha256Of(bytes);
  }
  const std::string digest_text = digest.ToString();

  // Check first under the shared lock, so that refused manifests leave no
  // bytes behind in the common case, and write the bytes without holding the
  // state lock (the write is fsynced).
  {
    std::shared_lock lock(mu_);
    if (auto error = CheckManifestLocked(FindRepository(name), name, create_repository_if_missing,
                                         *manifest, tag, digest_text)) {
      return *error;
    }
  }
  if (Status put = blobs_.Put(digest, bytes); !put.ok()) {
    return RegistryError{RegistryErrorKind::kInternal, "store manifest: " + put.message()};
  }

  std::unique_lock lock(mu_);
  RepositoryData* repo = FindRepository(name);
  if (auto error = CheckManifestLocked(repo, name, create_repository_if_missing, *manifest, tag,
                                       digest_text)) {
    return *error;
  }
  // Identical bytes that were already stored and unreferenced could have
  // been swept since Put found them; Stat marks them used and the lock keeps
  // the collector out until this manifest is committed.
  if (!blobs_.Stat(digest)) {
    if (Status put = blobs_.Put(digest, bytes); !put.ok()) {
      return RegistryError{RegistryErrorKind::kInternal, "store manifest: " + put.message()};
    }
  }

  PutManifestResult result;
  result.digest = digest_text;
  result.media_type = manifest->media_type;
  if (manifest->subject) result.subject = manifest->subject->digest;
  store::Batch batch;
  if (repo == nullptr) {
    Repository record = NewRepositoryRecord(name, RepositorySettings{}, now_millis);
    batch.push_back(
        store::Mutation::Put(records::RepositoryKey(name), records::EncodeRepository(record)));
    repo = &repositories_[std::string(name)];
    repo->record = std::move(record);
    result.created_repository = true;
  }
  if (!repo->images.contains(digest_text)) {
    Image image;
    image.repository = std::string(name);
    image.digest = digest_text;
    image.media_type = manifest->media_type;
    if (manifest->config) image.config_media_type = manifest->config->media_type;
    image.artifact_type = manifest->artifact_type;
    image.manifest_size = bytes.size();
    image.pushed_at_millis = now_millis;
    image.subject = result.subject;
    image.annotations = manifest->annotations;
    if (manifest->config) {
      image.image_size += manifest->config->size;
      image.references.push_back(manifest->config->digest);
    }
    for (const auto& layer : manifest->layers) {
      image.image_size += layer.size;
      if (!layer.external) image.references.push_back(layer.digest);
    }
    for (const auto& child : manifest->manifests) {
      image.image_size = std::max(image.image_size, repo->images.at(child.digest).image_size);
      image.references.push_back(child.digest);
    }
    batch.push_back(
        store::Mutation::Put(records::ImageKey(name, digest_text), records::EncodeImage(image)));
    if (!image.subject.empty()) repo->referrers[image.subject].insert(digest_text);
    repo->images[digest_text] = std::move(image);
  }
  if (!repo->links.contains(digest_text)) {
    // The manifest is a blob of the repository too (GET /v2/<name>/blobs/
    // of a manifest digest works, as in the reference registry).
    batch.push_back(store::Mutation::Put(records::LinkKey(name, digest_text), ""));
    repo->links.insert(digest_text);
  }
  if (!tag.empty()) {
    auto it = repo->tags.find(tag);
    if (it == repo->tags.end() || it->second != digest_text) {
      if (it != repo->tags.end()) {
        auto& old = repo->tagged[it->second];
        old.erase(tag);
        if (old.empty()) repo->tagged.erase(it->second);
      }
      repo->tags[tag] = digest_text;
      repo->tagged[digest_text].insert(tag);
      batch.push_back(store::Mutation::Put(records::TagKey(name, tag), digest_text));
    }
  }
  result.unchanged = batch.empty();
  if (result.unchanged) {
    result.commit_seq = tracker_.LastAssigned();
    return result;
  }
  std::function<void(store::Batch&)> join;
  if (on_image_pushed_) {
    join = [&](store::Batch& b) {
      on_image_pushed_(PushedImage{repo->record.arn, std::string(name), tag, digest_text},
                       now_millis, b);
    };
  }
  result.commit_seq = Commit(std::move(batch), join);
  return result;
}

RegistryOr<ManifestLocation> RegistryState::GetManifest(std::string_view repository,
                                                        std::string_view reference) const {
  std::shared_lock lock(mu_);
  const RepositoryData* repo = FindRepository(repository);
  if (repo == nullptr) return NoSuchRepository(repository);
  const std::string* digest = ResolveLocked(*repo, reference);
  if (digest == nullptr) return NoSuchManifest(repository, reference);
  const Image& image = repo->images.at(*digest);
  auto parsed = Digest::Parse(*digest);
  std::optional<BlobInfo> blob = parsed ? blobs_.Stat(*parsed) : std::nullopt;
  if (!blob) {
    return RegistryError{RegistryErrorKind::kInternal,
                         "the bytes of manifest " + *digest + " are missing from the blob store"};
  }
  return ManifestLocation{*digest, image.media_type, std::move(*blob)};
}

RegistryOr<Image> RegistryState::FindImage(std::string_view repository,
                                           std::string_view reference) const {
  std::shared_lock lock(mu_);
  const RepositoryData* repo = FindRepository(repository);
  if (repo == nullptr) return NoSuchRepository(repository);
  const std::string* digest = ResolveLocked(*repo, reference);
  if (digest == nullptr) return NoSuchManifest(repository, reference);
  return ImageWithTags(*repo, repo->images.at(*digest));
}

RegistryOr<std::vector<Image>> RegistryState::ListImages(std::string_view repository) const {
  std::shared_lock lock(mu_);
  const RepositoryData* repo = FindRepository(repository);
  if (repo == nullptr) return NoSuchRepository(repository);
  std::vector<Image> images;
  images.reserve(repo->images.size());
  for (const auto& [digest, image] : repo->images) images.push_back(ImageWithTags(*repo, image));
  return images;
}

void RegistryState::EraseImageLocked(RepositoryData& repo, const std::string& digest,
                                     store::Batch& batch) {
  const std::string& name = repo.record.name;
  if (auto tagged = repo.tagged.find(digest); tagged != repo.tagged.end()) {
    for (const auto& tag : tagged->second) {
      batch.push_back(store::Mutation::Delete(records::TagKey(name, tag)));
      repo.tags.erase(tag);
    }
    repo.tagged.erase(tagged);
  }
  if (repo.links.erase(digest) > 0) {
    batch.push_back(store::Mutation::Delete(records::LinkKey(name, digest)));
  }
  auto it = repo.images.find(digest);
  if (!it->second.subject.empty()) {
    auto referrers = repo.referrers.find(it->second.subject);
    if (referrers != repo.referrers.end()) {
      referrers->second.erase(digest);
      if (referrers->second.empty()) repo.referrers.erase(referrers);
    }
  }
  batch.push_back(store::Mutation::Delete(records::ImageKey(name, digest)));
  repo.images.erase(it);
}

RegistryOr<std::pair<Image, uint64_t>> RegistryState::DeleteManifest(std::string_view repository,
                                                                     std::string_view digest,
                                                                     bool refuse_if_in_index) {
  std::unique_lock lock(mu_);
  RepositoryData* repo = FindRepository(repository);
  if (repo == nullptr) return NoSuchRepository(repository);
  auto it = repo->images.find(digest);
  if (it == repo->images.end()) return NoSuchManifest(repository, digest);
  if (refuse_if_in_index) {
    for (const auto& [other_digest, other] : repo->images) {
      if (IsIndexType(other.media_type) &&
          std::find(other.references.begin(), other.references.end(), digest) !=
              other.references.end()) {
        return RegistryError{
            RegistryErrorKind::kImageReferencedByIndex,
            "manifest " + std::string(digest) + " is listed in index " + other_digest};
      }
    }
  }
  Image deleted = ImageWithTags(*repo, it->second);
  store::Batch batch;
  EraseImageLocked(*repo, deleted.digest, batch);
  uint64_t seq = Commit(std::move(batch));
  return std::pair{std::move(deleted), seq};
}

RegistryOr<std::pair<std::string, uint64_t>> RegistryState::DeleteTag(std::string_view repository,
                                                                      std::string_view tag) {
  std::unique_lock lock(mu_);
  RepositoryData* repo = FindRepository(repository);
  if (repo == nullptr) return NoSuchRepository(repository);
  auto it = repo->tags.find(tag);
  if (it == repo->tags.end()) return NoSuchManifest(repository, tag);
  std::string digest = it->second;
  auto& tags = repo->tagged[digest];
  tags.erase(it->first);
  if (tags.empty()) repo->tagged.erase(digest);
  repo->tags.erase(it);
  uint64_t seq = Commit({store::Mutation::Delete(records::TagKey(repository, tag))});
  return std::pair{std::move(digest), seq};
}

RegistryOr<TagPage> RegistryState::ListTags(std::string_view repository, std::string_view last,
                                            std::optional<size_t> n) const {
  std::shared_lock lock(mu_);
  const RepositoryData* repo = FindRepository(repository);
  if (repo == nullptr) return NoSuchRepository(repository);
  TagPage page;
  auto it = last.empty() ? repo->tags.begin() : repo->tags.upper_bound(last);
  for (; it != repo->tags.end(); ++it) {
    if (n && page.tags.size() == *n) {
      page.more = true;
      break;
    }
    page.tags.push_back(it->first);
  }
  return page;
}

RegistryOr<std::vector<ReferrerDescriptor>> RegistryState::Referrers(
    std::string_view repository, std::string_view subject_digest,
    std::optional<std::string_view> artifact_type) const {
  std::shared_lock lock(mu_);
  const RepositoryData* repo = FindRepository(repository);
  if (repo == nullptr) return NoSuchRepository(repository);
  std::vector<ReferrerDescriptor> out;
  auto it = repo->referrers.find(subject_digest);
  if (it == repo->referrers.end()) return out;
  for (const auto& digest : it->second) {
    const Image& image = repo->images.at(digest);
    if (artifact_type && image.artifact_type != *artifact_type) continue;
    out.push_back({image.media_type, image.digest, image.manifest_size, image.artifact_type,
                   image.annotations});
  }
  return out;
}

RegistryOr<uint64_t> RegistryState::LinkBlob(std::string_view repository, std::string_view digest) {
  auto parsed = Digest::Parse(digest);
  if (!parsed) {
    return RegistryError{RegistryErrorKind::kDigestInvalid,
                         "invalid digest " + std::string(digest)};
  }
  std::unique_lock lock(mu_);
  RepositoryData* repo = FindRepository(repository);
  if (repo == nullptr) return NoSuchRepository(repository);
  if (!blobs_.Stat(*parsed)) {
    return RegistryError{RegistryErrorKind::kBlobUnknown,
                         "blob " + std::string(digest) + " is not stored"};
  }
  if (repo->links.contains(digest)) return tracker_.LastAssigned();
  repo->links.insert(std::string(digest));
  return Commit({store::Mutation::Put(records::LinkKey(repository, digest), "")});
}

std::optional<BlobInfo> RegistryState::StatBlob(std::string_view repository,
                                                std::string_view digest) const {
  std::shared_lock lock(mu_);
  return StatBlobLocked(FindRepository(repository), digest);
}

RegistryOr<uint64_t> RegistryState::UnlinkBlob(std::string_view repository,
                                               std::string_view digest) {
  std::unique_lock lock(mu_);
  RepositoryData* repo = FindRepository(repository);
  if (repo == nullptr) return NoSuchRepository(repository);
  auto it = repo->links.find(digest);
  if (it == repo->links.end()) {
    return RegistryError{
        RegistryErrorKind::kBlobUnknown,
        "blob " + std::string(digest) + " is not in repository " + std::string(repository)};
  }
  repo->links.erase(it);
  return Commit({store::Mutation::Delete(records::LinkKey(repository, digest))});
}

}  // namespace berth::registry
