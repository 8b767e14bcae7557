#include "server/api/task_roles.h"

#include <charconv>
#include <cstdio>
#include <vector>

#include "common/clock.h"
#include "common/crypto.h"

namespace berth::server::api {

namespace json = boost::json;

namespace {

// Credentials hold about an hour (the SDKs fetch them again when fewer
// than 15 minutes are left) and stay the same for a quarter of one.
constexpr int64_t kLifetimeSeconds = 3600;
constexpr int64_t kStepSeconds = 900;
constexpr int kExpiryHexDigits = 10;

// arn:PARTITION:iam::ACCOUNT:role/NAME
bool IsRoleArn(std::string_view arn) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = arn.find(':', start);
    if (colon == std::string_view::npos) return false;
    parts.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  std::string_view resource = arn.substr(start);
  return parts[0] == "arn" && !parts[1].empty() && parts[2] == "iam" && parts[3].empty() &&
         !parts[4].empty() && resource.starts_with("role/") && resource.size() > 5;
}

std::string Field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

}  // namespace

json::object RoleCredentialsJson(const RoleCredentials& c) {
  return json::object{{"RoleArn", c.role_arn},
                      {"AccessKeyId", c.access_key_id},
                      {"SecretAccessKey", c.secret_access_key},
                      {"Token", c.token},
                      {"Expiration", FormatRfc3339(c.expiration_seconds * 1000)}};
}

StatusOr<TaskRoles> TaskRoles::Load(const std::string& path,
                                    const std::vector<AccessKey>& berth_keys) {
  auto sections = ReadIniFile(path);
  if (!sections.ok()) return sections.status().WithContext("roles file");
  TaskRoles roles;
  roles.path_ = path;
  for (const IniSection& section : *sections) {
    auto fail = [&](const std::string& why) {
      return InvalidArgument("roles file " + path + ":" + std::to_string(section.line) + ": [" +
                             section.name + "] " + why);
    };
    if (!IsRoleArn(section.name)) {
      return fail("is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
    }
    if (roles.Has(section.name)) return fail("appears twice");
    Role role;
    const IniEntry* profile = section.Find("berth_profile");
    const IniEntry* id = section.Find("aws_access_key_id");
    const IniEntry* secret = section.Find("aws_secret_access_key");
    if (profile != nullptr && (id != nullptr || secret != nullptr)) {
      return fail("has both berth_profile and a key pair; give one");
    }
    if (profile != nullptr) {
      for (const AccessKey& key : berth_keys) {
        if (key.profile == profile->value) role.berth_key_id = key.id;
      }
      if (role.berth_key_id.empty()) {
        return fail("berth_profile " + profile->value +
                    " is not a profile with a key in the server's credentials file");
      }
    } else if (id != nullptr && secret != nullptr && !id->value.empty() && !secret->value.empty()) {
      role.access_key_id = id->value;
      role.secret_access_key = secret->value;
      if (const IniEntry* token = section.Find("aws_session_token")) {
        role.session_token = token->value;
      }
    } else {
      return fail("needs berth_profile, or aws_access_key_id and aws_secret_access_key");
    }
    roles.roles_.emplace(section.name, std::move(role));
  }
  return roles;
}

std::optional<RoleCredentials> TaskRoles::Issue(std::string_view role_arn,
                                                std::string_view server_key,
                                                int64_t now_millis) const {
  auto it = roles_.find(role_arn);
  if (it == roles_.end()) return std::nullopt;
  const Role& role = it->second;
  RoleCredentials out;
  out.role_arn = std::string(role_arn);
  out.expiration_seconds = (now_millis / 1000 / kStepSeconds + 1) * kStepSeconds + kLifetimeSeconds;
  if (role.berth_key_id.empty()) {
    out.access_key_id = role.access_key_id;
    out.secret_access_key = role.secret_access_key;
    out.token = role.session_token;
    return out;
  }
  out.access_key_id = RoleSessionKeyId(role.berth_key_id, out.expiration_seconds);
  out.secret_access_key = RoleSessionSecret(server_key, out.access_key_id);
  // The SDKs send a session token with session credentials; berth's key
  // and secret prove the session already, so it is not checked.
  out.token = HexEncode(HmacSha256(server_key, "berth role token\n" + out.access_key_id));
  return out;
}

std::string RoleSessionKeyId(std::string_view source_key_id, int64_t expires_at_seconds) {
  char hex[kExpiryHexDigits + 1];
  std::snprintf(hex, sizeof hex, "%010llx", static_cast<unsigned long long>(expires_at_seconds));
  return std::string(kRoleSessionKeyPrefix) + hex + std::string(source_key_id);
}

std::optional<RoleSession> ParseRoleSessionKeyId(std::string_view key_id) {
  if (!key_id.starts_with(kRoleSessionKeyPrefix)) return std::nullopt;
  std::string_view rest = key_id.substr(kRoleSessionKeyPrefix.size());
  if (rest.size() <= static_cast<size_t>(kExpiryHexDigits)) return std::nullopt;
  std::string_view hex = rest.substr(0, kExpiryHexDigits);
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  RoleSession session;
  std::from_chars(hex.data(), hex.data() + hex.size(), session.expires_at_seconds, 16);
  session.source_key_id = std::string(rest.substr(kExpiryHexDigits));
  return session;
}

std::string RoleSessionSecret(std::string_view server_key, std::string_view access_key_id) {
  return HexEncode(HmacSha256(server_key, "berth role session\n" + std::string(access_key_id)));
}

std::string EffectiveRoleArn(const json::object& task_definition, const json::object* overrides,
                             std::string_view field) {
  if (overrides != nullptr) {
    if (std::string arn = Field(*overrides, field); !arn.empty()) return arn;
  }
  return Field(task_definition, field);
}

}  // namespace berth::server::api
