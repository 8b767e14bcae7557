#include "server/access_policy.h"

#include "awsjson/endpoint.h"
#include "server/api/agent_credentials.h"
#include "server/api/task_roles.h"

namespace berth::server {

bool AccessPolicy::MayCall(std::string_view key, std::string_view target_prefix,
                           std::string_view operation) const {
  if (api::IsAgentKey(key)) return api::AgentMayCall(target_prefix, operation);
  return !IsReadOnly(key) || awsjson::IsReadOperation(operation);
}

bool AccessPolicy::IsReadOnly(std::string_view key) const {
  // A task role's session acts as its profile's key.
  if (auto session = api::ParseRoleSessionKeyId(key)) {
    return read_only_keys_.count(session->source_key_id) > 0;
  }
  return read_only_keys_.count(std::string(key)) > 0;
}

bool AccessPolicy::MayPush(std::string_view key) const { return MayChange(key); }

bool AccessPolicy::MayChange(std::string_view key) const {
  return !api::IsAgentKey(key) && !IsReadOnly(key);
}

}  // namespace berth::server
