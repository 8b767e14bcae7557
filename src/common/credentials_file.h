// AWS shared-credentials files (INI): the server's access keys, and what
// clients (the CLI, load tools) sign with.
#pragma once

#include <string>
#include <string_view>
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

// One [section] of an INI file in the shared-credentials format: its name
// and its `key = value` lines in file order, with their line numbers (for
// errors that name the line). Lines before the first section belong to a
// section named "".
struct IniEntry {
  std::string key;
  std::string value;
  int line = 0;
};
struct IniSection {
  std::string name;
  int line = 0;
  std::vector<IniEntry> entries;
  // The value of key, or nullptr.
  const IniEntry* Find(std::string_view key) const;
};
// Blank lines and comments (# or ;) are skipped, and so are lines with no
// '=' (as the aws CLI does).
StatusOr<std::vector<IniSection>> ReadIniFile(const std::string& path);

// Every profile in path that has both aws_access_key_id and
// aws_secret_access_key, in file order. A berth_access other than `full` or
// `read-only` is an error naming the file, the profile and the line: a key
// meant to be read-only must never be taken for a full one.
StatusOr<std::vector<AccessKey>> ReadCredentialsFile(const std::string& path);

// The key of one profile; NotFound when the file has none for it.
StatusOr<AccessKey> ReadCredentialsProfile(const std::string& path, const std::string& profile);

}  // namespace berth
