// RegistryState: loading, repositories, commits and garbage collection.
// Images, tags, referrers and blob links are in registry_images.cc.
#include "registry/registry_state.h"

#include <cstdlib>
#include <mutex>

#include "common/log.h"
#include "model/unknown_members.h"
#include "registry/names.h"
#include "registry/registry_records.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

RegistryError NoSuchRepository(std::string_view name) {
  return {RegistryErrorKind::kRepositoryNotFound,
          "repository " + std::string(name) + " does not exist"};
}

}  // namespace

json::array Repository::ExclusionFiltersJson() const {
  json::array filters;
  for (const std::string& filter : tag_mutability_exclusions) {
    filters.push_back(json::object{{"filterType", "WILDCARD"}, {"filter", filter}});
  }
  return filters;
}

boost::json::object Repository::ToEcrJson() const {
  json::object encryption{{"encryptionType", encryption_type}};
  if (!kms_key.empty()) encryption["kmsKey"] = kms_key;
  json::object repository{
      {"repositoryArn", arn},
      {"registryId", registry_id},
      {"repositoryName", name},
      {"repositoryUri", uri},
      {"createdAt", static_cast<double>(created_at_millis) / 1000.0},
      {"imageTagMutability", image_tag_mutability},
      {"imageScanningConfiguration", json::object{{"scanOnPush", scan_on_push}}},
      {"encryptionConfiguration", std::move(encryption)},
  };
  if (!tag_mutability_exclusions.empty()) {
    repository["imageTagMutabilityExclusionFilters"] = ExclusionFiltersJson();
  }
  model::CarryUnknownMembers(unknown_members, repository);
  return repository;
}

RegistryState::RegistryState(store::Store& store, awsjson::CommitTracker& tracker, BlobStore& blobs,
                             ArnScope scope, std::string registry_address)
    : store_(store),
      tracker_(tracker),
      blobs_(blobs),
      scope_(std::move(scope)),
      registry_address_(std::move(registry_address)) {}

Status RegistryState::Load() {
  std::unique_lock lock(mu_);
  Status bad;
  auto note = [&](Status status, std::string_view key) {
    if (!status.ok() && bad.ok()) bad = status.WithContext("load " + std::string(key));
  };
  BERTH_RETURN_IF_ERROR(
      store_.Scan(records::kRepositoriesPrefix, [&](std::string_view key, std::string_view value) {
        Repository r;
        note(records::DecodeRepository(value, r), key);
        r.name = std::string(key.substr(records::kRepositoriesPrefix.size()));
        r.arn = MakeArn(scope_, "ecr", "repository/" + r.name);
        r.registry_id = scope_.account;
        r.uri = registry_address_ + "/" + r.name;
        std::string name = r.name;
        repositories_[name].record = std::move(r);
      }));
  // Images, tags and links of a repository that is not there cannot come
  // from a committed batch (deleting a repository deletes them with it); they
  // are skipped rather than resurrecting a repository.
  auto repository_of = [&](std::string_view rest, std::string_view prefix_key,
                           std::string_view& second) -> RepositoryData* {
    std::string_view name;
    if (!records::SplitKey(rest, name, second)) {
      note(Internal("malformed key"), prefix_key);
      return nullptr;
    }
    auto it = repositories_.find(name);
    return it == repositories_.end() ? nullptr : &it->second;
  };
  BERTH_RETURN_IF_ERROR(store_.Scan(records::kImagesPrefix, [&](std::string_view key,
                                                                std::string_view value) {
    std::string_view digest;
    RepositoryData* repo = repository_of(key.substr(records::kImagesPrefix.size()), key, digest);
    if (repo == nullptr) return;
    Image image;
    note(records::DecodeImage(value, image), key);
    image.repository = repo->record.name;
    image.digest = std::string(digest);
    if (!image.subject.empty()) repo->referrers[image.subject].insert(image.digest);
    repo->images[image.digest] = std::move(image);
  }));
  BERTH_RETURN_IF_ERROR(
      store_.Scan(records::kTagsPrefix, [&](std::string_view key, std::string_view value) {
        std::string_view tag;
        RepositoryData* repo = repository_of(key.substr(records::kTagsPrefix.size()), key, tag);
        if (repo == nullptr) return;
        repo->tags[std::string(tag)] = std::string(value);
        repo->tagged[std::string(value)].insert(std::string(tag));
      }));
  BERTH_RETURN_IF_ERROR(
      store_.Scan(records::kLinksPrefix, [&](std::string_view key, std::string_view) {
        std::string_view digest;
        RepositoryData* repo = repository_of(key.substr(records::kLinksPrefix.size()), key, digest);
        if (repo != nullptr) repo->links.insert(std::string(digest));
      }));
  BERTH_RETURN_IF_ERROR(bad);
  LogInfo("registry state loaded", {{"repositories", std::to_string(repositories_.size())}});
  return Status::Ok();
}

uint64_t RegistryState::Commit(store::Batch batch, const std::function<void(store::Batch&)>& join) {
  uint64_t seq = tracker_.Next();
  if (join) join(batch);
  store_.Commit(std::move(batch), [this, seq](Status status) {
    if (!status.ok()) return tracker_.CommitFailed("registry", status);
    tracker_.MarkDurable(seq);
  });
  return seq;
}

RegistryState::RepositoryData* RegistryState::FindRepository(std::string_view name) {
  auto it = repositories_.find(name);
  return it == repositories_.end() ? nullptr : &it->second;
}

const RegistryState::RepositoryData* RegistryState::FindRepository(std::string_view name) const {
  auto it = repositories_.find(name);
  return it == repositories_.end() ? nullptr : &it->second;
}

Repository RegistryState::NewRepositoryRecord(std::string_view name,
                                              const RepositorySettings& settings,
                                              int64_t now_millis) const {
  Repository r;
  r.name = std::string(name);
  r.arn = MakeArn(scope_, "ecr", "repository/" + r.name);
  r.registry_id = scope_.account;
  r.uri = registry_address_ + "/" + r.name;
  r.created_at_millis = now_millis;
  r.image_tag_mutability = settings.image_tag_mutability;
  r.tag_mutability_exclusions = settings.tag_mutability_exclusions;
  r.scan_on_push = settings.scan_on_push;
  r.encryption_type = settings.encryption_type;
  r.kms_key = settings.kms_key;
  r.tags = settings.tags;
  r.unknown_members = settings.unknown_members;
  return r;
}

RegistryOr<uint64_t> RegistryState::CreateRepository(std::string_view name,
                                                     const RepositorySettings& settings,
                                                     int64_t now_millis) {
  if (!IsValidRepositoryName(name)) {
    return RegistryError{RegistryErrorKind::kNameInvalid,
                         "invalid repository name " + std::string(name)};
  }
  std::unique_lock lock(mu_);
  if (FindRepository(name) != nullptr) {
    return RegistryError{RegistryErrorKind::kRepositoryAlreadyExists,
                         "repository " + std::string(name) + " already exists"};
  }
  Repository record = NewRepositoryRecord(name, settings, now_millis);
  uint64_t seq = Commit(
      {store::Mutation::Put(records::RepositoryKey(name), records::EncodeRepository(record))});
  repositories_[std::string(name)].record = std::move(record);
  return seq;
}

RegistryOr<Repository> RegistryState::GetRepository(std::string_view name) const {
  std::shared_lock lock(mu_);
  const RepositoryData* repo = FindRepository(name);
  if (repo == nullptr) return NoSuchRepository(name);
  return repo->record;
}

RepositoryPage RegistryState::ListRepositories(std::string_view after, size_t limit) const {
  std::shared_lock lock(mu_);
  RepositoryPage page;
  auto it = after.empty() ? repositories_.begin() : repositories_.upper_bound(after);
  for (; it != repositories_.end(); ++it) {
    if (limit != 0 && page.repositories.size() == limit) {
      page.more = true;
      break;
    }
    page.repositories.push_back(it->second.record);
  }
  return page;
}

RegistryOr<std::pair<Repository, uint64_t>> RegistryState::DeleteRepository(std::string_view name,
                                                                            bool force) {
  std::unique_lock lock(mu_);
  auto it = repositories_.find(name);
  if (it == repositories_.end()) return NoSuchRepository(name);
  RepositoryData& repo = it->second;
  if (!repo.images.empty() && !force) {
    return RegistryError{RegistryErrorKind::kRepositoryNotEmpty,
                         "repository " + std::string(name) + " contains images"};
  }
  store::Batch batch{store::Mutation::Delete(records::RepositoryKey(name))};
  for (const auto& [digest, image] : repo.images) {
    batch.push_back(store::Mutation::Delete(records::ImageKey(name, digest)));
  }
  for (const auto& [tag, digest] : repo.tags) {
    batch.push_back(store::Mutation::Delete(records::TagKey(name, tag)));
  }
  for (const auto& digest : repo.links) {
    batch.push_back(store::Mutation::Delete(records::LinkKey(name, digest)));
  }
  uint64_t seq = Commit(std::move(batch));
  Repository record = std::move(repo.record);
  repositories_.erase(it);
  return std::pair{std::move(record), seq};
}

RegistryOr<std::pair<Repository, uint64_t>> RegistryState::UpdateRepository(
    std::string_view name, const std::function<void(Repository&)>& change) {
  std::unique_lock lock(mu_);
  RepositoryData* repo = FindRepository(name);
  if (repo == nullptr) return NoSuchRepository(name);
  Repository updated = repo->record;
  change(updated);  // may throw: nothing has changed yet
  const Repository& old = repo->record;
  updated.name = old.name;
  updated.arn = old.arn;
  updated.registry_id = old.registry_id;
  updated.uri = old.uri;
  updated.created_at_millis = old.created_at_millis;
  uint64_t seq = Commit(
      {store::Mutation::Put(records::RepositoryKey(name), records::EncodeRepository(updated))});
  repo->record = updated;
  return std::pair{std::move(updated), seq};
}

StatusOr<GcStats> RegistryState::CollectGarbage(int64_t min_age_seconds,
                                                int64_t upload_max_age_seconds) {
  // Exclusive: a manifest committed while the sweep decides could refer to
  // a blob the sweep has already judged unreferenced.
  std::unique_lock lock(mu_);
  std::set<std::string, std::less<>> referenced;
  for (const auto& [name, repo] : repositories_) {
    for (const auto& [digest, image] : repo.images) {
      referenced.insert(digest);
      referenced.insert(image.references.begin(), image.references.end());
    }
  }
  auto stats = blobs_.CollectGarbage(
      [&](const Digest& digest) { return referenced.contains(digest.ToString()); }, min_age_seconds,
      upload_max_age_seconds);
  if (stats.ok()) {
    LogInfo("registry garbage collected",
            {{"blobs_removed", std::to_string(stats->blobs_removed)},
             {"bytes_removed", std::to_string(stats->bytes_removed)},
             {"blobs_kept", std::to_string(stats->blobs_kept)},
             {"uploads_removed", std::to_string(stats->uploads_removed)}});
  }
  return stats;
}

}  // namespace berth::registry
