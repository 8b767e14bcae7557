#include "agent/registry_auth_file.h"

#include <boost/json/parse.hpp>

#include "agent/state_files.h"
#include "common/base64.h"

namespace berth::agent {

namespace json = boost::json;

namespace {

// As Docker reads a key (ConvertToHostname): without an http:// or https://
// prefix and everything from the first '/' on, so "https://index.docker.io/v1/"
// is the registry index.docker.io.
std::string RegistryOfKey(std::string_view key) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (key.starts_with(scheme)) {
      key.remove_prefix(scheme.size());
      break;
    }
  }
  return std::string(key.substr(0, key.find('/')));
}

}  // namespace

StatusOr<std::map<std::string, RegistryCredentials>> ParseRegistryAuths(std::string_view text) {
  json::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec || !doc.is_object()) return InvalidArgument("not a JSON object");
  auto* auths = doc.as_object().if_contains("auths");
  if (auths == nullptr || !auths->is_object()) return InvalidArgument("no \"auths\" object");
  std::map<std::string, RegistryCredentials> out;
  for (const auto& [key, entry] : auths->as_object()) {
    const std::string host(key);
    auto fail = [&](const std::string& why) { return InvalidArgument(host + ": " + why); };
    if (!entry.is_object()) return fail("not an object");
    std::string registry = RegistryOfKey(host);
    const json::object& e = entry.as_object();
    if (auto* auth = e.if_contains("auth"); auth && auth->is_string()) {
      auto decoded = Base64Decode(auth->as_string());
      size_t colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos) return fail("auth is not base64(user:password)");
      out[registry] = {decoded->substr(0, colon), decoded->substr(colon + 1)};
    } else if (e.contains("username") && e.contains("password")) {
      out[registry] = {std::string(StringField(e, "username")),
                       std::string(StringField(e, "password"))};
    } else {
      return fail("no auth, or username and password");
    }
  }
  return out;
}

StatusOr<std::map<std::string, RegistryCredentials>> ReadRegistryAuthFile(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text) return NotFound("registry auth file " + path + ": cannot read it");
  auto auths = ParseRegistryAuths(*text);
  if (!auths.ok()) return auths.status().WithContext("registry auth file " + path);
  return auths;
}

}  // namespace berth::agent
