// Instance credentials for node agents. An agent joins with a user key and
// gets an access key of its own, "BERTHAGENT<instance id>", whose secret is
// an HMAC of the key id under one durable server key: nothing per instance
// is stored, and the key stops resolving when the instance is deregistered
// (the server's SecretLookup checks the instance before deriving it).
//
// Pure functions, safe from any thread, except LoadOrCreateAgentKey, which
// talks to the store once at start-up.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/store.h"

namespace berth::server::api {

inline constexpr std::string_view kAgentKeyPrefix = "BERTHAGENT";

// "BERTHAGENT<instance id>".
std::string AgentKeyId(std::string_view instance_id);

// The instance id an agent key names, or nullopt for any other key (user
// keys, malformed ids).
std::optional<std::string> InstanceOfAgentKey(std::string_view access_key_id);

inline bool IsAgentKey(std::string_view access_key_id) {
  return InstanceOfAgentKey(access_key_id).has_value();
}

// Lowercase hex HMAC-SHA256(server_key, access_key_id).
std::string AgentSecret(std::string_view server_key, std::string_view access_key_id);

// What an agent key may call through the AWS JSON endpoint: reporting task
// and container state (SubmitTaskStateChange checks that the task is on the
// caller's instance) and ECR GetAuthorizationToken, so that it can pull.
bool AgentMayCall(std::string_view target_prefix, std::string_view operation);

// The durable random key under which agent secrets are derived, created on
// first start (meta/agent-credential-key), so that credentials survive
// restarts.
StatusOr<std::string> LoadOrCreateAgentKey(store::Store& store);

}  // namespace berth::server::api
