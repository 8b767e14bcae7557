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
  // `berth_access = read-only` in the profile: the key may read (Describe,
  // List, Get, pulls) and change nothing. The aws CLI and SDKs ignore the
  // line.
  bool read_only = false;
};

// Every profile in path that has both aws_access_key_id and
// aws_secret_access_key, in file order. A berth_access other than `full` or
// `read-only` is an error naming the file, the profile and the line: a key
// meant to be read-only must never be taken for a full one.
StatusOr<std::vector<AccessKey>> ReadCredentialsFile(const std::string& path);

// The key of one profile; NotFound when the file has none for it.
StatusOr<AccessKey> ReadCredentialsProfile(const std::string& path, const std::string& profile);

}  // namespace berth
