#include "server/api/agent_credentials.h"

#include "common/crypto.h"

namespace berth::server::api {

namespace {
constexpr std::string_view kAgentKeyStoreKey = "meta/agent-credential-key";
constexpr std::string_view kEcsPrefix = "AmazonEC2ContainerServiceV20141113";
constexpr std::string_view kEcrPrefix = "AmazonEC2ContainerRegistry_V20150921";

// Instance ids are the 32 lowercase hex digits berth makes (a UUID without
// dashes); anything else is not a key berth issued.
bool IsInstanceId(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

std::string AgentKeyId(std::string_view instance_id) {
  return std::string(kAgentKeyPrefix) + std::string(instance_id);
}

std::optional<std::string> InstanceOfAgentKey(std::string_view access_key_id) {
  if (!access_key_id.starts_with(kAgentKeyPrefix)) return std::nullopt;
  std::string_view id = access_key_id.substr(kAgentKeyPrefix.size());
  if (!IsInstanceId(id)) return std::nullopt;
  return std::string(id);
}

std::string AgentSecret(std::string_view server_key, std::string_view access_key_id) {
  return HexEncode(HmacSha256(server_key, access_key_id));
}

bool AgentMayCall(std::string_view target_prefix, std::string_view operation) {
  if (target_prefix == kEcsPrefix) {
    return operation == "SubmitTaskStateChange" || operation == "SubmitContainerStateChange";
  }
  if (target_prefix == kEcrPrefix) return operation == "GetAuthorizationToken";
  return false;
}

StatusOr<std::string> LoadOrCreateAgentKey(store::Store& store) {
  std::string key;
  BERTH_RETURN_IF_ERROR(store.Scan(kAgentKeyStoreKey, [&](std::string_view k, std::string_view v) {
    if (k == kAgentKeyStoreKey) key = std::string(v);
  }));
  if (!key.empty()) return key;
  key = HexEncode(RandomBytes(32));
  BERTH_RETURN_IF_ERROR(
      store.CommitAndWait({store::Mutation::Put(std::string(kAgentKeyStoreKey), key)}));
  return key;
}

}  // namespace berth::server::api
