#include "agent/registry_auth_file.h"

#include <boost/json/parse.hpp>

#include "agent/state_files.h"
#include "common/base64.h"

namespace berth::agent {

namespace json = boost::json;

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
    std::string registry = host;
    if (auto p = registry.find("://"); p != std::string::npos) registry = registry.substr(p + 3);
    while (!registry.empty() && registry.back() == '/') registry.pop_back();
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
