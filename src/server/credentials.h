// Access keys for SigV4, kept in an AWS shared-credentials file (INI), so
// the same file serves the server and, through AWS_SHARED_CREDENTIALS_FILE,
// the aws CLI and boto3.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::server {

struct AccessKey {
  std::string profile;
  std::string id;
  std::string secret;
};

// Every profile in path that has both aws_access_key_id and
// aws_secret_access_key.
StatusOr<std::vector<AccessKey>> ReadCredentialsFile(const std::string& path);

// Reads path, first creating it (mode 0600) with one new [default] key when
// it does not exist. A file without any key is an error: no request could
// ever be verified.
StatusOr<std::vector<AccessKey>> EnsureCredentialsFile(const std::string& path);

}  // namespace berth::server
