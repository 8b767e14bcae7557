// Who may do what. Three kinds of access key reach berth:
//   - full user keys (the credentials file): everything;
//   - read-only user keys (`berth_access = read-only` in that file):
//     Describe, List and Get calls, registry pulls, logs, events; no change;
//   - instance keys of node agents (api/agent_credentials.h): their state
//     reports, ECR GetAuthorizationToken, and registry pulls;
//   - session keys of task roles (api/task_roles.h): what the user key of
//     the role's berth_profile may do.
// One place answers for the AWS JSON endpoint, the registry and berth's own
// endpoints, so that a kind of key cannot do through one door what another
// refuses.
//
// Thread-safe once built (the set of read-only keys is fixed at start-up).
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

namespace berth::server {

class AccessPolicy {
 public:
  explicit AccessPolicy(std::unordered_set<std::string> read_only_keys = {})
      : read_only_keys_(std::move(read_only_keys)) {}

  // An AWS JSON call ("AmazonEC2ContainerServiceV20141113", "RunTask").
  bool MayCall(std::string_view key, std::string_view target_prefix,
               std::string_view operation) const;
  // Registry writes: blob uploads, manifest puts, deletes.
  bool MayPush(std::string_view key) const;
  // berth's own endpoints that change something or act on a container
  // (exec, registry gc): user keys that are not read-only.
  bool MayChange(std::string_view key) const;

  bool IsReadOnly(std::string_view key) const;

 private:
  const std::unordered_set<std::string> read_only_keys_;
};

}  // namespace berth::server
