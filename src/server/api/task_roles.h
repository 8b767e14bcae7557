// Task roles: the IAM role ARNs a task may name (taskRoleArn,
// executionRoleArn), mapped by the server's roles file (`--roles-file`) to
// credentials. The agent serves a task role's credentials to the task's
// containers (the AWS SDKs' container credentials provider) and signs its
// image pulls with the execution role's.
//
// The roles file is an AWS shared-credentials file with one section per
// role ARN:
//
//   [arn:aws:iam::123456789012:role/trainer]
//   berth_profile = trainer          ; a profile of berth's credentials file
//
//   [arn:aws:iam::123456789012:role/checkpoints]
//   aws_access_key_id = ...          ; a key pair of another service (an
//   aws_secret_access_key = ...      ; S3-compatible store), served as it is
//   aws_session_token = ...          ; (optional)
//
// A berth_profile role gets session credentials of its own: an access key
// "BERTHROLE<expiry><the profile's key id>" whose secret is an HMAC of the
// key id under the server's durable agent key, so that nothing is stored,
// every server of a highly available control plane verifies it, and it
// stops working at its expiry or when the profile's key is removed. A key
// pair role is served as the file gives it, with an Expiration an hour
// ahead so that the SDKs fetch it again.
//
// Thread-safe once loaded (read-only).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/credentials_file.h"
#include "common/status.h"

namespace berth::server::api {

inline constexpr std::string_view kRoleSessionKeyPrefix = "BERTHROLE";

// What a container's SDK gets from the credentials endpoint.
struct RoleCredentials {
  std::string role_arn;
  std::string access_key_id;
  std::string secret_access_key;
  std::string token;
  int64_t expiration_seconds = 0;  // since the epoch
};
// {"RoleArn", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"}, the
// ECS agent's credentials document (Expiration in ISO 8601, UTC).
boost::json::object RoleCredentialsJson(const RoleCredentials& credentials);

class TaskRoles {
 public:
  TaskRoles() = default;  // no roles file: every role is unknown

  // Reads the roles file; berth_keys are the server's own access keys (its
  // credentials file), which berth_profile names. Errors name the file, the
  // line and the section.
  static StatusOr<TaskRoles> Load(const std::string& path,
                                  const std::vector<AccessKey>& berth_keys);

  bool Has(std::string_view role_arn) const { return roles_.find(role_arn) != roles_.end(); }
  const std::string& path() const { return path_; }

  // Credentials for role_arn that hold from now_millis for about an hour
  // (the same ones for a quarter of an hour, so that they do not change
  // at every call); nullopt for a role not in the file.
  std::optional<RoleCredentials> Issue(std::string_view role_arn, std::string_view server_key,
                                       int64_t now_millis) const;

 private:
  struct Role {
    std::string berth_key_id;  // berth_profile's key; empty for a key pair
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;
  };
  std::map<std::string, Role, std::less<>> roles_;
  std::string path_;
};

// Session keys of berth_profile roles.
struct RoleSession {
  std::string source_key_id;  // the berth_profile's access key
  int64_t expires_at_seconds = 0;
};
std::string RoleSessionKeyId(std::string_view source_key_id, int64_t expires_at_seconds);
// The session a key id names, or nullopt for any other key.
std::optional<RoleSession> ParseRoleSessionKeyId(std::string_view access_key_id);
// Lowercase hex HMAC-SHA256 under server_key (a domain of its own, apart
// from agent secrets).
std::string RoleSessionSecret(std::string_view server_key, std::string_view access_key_id);

// The role a task runs with: its overrides' field, else its definition's;
// empty when neither names one. field: "taskRoleArn" or "executionRoleArn".
std::string EffectiveRoleArn(const boost::json::object& task_definition,
                             const boost::json::object* overrides, std::string_view field);

}  // namespace berth::server::api
