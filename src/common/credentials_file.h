// AWS shared-credentials files (INI): the server's access keys, and what
// clients (the CLI, load tools) sign with.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace berth {

struct AccessKey {
  std::string profile;
  std::string id;
  std::string secret;
};

// Every profile in path that has both aws_access_key_id and
// aws_secret_access_key, in file order.
StatusOr<std::vector<AccessKey>> ReadCredentialsFile(const std::string& path);

// The key of one profile; NotFound when the file has none for it.
StatusOr<AccessKey> ReadCredentialsProfile(const std::string& path, const std::string& profile);

}  // namespace berth
