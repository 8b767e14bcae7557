#include "common/credentials_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace berth {

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

const IniEntry* IniSection::Find(std::string_view key) const {
  for (const IniEntry& entry : entries) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

StatusOr<std::vector<IniSection>> ReadIniFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("read " + path + ": " + std::strerror(errno));
  std::vector<IniSection> sections(1);
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      sections.push_back({Trim(line.substr(1, line.size() - 2)), line_number, {}});
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    sections.back().entries.push_back(
        {Trim(line.substr(0, eq)), Trim(line.substr(eq + 1)), line_number});
  }
  if (sections.front().entries.empty()) sections.erase(sections.begin());
  return sections;
}

StatusOr<std::vector<AccessKey>> ReadCredentialsFile(const std::string& path) {
  auto sections = ReadIniFile(path);
  if (!sections.ok()) return sections.status().WithContext("credentials");
  std::vector<AccessKey> keys;
  for (const IniSection& section : *sections) {
    AccessKey key;
    key.profile = section.name;
    for (const IniEntry& entry : section.entries) {
      if (entry.key == "aws_access_key_id") key.id = entry.value;
      if (entry.key == "aws_secret_access_key") key.secret = entry.value;
      if (entry.key == "berth_access") {
        if (entry.value != "full" && entry.value != "read-only") {
          return InvalidArgument("credentials " + path + ":" + std::to_string(entry.line) + ": [" +
                                 section.name + "] berth_access is \"" + entry.value +
                                 "\"; it must be full or read-only");
        }
        key.read_only = entry.value == "read-only";
      }
    }
    if (!key.id.empty() && !key.secret.empty()) keys.push_back(std::move(key));
  }
  return keys;
}

StatusOr<AccessKey> ReadCredentialsProfile(const std::string& path, const std::string& profile) {
  auto keys = ReadCredentialsFile(path);
  if (!keys.ok()) return keys.status();
  for (const auto& key : *keys) {
    if (key.profile == profile) return key;
  }
  return NotFound("no aws_access_key_id/aws_secret_access_key in [" + profile + "] of " + path);
}

}  // namespace berth
