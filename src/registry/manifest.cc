#include "registry/manifest.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "registry/digest.h"

namespace berth::registry {

namespace json = boost::json;

namespace {

RegistryError Invalid(std::string message) {
  return {RegistryErrorKind::kManifestInvalid, std::move(message)};
}

// Content types that say nothing about which manifest this is.
bool IsGenericType(std::string_view type) {
  return type.empty() || type == "application/json" || type == "application/octet-stream";
}

std::optional<std::string> StringAnnotations(const json::value* v,
                                             std::map<std::string, std::string>& out) {
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_object()) return "annotations must be an object";
  for (const auto& [key, value] : v->get_object()) {
    if (!value.is_string()) return "annotation " + std::string(key) + " must be a string";
    out[std::string(key)] = std::string(value.get_string());
  }
  return std::nullopt;
}

// The descriptor at v, or why it is not one. what names it in messages.
RegistryOr<ManifestDescriptor> ParseDescriptor(const json::value& v, const std::string& what) {
  if (!v.is_object()) return Invalid(what + " must be an object");
  const json::object& o = v.get_object();
  ManifestDescriptor d;
  const json::value* media_type = o.if_contains("mediaType");
  if (media_type == nullptr || !media_type->is_string() || media_type->get_string().empty()) {
    return Invalid(what + ".mediaType must be a non-empty string");
  }
  d.media_type = std::string(media_type->get_string());
  const json::value* digest = o.if_contains("digest");
  if (digest == nullptr || !digest->is_string() ||
      !Digest::Parse(std::string_view(digest->get_string()))) {
    return Invalid(what + ".digest must be a sha256 or sha512 digest");
  }
  d.digest = std::string(digest->get_string());
  const json::value* size = o.if_contains("size");
  if (size != nullptr && size->is_int64() && size->get_int64() >= 0) {
    d.size = static_cast<uint64_t>(size->get_int64());
  } else if (size != nullptr && size->is_uint64()) {
    d.size = size->get_uint64();
  } else {
    return Invalid(what + ".size must be a non-negative integer");
  }
  if (const json::value* t = o.if_contains("artifactType"); t != nullptr && !t->is_null()) {
    if (!t->is_string()) return Invalid(what + ".artifactType must be a string");
    d.artifact_type = std::string(t->get_string());
  }
  if (auto error = StringAnnotations(o.if_contains("annotations"), d.annotations)) {
    return Invalid(what + ": " + *error);
  }
  if (const json::value* urls = o.if_contains("urls"); urls != nullptr && !urls->is_null()) {
    if (!urls->is_array()) return Invalid(what + ".urls must be an array");
    d.external =
        !urls->get_array().empty() && (d.media_type.find("foreign") != std::string::npos ||
                                       d.media_type.find("nondistributable") != std::string::npos);
  }
  return d;
}

RegistryOr<std::vector<ManifestDescriptor>> ParseDescriptors(const json::object& o,
                                                             std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return Invalid(std::string(key) + " must be an array");
  std::vector<ManifestDescriptor> out;
  for (size_t i = 0; i < v->get_array().size(); ++i) {
    auto d = ParseDescriptor(v->get_array()[i], std::string(key) + "[" + std::to_string(i) + "]");
    if (!d.ok()) return d.error();
    out.push_back(std::move(*d));
  }
  return out;
}

}  // namespace

bool IsSupportedManifestType(std::string_view media_type) {
  return media_type == kOciManifestType || media_type == kOciIndexType ||
         media_type == kDockerManifestType || media_type == kDockerManifestListType;
}

bool IsIndexType(std::string_view media_type) {
  return media_type == kOciIndexType || media_type == kDockerManifestListType;
}

std::string BaseMediaType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t')) {
    content_type.remove_prefix(1);
  }
  while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t')) {
    content_type.remove_suffix(1);
  }
  std::string out(content_type);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

RegistryOr<ParsedManifest> ParseManifest(std::string_view bytes, std::string_view content_type) {
  if (bytes.size() > kMaxManifestBytes) {
    return RegistryError{RegistryErrorKind::kManifestTooLarge,
                         "manifest is " + std::to_string(bytes.size()) + " bytes; at most " +
                             std::to_string(kMaxManifestBytes) + " are accepted"};
  }
  boost::system::error_code ec;
  json::value root = json::parse(bytes, ec);
  if (ec) return Invalid("manifest is not valid JSON: " + ec.message());
  if (!root.is_object()) return Invalid("manifest must be a JSON object");
  const json::object& o = root.get_object();

  const json::value* schema = o.if_contains("schemaVersion");
  if (schema == nullptr || !schema->is_number() || schema->to_number<double>() != 2) {
    return Invalid("schemaVersion must be 2");
  }

  ParsedManifest m;
  std::string declared = BaseMediaType(content_type);
  std::string body_type;
  if (const json::value* t = o.if_contains("mediaType"); t != nullptr && !t->is_null()) {
    if (!t->is_string()) return Invalid("mediaType must be a string");
    body_type = std::string(t->get_string());
  }
  if (!body_type.empty() && !IsGenericType(declared) && body_type != declared) {
    return Invalid("mediaType " + body_type + " in the manifest does not match Content-Type " +
                   declared);
  }
  if (!body_type.empty()) {
    m.media_type = body_type;
  } else if (!IsGenericType(declared)) {
    m.media_type = declared;
  } else {
    // OCI makes mediaType optional in the body; the shape tells them apart.
    m.media_type = o.contains("manifests") ? kOciIndexType : kOciManifestType;
  }
  if (!IsSupportedManifestType(m.media_type)) {
    return Invalid("unsupported manifest media type " + m.media_type);
  }
  m.is_index = IsIndexType(m.media_type);

  if (m.is_index) {
    auto manifests = ParseDescriptors(o, "manifests");
    if (!manifests.ok()) return manifests.error();
    m.manifests = std::move(*manifests);
  } else {
    const json::value* config = o.if_contains("config");
    if (config == nullptr) return Invalid("config is required in an image manifest");
    auto parsed_config = ParseDescriptor(*config, "config");
    if (!parsed_config.ok()) return parsed_config.error();
    m.config = std::move(*parsed_config);
    auto layers = ParseDescriptors(o, "layers");
    if (!layers.ok()) return layers.error();
    m.layers = std::move(*layers);
  }
  if (const json::value* subject = o.if_contains("subject");
      subject != nullptr && !subject->is_null()) {
    auto parsed_subject = ParseDescriptor(*subject, "subject");
    if (!parsed_subject.ok()) return parsed_subject.error();
    m.subject = std::move(*parsed_subject);
  }
  if (auto error = StringAnnotations(o.if_contains("annotations"), m.annotations)) {
    return Invalid(*error);
  }
  if (const json::value* t = o.if_contains("artifactType"); t != nullptr && !t->is_null()) {
    if (!t->is_string()) return Invalid("artifactType must be a string");
    m.artifact_type = std::string(t->get_string());
  }
  if (m.artifact_type.empty() && m.config) m.artifact_type = m.config->media_type;
  return m;
}

}  // namespace berth::registry
