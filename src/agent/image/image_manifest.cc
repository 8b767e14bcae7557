#include "agent/image/image_manifest.h"

#include <boost/json.hpp>
#include <set>

namespace berth::agent {
namespace json = boost::json;
namespace {

StatusOr<json::object> ParseObject(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return InvalidArgument("not JSON: " + ec.message());
  if (!v.is_object()) return InvalidArgument("not a JSON object");
  return std::move(v.as_object());
}

std::string StringField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// null and absent are both "not set"; anything but a list of strings is refused.
StatusOr<std::vector<std::string>> StringList(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) return InvalidArgument(std::string(key) + " is not a list");
  for (const json::value& item : v->as_array()) {
    if (!item.is_string()) return InvalidArgument(std::string(key) + " holds a non-string");
    out.emplace_back(item.as_string());
  }
  return out;
}

StatusOr<Descriptor> ParseDescriptor(const json::value& v, std::string_view what) {
  if (!v.is_object()) return InvalidArgument(std::string(what) + " is not an object");
  const json::object& o = v.as_object();
  Descriptor d;
  d.media_type = StringField(o, "mediaType");
  d.digest = StringField(o, "digest");
  if (!IsSha256Digest(d.digest)) {
    return InvalidArgument(std::string(what) + " has a bad or unsupported digest \"" + d.digest +
                           "\" (want sha256:<64 hex>)");
  }
  const json::value* size = o.if_contains("size");
  if (!size || !size->is_int64() || size->as_int64() < 0) {
    return InvalidArgument(std::string(what) + " " + d.digest + " has no valid size");
  }
  d.size = size->as_int64();
  if (const json::value* p = o.if_contains("platform"); p && p->is_object()) {
    d.os = StringField(p->as_object(), "os");
    d.architecture = StringField(p->as_object(), "architecture");
    d.variant = StringField(p->as_object(), "variant");
  }
  return d;
}

}  // namespace

bool IsSha256Digest(std::string_view digest) {
  if (digest.size() != 71 || digest.substr(0, 7) != "sha256:") return false;
  for (char c : digest.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

StatusOr<Manifest> ParseManifest(std::string_view body, std::string_view content_type) {
  auto object = ParseObject(body);
  if (!object.ok()) return object.status().WithContext("manifest");
  const json::object& o = *object;
  std::string type(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (type.empty() || type == "application/json" || type == "text/plain" ||
      type == "application/octet-stream") {
    type = StringField(o, "mediaType");
  }
  if (type.empty()) {
    // An OCI document may omit mediaType: tell index from manifest by shape.
    type = o.contains("manifests") ? kOciIndex : kOciManifest;
  }
  Manifest m;
  if (type == kOciIndex || type == kDockerManifestList) {
    m.is_index = true;
    const json::value* list = o.if_contains("manifests");
    if (!list || !list->is_array()) return InvalidArgument("index has no \"manifests\" list");
    for (const json::value& entry : list->as_array()) {
      auto d = ParseDescriptor(entry, "index entry");
      if (!d.ok()) return d.status();
      m.manifests.push_back(std::move(*d));
    }
    return m;
  }
  if (type != kOciManifest && type != kDockerManifest) {
    if (type.find("manifest.v1") != std::string::npos) {
      return InvalidArgument(
          "Docker schema 1 manifests are not supported; push the image again "
          "with a current client");
    }
    return InvalidArgument("unsupported manifest media type \"" + type + "\"");
  }
  const json::value* config = o.if_contains("config");
  if (!config) return InvalidArgument("manifest has no config");
  auto c = ParseDescriptor(*config, "config");
  if (!c.ok()) return c.status();
  m.config = std::move(*c);
  const json::value* layers = o.if_contains("layers");
  if (!layers || !layers->is_array()) return InvalidArgument("manifest has no \"layers\" list");
  for (const json::value& entry : layers->as_array()) {
    auto d = ParseDescriptor(entry, "layer");
    if (!d.ok()) return d.status();
    if (!IsLayerMediaType(d->media_type)) {
      return InvalidArgument("layer " + d->digest + " has media type \"" + d->media_type +
                             "\", which is not a tar, tar+gzip or tar+zstd layer");
    }
    m.layers.push_back(std::move(*d));
  }
  return m;
}

StatusOr<Descriptor> SelectPlatform(const Manifest& index, std::string_view os,
                                    std::string_view architecture) {
  std::set<std::string> seen;
  for (const Descriptor& d : index.manifests) {
    if (d.os == os && d.architecture == architecture) return d;
    if (!d.os.empty() || !d.architecture.empty()) {
      seen.insert(d.os + "/" + d.architecture + (d.variant.empty() ? "" : "/" + d.variant));
    }
  }
  std::string list;
  for (const std::string& p : seen) list += (list.empty() ? "" : ", ") + p;
  return NotFound("the image index has no " + std::string(os) + "/" + std::string(architecture) +
                  " image; it has " + (list.empty() ? "no platforms" : list));
}

bool IsLayerMediaType(std::string_view t) {
  static const std::set<std::string_view> kTypes = {
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      "application/vnd.docker.image.rootfs.diff.tar",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.diff.tar.zstd",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  };
  return kTypes.contains(t);
}

StatusOr<ImageConfig> ParseImageConfig(std::string_view body) {
  auto object = ParseObject(body);
  if (!object.ok()) return object.status().WithContext("image config");
  ImageConfig out;
  const json::value* c = object->if_contains("config");
  if (!c || c->is_null()) return out;  // an image may leave everything to the task
  if (!c->is_object()) return InvalidArgument("image config: \"config\" is not an object");
  const json::object& o = c->as_object();
  for (auto [key, field] : {std::pair{"Entrypoint", &out.entrypoint}, std::pair{"Cmd", &out.cmd},
                            std::pair{"Env", &out.env}}) {
    auto list = StringList(o, key);
    if (!list.ok()) return list.status().WithContext("image config");
    *field = std::move(*list);
  }
  out.working_dir = StringField(o, "WorkingDir");
  out.user = StringField(o, "User");
  return out;
}

std::string SerializeImageRecord(const ImageRecord& r) {
  auto list = [](const std::vector<std::string>& v) {
    json::array a;
    for (const std::string& s : v) a.emplace_back(s);
    return a;
  };
  json::object config;
  config["Entrypoint"] = list(r.config.entrypoint);
  config["Cmd"] = list(r.config.cmd);
  config["Env"] = list(r.config.env);
  config["WorkingDir"] = r.config.working_dir;
  config["User"] = r.config.user;
  json::object o;
  o["manifestDigest"] = r.manifest_digest;
  o["configDigest"] = r.config_digest;
  o["config"] = std::move(config);
  o["layers"] = list(r.layers);
  return json::serialize(o) + "\n";
}

StatusOr<ImageRecord> ParseImageRecord(std::string_view body) {
  auto object = ParseObject(body);
  if (!object.ok()) return object.status();
  ImageRecord r;
  r.manifest_digest = StringField(*object, "manifestDigest");
  r.config_digest = StringField(*object, "configDigest");
  auto config = ParseImageConfig(body);
  if (!config.ok()) return config.status();
  r.config = std::move(*config);
  auto layers = StringList(*object, "layers");
  if (!layers.ok()) return layers.status();
  r.layers = std::move(*layers);
  for (const std::string& d : r.layers) {
    if (!IsSha256Digest(d)) return InvalidArgument("bad layer digest " + d);
  }
  if (!IsSha256Digest(r.manifest_digest)) return InvalidArgument("bad manifest digest");
  return r;
}

}  // namespace berth::agent
