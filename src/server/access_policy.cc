#include "server/access_policy.h"

#include "awsjson/endpoint.h"
#include "server/api/agent_credentials.h"

namespace berth::server {

bool AccessPolicy::MayCall(std::string_view key, std::string_view target_prefix,
                           std::string_view operation) const {
  if (api::IsAgentKey(key)) return api::AgentMayCall(target_prefix, operation);
  return !IsReadOnly(key) || awsjson::IsReadOperation(operation);
}

bool AccessPolicy::MayPush(std::string_view key) const { return MayChange(key); }

bool AccessPolicy::MayChange(std::string_view key) const {
  return !api::IsAgentKey(key) && !IsReadOnly(key);
}

}  // namespace berth::server
