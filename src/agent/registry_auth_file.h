// Credentials for other registries than berth's own, in Docker's
// config.json format, the file `docker login` and `skopeo login` write
// (the agent's --registry-auth-file):
//
//   {"auths": {"host:port": {"auth": base64("user:password")}}}
//
// or "username" and "password" members instead of "auth". A key is read as
// Docker reads it: an http:// or https:// prefix and any path are dropped
// ("https://index.docker.io/v1/" is index.docker.io).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "agent/image/image_store.h"
#include "common/status.h"

namespace berth::agent {

// registry host[:port] -> credentials. InvalidArgument naming the entry
// that is wrong.
StatusOr<std::map<std::string, RegistryCredentials>> ParseRegistryAuths(std::string_view text);

// ParseRegistryAuths of the file at path; errors name the file.
StatusOr<std::map<std::string, RegistryCredentials>> ReadRegistryAuthFile(const std::string& path);

}  // namespace berth::agent
