#include "registry/registry_records.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace berth::registry::records {

namespace json = boost::json;

namespace {

std::string Join(std::string_view prefix, std::string_view a, std::string_view b) {
  std::string key(prefix);
  key.append(a);
  key.push_back('@');
  key.append(b);
  return key;
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t Int(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

StatusOr<json::object> ParseObject(std::string_view value) {
  boost::system::error_code ec;
  json::value v = json::parse(value, ec);
  if (ec || !v.is_object()) return Internal("registry record is not a JSON object");
  return std::move(v.as_object());
}

}  // namespace

std::string RepositoryKey(std::string_view name) {
  return std::string(kRepositoriesPrefix) + std::string(name);
}
std::string ImageKey(std::string_view repository, std::string_view digest) {
  return Join(kImagesPrefix, repository, digest);
}
std::string TagKey(std::string_view repository, std::string_view tag) {
  return Join(kTagsPrefix, repository, tag);
}
std::string LinkKey(std::string_view repository, std::string_view digest) {
  return Join(kLinksPrefix, repository, digest);
}

bool SplitKey(std::string_view rest, std::string_view& repository, std::string_view& second) {
  size_t at = rest.find('@');
  if (at == std::string_view::npos) return false;
  repository = rest.substr(0, at);
  second = rest.substr(at + 1);
  return true;
}

std::string EncodeRepository(const Repository& r) {
  json::array tags;
  for (const auto& tag : r.tags)
    tags.push_back(json::object{{"Key", tag.key}, {"Value", tag.value}});
  json::object o{{"repositoryName", r.name},
                 {"createdAt", r.created_at_millis},
                 {"imageTagMutability", r.image_tag_mutability},
                 {"scanOnPush", r.scan_on_push},
                 {"encryptionType", r.encryption_type},
                 {"kmsKey", r.kms_key},
                 {"tags", std::move(tags)},
                 {"lifecyclePolicy", r.lifecycle_policy},
                 {"lifecyclePolicyUpdatedAt", r.lifecycle_policy_updated_millis},
                 {"repositoryPolicy", r.repository_policy}};
  if (!r.tag_mutability_exclusions.empty()) {
    json::array filters;
    for (const auto& f : r.tag_mutability_exclusions) filters.push_back(json::string(f));
    o["imageTagMutabilityExclusions"] = std::move(filters);
  }
  if (!r.unknown_members.empty()) o["unknownMembers"] = r.unknown_members;
  return json::serialize(o);
}

Status DecodeRepository(std::string_view value, Repository& out) {
  auto parsed = ParseObject(value);
  if (!parsed.ok()) return parsed.status();
  const json::object& o = *parsed;
  out.name = Str(o, "repositoryName");
  out.created_at_millis = Int(o, "createdAt");
  out.image_tag_mutability = Str(o, "imageTagMutability");
  const json::value* scan = o.if_contains("scanOnPush");
  out.scan_on_push = scan != nullptr && scan->is_bool() && scan->get_bool();
  out.encryption_type = Str(o, "encryptionType");
  out.kms_key = Str(o, "kmsKey");
  out.tags.clear();
  if (const json::value* tags = o.if_contains("tags"); tags != nullptr && tags->is_array()) {
    for (const auto& t : tags->get_array()) {
      if (t.is_object())
        out.tags.push_back({Str(t.get_object(), "Key"), Str(t.get_object(), "Value")});
    }
  }
  out.lifecycle_policy = Str(o, "lifecyclePolicy");
  out.lifecycle_policy_updated_millis = Int(o, "lifecyclePolicyUpdatedAt");
  out.repository_policy = Str(o, "repositoryPolicy");
  out.tag_mutability_exclusions.clear();
  if (const json::value* f = o.if_contains("imageTagMutabilityExclusions");
      f != nullptr && f->is_array()) {
    for (const auto& filter : f->get_array()) {
      if (filter.is_string()) out.tag_mutability_exclusions.emplace_back(filter.get_string());
    }
  }
  const json::value* unknown = o.if_contains("unknownMembers");
  out.unknown_members =
      unknown != nullptr && unknown->is_object() ? unknown->get_object() : json::object();
  return Status::Ok();
}

std::string EncodeImage(const Image& image) {
  json::object annotations;
  for (const auto& [k, v] : image.annotations) annotations[k] = v;
  json::array references;
  for (const auto& d : image.references) references.push_back(json::string(d));
  json::object o{{"mediaType", image.media_type},
                 {"configMediaType", image.config_media_type},
                 {"artifactType", image.artifact_type},
                 {"manifestSize", image.manifest_size},
                 {"imageSize", image.image_size},
                 {"pushedAt", image.pushed_at_millis},
                 {"subject", image.subject},
                 {"annotations", std::move(annotations)},
                 {"references", std::move(references)}};
  return json::serialize(o);
}

Status DecodeImage(std::string_view value, Image& out) {
  auto parsed = ParseObject(value);
  if (!parsed.ok()) return parsed.status();
  const json::object& o = *parsed;
  out.media_type = Str(o, "mediaType");
  out.config_media_type = Str(o, "configMediaType");
  out.artifact_type = Str(o, "artifactType");
  out.manifest_size = static_cast<uint64_t>(Int(o, "manifestSize"));
  out.image_size = static_cast<uint64_t>(Int(o, "imageSize"));
  out.pushed_at_millis = Int(o, "pushedAt");
  out.subject = Str(o, "subject");
  out.annotations.clear();
  if (const json::value* a = o.if_contains("annotations"); a != nullptr && a->is_object()) {
    for (const auto& [k, v] : a->get_object()) {
      if (v.is_string()) out.annotations[std::string(k)] = std::string(v.get_string());
    }
  }
  out.references.clear();
  if (const json::value* r = o.if_contains("references"); r != nullptr && r->is_array()) {
    for (const auto& d : r->get_array()) {
      if (d.is_string()) out.references.emplace_back(d.get_string());
    }
  }
  return Status::Ok();
}

}  // namespace berth::registry::records
